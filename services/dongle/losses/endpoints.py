"""Keys lost or stolen (rule 4), their replacement, and keys found again (rule 5)."""

from fastapi import APIRouter

from services.dongle.keys.auth import contact_or_admin, key_viewer
from services.dongle.keys.endpoints import SerialPath
from services.dongle.keys.schemas import KeyRead
from services.dongle.losses.schemas import LossReportAsked, LossReportRead, ReplacementAsked
from services.dongle.losses.service import loss_service
from shared.auth import AdminPrincipal, CurrentPrincipal
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["lost keys"], responses=PROBLEM_RESPONSES)


@router.post("/api/v1/keys/{serial}/loss-report", response_model=LossReportRead)
async def report_loss(
    serial: SerialPath,
    body: LossReportAsked,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> LossReportRead:
    """Rule 4, no document needed: the key gets no further update files. With an active
    protection subscription the licenses are restored onto a new key, invoiced by licensing
    (`restoration: invoiced`); without one, `not_covered`."""
    return await loss_service.report(session, clock, outbox, principal, serial, body)


@router.get("/api/v1/keys/{serial}/loss-report", response_model=LossReportRead)
async def read_loss_report(
    serial: SerialPath, principal: CurrentPrincipal, session: SessionDep
) -> LossReportRead:
    """The key's latest loss report, with the replacement invoices issued so far."""
    return await loss_service.latest(session, key_viewer(principal), serial)


@router.post("/api/v1/keys/{serial}/replacement", response_model=KeyRead)
async def replace_key(
    serial: SerialPath,
    body: ReplacementAsked,
    admin: AdminPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> KeyRead:
    """After both replacement invoices are paid: the new key's serial; the licenses and the
    subscription move onto it (answered with the new key)."""
    return await loss_service.replace(session, clock, outbox, admin, serial, body.new_serial)


@router.post("/api/v1/keys/{serial}/found", response_model=KeyRead)
async def key_found(
    serial: SerialPath, principal: CurrentPrincipal, session: SessionDep
) -> KeyRead:
    """Rule 5: a lost key found again becomes a `carrier`, with none of its old licenses."""
    return await loss_service.found(session, contact_or_admin(principal), serial)
