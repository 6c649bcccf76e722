"""Protection keys: imported by an admin, listed for their organization's contacts and staff."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.dongle.keys.auth import key_viewer
from services.dongle.keys.schemas import KeyImport, KeyRead
from services.dongle.keys.service import key_service
from shared.auth import AdminPrincipal, CurrentPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageParams, page_params
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep

router = APIRouter(tags=["dongle"], responses=PROBLEM_RESPONSES)


@router.post("/api/v1/keys", response_model=KeyRead, status_code=201)
async def import_key(
    body: KeyImport, admin: AdminPrincipal, session: SessionDep, clock: ClockDep
) -> KeyRead:
    """A key for an organization; a serial imported already is a 409."""
    return KeyRead.of(await key_service.import_key(session, clock, admin, body))


@router.get("/api/v1/keys", response_model=Page[KeyRead])
async def list_keys(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Staff: one organization's keys.")
    ] = None,
) -> Page[KeyRead]:
    """A contact: its organization's keys; staff: every key. By serial."""
    keys, next_cursor = await key_service.list_keys(
        session, key_viewer(principal), page, organization_id
    )
    return Page(items=[KeyRead.of(key) for key in keys], next_cursor=next_cursor)


@router.get("/api/v1/keys/{serial}", response_model=KeyRead)
async def read_key(
    serial: Annotated[str, Path(max_length=64)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> KeyRead:
    """One key; another organization's is a 404, like one that does not exist."""
    return KeyRead.of(await key_service.get_key(session, key_viewer(principal), serial))
