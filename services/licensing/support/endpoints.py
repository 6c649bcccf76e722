"""Support certificates: a contact's own, registered by number and renewed by an act; issued
by an admin or a partner."""

from typing import Annotated

from fastapi import APIRouter, Depends

from services.licensing.access import ContactPrincipal, ReaderPrincipal, viewer_of
from services.licensing.dependencies import admin_or_partner_key
from services.licensing.support.schemas import (
    CertificateIssue,
    CertificateRead,
    CertificateRegistration,
    RenewalByAct,
    Renewed,
)
from services.licensing.support.service import status_at, support_service
from shared.auth import Principal
from shared.db import SessionDep
from shared.pagination import Page
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["support certificates"], responses=PROBLEM_RESPONSES)


issuer = admin_or_partner_key(
    "licenses:write", "Certificates are issued by an admin or a partner's API key"
)


@router.get("/api/v1/support-certificates", response_model=Page[CertificateRead])
async def my_certificates(
    principal: ReaderPrincipal, session: SessionDep, clock: ClockDep
) -> Page[CertificateRead]:
    """The organization's certificates, the one that ends last first."""
    certificates = await support_service.mine(session, viewer_of(principal))
    now = clock.now()
    return Page(items=[CertificateRead.of(c, status_at(c, now)) for c in certificates])


@router.post("/api/v1/support-certificates", response_model=CertificateRead, status_code=201)
async def issue_certificate(
    body: CertificateIssue,
    caller: Annotated[Principal, Depends(issuer)],
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> CertificateRead:
    """For an organization, or for an INN whose organization registers it by number later."""
    certificate = await support_service.issue(session, clock, outbox, caller, body)
    return CertificateRead.of(certificate, status_at(certificate, clock.now()))


@router.post("/api/v1/support-certificates/register", response_model=CertificateRead)
async def register_certificate(
    body: CertificateRegistration,
    contact: ContactPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> CertificateRead:
    """Refusals carry `reason`: `not_found` (404), `registered_to_another` (409), `ended` (409)."""
    assert contact.organization_id is not None
    certificate = await support_service.register(
        session, clock, outbox, contact.organization_id, body.number
    )
    return CertificateRead.of(certificate, status_at(certificate, clock.now()))


@router.post("/api/v1/support-certificates/renew", response_model=Renewed)
async def renew_by_act(
    body: RenewalByAct,
    contact: ContactPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> Renewed:
    """Rule 8. 422 with `reason`: `not_found`, `not_issued_by_vendor`, `no_support_item`,
    `already_used`."""
    assert contact.organization_id is not None
    renewal = await support_service.renew_by_act(
        session, outbox, contact.organization_id, body.act_number, clock.now()
    )
    return Renewed(
        certificate=CertificateRead.of(renewal.certificate, "active"),
        renewed_until=renewal.renewed_until,
    )
