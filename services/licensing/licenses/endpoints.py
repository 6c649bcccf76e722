"""Licenses: read by their organization and staff, validated by installed software, registered
by product key, renewed / suspended / reinstated / revoked by an admin or the partner."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from services.licensing.access import ContactPrincipal, ReaderPrincipal, manager_of, viewer_of
from services.licensing.licenses.schemas import (
    LicenseRead,
    Registered,
    RegistrationRequest,
    RenewalRequest,
    StateChangeRequest,
    ValidationRequest,
    ValidationResult,
)
from services.licensing.licenses.service import license_service, status_on
from services.licensing.models import License
from services.licensing.support.schemas import CertificateRead
from shared.auth import Principal, require_scope
from shared.clock import Clock, business_date
from shared.db import SessionDep
from shared.pagination import Page, PageDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["licenses"], responses=PROBLEM_RESPONSES)

ManagerPrincipal = Annotated[Principal, Depends(require_scope("licenses:write"))]


def read(license_: License, clock: Clock) -> LicenseRead:
    return LicenseRead.of(license_, status_on(license_, business_date(clock.now())))


@router.get("/api/v1/licenses", response_model=Page[LicenseRead])
async def list_licenses(
    principal: ReaderPrincipal,
    session: SessionDep,
    clock: ClockDep,
    page: PageDep,
) -> Page[LicenseRead]:
    """The organization's licenses (a partner's key: also those it imported)."""
    licenses, next_cursor = await license_service.list_for(session, viewer_of(principal), page)
    return Page(items=[read(lic, clock) for lic in licenses], next_cursor=next_cursor)


@router.get("/api/v1/licenses/{license_id}", response_model=LicenseRead)
async def read_license(
    license_id: uuid.UUID, principal: ReaderPrincipal, session: SessionDep, clock: ClockDep
) -> LicenseRead:
    return read(await license_service.get_for(session, viewer_of(principal), license_id), clock)


@router.post("/api/v1/licenses/validate", response_model=ValidationResult)
async def validate_license(
    body: ValidationRequest, session: SessionDep, clock: ClockDep
) -> ValidationResult:
    """Rule 5, for installed software: no user token; `MALFORMED` is decided without a lookup."""
    return await license_service.validate(session, clock, body)


@router.post("/api/v1/licenses/register", response_model=Registered)
async def register_product_key(
    body: RegistrationRequest,
    contact: ContactPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> Registered:
    """Rule 6: the license becomes the organization's and free support starts for 3 calendar
    months, once per license (again: 409; another organization's code: 409)."""
    assert contact.organization_id is not None
    license_, certificate = await license_service.register(
        session, clock, outbox, contact.organization_id, body.activation_code
    )
    return Registered(license=read(license_, clock), certificate=CertificateRead.of(certificate))


async def managed_license(
    license_id: uuid.UUID, caller: ManagerPrincipal, session: SessionDep
) -> License:
    """The license an admin, or the partner that imported it, changes; locked for the change.
    Anyone else's is a 404."""
    return await license_service.get_for(session, manager_of(caller), license_id, lock=True)


ManagedLicense = Annotated[License, Depends(managed_license)]


@router.post("/api/v1/licenses/{license_id}/renew", response_model=LicenseRead)
async def renew_license(
    body: RenewalRequest,
    license_: ManagedLicense,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> LicenseRead:
    """From the old expiry while active, from today once expired."""
    return read(await license_service.renew(session, clock, outbox, license_, body.months), clock)


@router.post("/api/v1/licenses/{license_id}/suspend", response_model=LicenseRead)
async def suspend_license(
    body: StateChangeRequest,
    license_: ManagedLicense,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> LicenseRead:
    return read(await license_service.suspend(session, clock, outbox, license_, body.reason), clock)


@router.post("/api/v1/licenses/{license_id}/reinstate", response_model=LicenseRead)
async def reinstate_license(
    license_: ManagedLicense, session: SessionDep, clock: ClockDep, outbox: OutboxDep
) -> LicenseRead:
    return read(await license_service.reinstate(session, clock, outbox, license_), clock)


@router.post("/api/v1/licenses/{license_id}/revoke", response_model=LicenseRead)
async def revoke_license(
    license_: ManagedLicense, session: SessionDep, clock: ClockDep, outbox: OutboxDep
) -> LicenseRead:
    """For good: `licensing.license.lapsed` (reason `revoked`) unless it lapsed already."""
    return read(await license_service.revoke(session, clock, outbox, license_), clock)
