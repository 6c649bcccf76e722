"""Contracts (rule 2) with their acts and documents: imported by an admin or a partner, read
by the organization's contacts and accountant and by staff."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from services.licensing.access import ReaderPrincipal, viewer_of
from services.licensing.contracts.documents import DOCUMENT_TYPES, document_key
from services.licensing.contracts.schemas import (
    ActRead,
    ActRef,
    ContractImport,
    ContractImported,
    ContractRead,
)
from services.licensing.contracts.service import contract_service
from services.licensing.dependencies import SettingsDep, admin_or_partner_key
from services.licensing.licenses.schemas import LicenseRead
from shared.auth import Principal
from shared.db import SessionDep
from shared.files import FileStore
from shared.pagination import Page, PageDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep

router = APIRouter(tags=["contracts"], responses=PROBLEM_RESPONSES)


importer = admin_or_partner_key(
    "contracts:write", "Contracts are imported by an admin or a partner's API key"
)


@router.post("/api/v1/contracts", response_model=ContractImported, status_code=201)
async def import_contract(
    body: ContractImport,
    caller: Annotated[Principal, Depends(importer)],
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> ContractImported:
    """All or nothing; the licenses' activation codes are made here and answered to the
    importer. A number imported already is a 409."""
    contract = await contract_service.import_contract(
        session,
        clock,
        FileStore(settings.documents_dir),
        settings.document_max_bytes,
        caller,
        body,
    )
    return ContractImported(
        id=contract.id,
        number=contract.number,
        licenses=[LicenseRead.of(license_) for license_ in contract.licenses],
        acts=[ActRef(id=act.id, number=act.number) for act in contract.acts],
    )


@router.get("/api/v1/contracts", response_model=Page[ContractRead])
async def list_contracts(
    principal: ReaderPrincipal,
    session: SessionDep,
    page: PageDep,
) -> Page[ContractRead]:
    """The organization's contracts (its accountant's too: without licenses)."""
    contracts, next_cursor = await contract_service.list_for(
        session, viewer_of(principal, accountant=True), page
    )
    full = principal.kind != "accountant"
    return Page(
        items=[ContractRead.of(c, with_licenses=full) for c in contracts], next_cursor=next_cursor
    )


@router.get("/api/v1/contracts/{contract_id}", response_model=ContractRead)
async def read_contract(
    contract_id: uuid.UUID, principal: ReaderPrincipal, session: SessionDep
) -> ContractRead:
    contract = await contract_service.get_for(
        session, viewer_of(principal, accountant=True), contract_id
    )
    return ContractRead.of(contract, with_licenses=principal.kind != "accountant")


@router.get("/api/v1/acts", response_model=Page[ActRead], tags=["financial documents"])
async def list_acts(
    principal: ReaderPrincipal,
    session: SessionDep,
    page: PageDep,
) -> Page[ActRead]:
    """Acts of services of the organization's contracts."""
    acts, next_cursor = await contract_service.acts_for(
        session, viewer_of(principal, accountant=True), page
    )
    return Page(items=[ActRead.of(act) for act in acts], next_cursor=next_cursor)


@router.get(
    "/api/v1/documents/{document_id}",
    response_class=FileResponse,
    tags=["financial documents"],
    responses=DOCUMENT_TYPES.download_response("The file, as the type it was imported with."),
)
async def download_document(
    document_id: uuid.UUID, principal: ReaderPrincipal, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """A contract's file, for its organization's contacts and accountant and for staff."""
    document = await contract_service.document_for(
        session, viewer_of(principal, accountant=True), document_id
    )
    return FileStore(settings.documents_dir).download(
        document_key(document.id),
        media_type=document.content_type,
        filename=document.name,
        missing="The document's file is not available",
    )
