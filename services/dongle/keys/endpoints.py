"""Protection keys: imported by an admin or a partner, shown to their organization and staff."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.dongle.keys.auth import KeyImporter, key_viewer
from services.dongle.keys.schemas import KeyImport, KeyRead
from services.dongle.keys.service import key_service
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep

router = APIRouter(tags=["protection keys"], responses=PROBLEM_RESPONSES)

SerialPath = Annotated[str, Path(max_length=64)]


@router.post("/api/v1/keys", response_model=KeyRead, status_code=201)
async def import_key(
    body: KeyImport, caller: KeyImporter, session: SessionDep, clock: ClockDep
) -> KeyRead:
    """A key for an organization (by id, or by INN for a partner); a serial imported already
    is a 409. With an API key it needs the scope `licenses:write`; `Idempotency-Key` makes a
    retried import create nothing more."""
    return await key_service.import_key(session, clock, caller, body)


@router.get("/api/v1/keys", response_model=Page[KeyRead])
async def list_keys(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Staff: one organization's keys.")
    ] = None,
) -> Page[KeyRead]:
    """A contact: its organization's keys; staff: every key. By serial."""
    keys, next_cursor = await key_service.list_keys(
        session, key_viewer(principal), page, organization_id
    )
    return Page(items=keys, next_cursor=next_cursor)


@router.get("/api/v1/keys/{serial}", response_model=KeyRead)
async def read_key(serial: SerialPath, principal: CurrentPrincipal, session: SessionDep) -> KeyRead:
    """One key with its licenses, maintenance and protection; another organization's is a
    404, like one that does not exist."""
    return await key_service.get_key(session, key_viewer(principal), serial)
