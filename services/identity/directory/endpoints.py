"""Autofill for the registration form: bank data by BIK, region and locality by index."""

from fastapi import APIRouter

from services.identity.directory.schemas import BankRead, PostalCodeRead
from services.identity.directory.service import directory
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["directory"], responses=PROBLEM_RESPONSES)


@router.get("/api/v1/directory/banks/{bik}", response_model=BankRead)
async def get_bank(bik: str, session: SessionDep) -> BankRead:
    return await directory.bank(session, bik)


@router.get("/api/v1/directory/postal-codes/{index}", response_model=PostalCodeRead)
async def get_postal_code(index: str, session: SessionDep) -> PostalCodeRead:
    return await directory.postal_code(session, index)
