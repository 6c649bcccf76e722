"""Organizations, their contacts, and data-change requests (rules 5 and 6)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.identity.dependencies import IdentityAdmin
from services.identity.organizations.schemas import (
    ChangeRequestCreate,
    ChangeRequestRead,
    ChangeRequestRejection,
    ChangeRequestStatus,
    ContactRead,
    OrganizationRead,
)
from services.identity.organizations.service import change_request_service, organization_service
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["organizations"], responses=PROBLEM_RESPONSES)


@router.get("/api/v1/organizations/{organization_id}", response_model=OrganizationRead)
async def get_organization(
    organization_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> OrganizationRead:
    """The organization's requisites and customer number, for its contacts and staff."""
    organization = await organization_service.get(session, principal, organization_id)
    return OrganizationRead.of(organization)


@router.get("/api/v1/organizations/{organization_id}/contacts", response_model=Page[ContactRead])
async def list_organization_contacts(
    organization_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> Page[ContactRead]:
    """The organization's contact persons, the responsible person marked."""
    users, next_cursor = await organization_service.contacts(
        session, principal, organization_id, page
    )
    return Page(items=[ContactRead.of(user) for user in users], next_cursor=next_cursor)


@router.post(
    "/api/v1/change-requests",
    response_model=ChangeRequestRead,
    status_code=201,
)
async def request_data_change(
    body: ChangeRequestCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> ChangeRequestRead:
    """A contact asks to change locked data; an admin decides. A paid service (`DATA_CHANGE`)."""
    request = await change_request_service.request_change(session, clock, outbox, principal, body)
    return ChangeRequestRead.of(request)


@router.get("/api/v1/change-requests", response_model=Page[ChangeRequestRead])
async def list_change_requests(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    status: Annotated[ChangeRequestStatus | None, Query()] = None,
    organization_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[ChangeRequestRead]:
    """A contact sees its organization's requests; staff see all, oldest first."""
    requests, next_cursor = await change_request_service.list_requests(
        session, principal, page, status=status, organization_id=organization_id
    )
    return Page(items=[ChangeRequestRead.of(r) for r in requests], next_cursor=next_cursor)


@router.get("/api/v1/change-requests/{request_id}", response_model=ChangeRequestRead)
async def get_change_request(
    request_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> ChangeRequestRead:
    request = await change_request_service.get(session, principal, request_id)
    return ChangeRequestRead.of(request)


@router.post("/api/v1/change-requests/{request_id}/approve", response_model=ChangeRequestRead)
async def approve_change_request(
    request_id: uuid.UUID,
    admin: IdentityAdmin,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> ChangeRequestRead:
    """Applies the change and publishes what changed; a decided request answers 409."""
    request = await change_request_service.approve(session, clock, outbox, admin, request_id)
    return ChangeRequestRead.of(request)


@router.post("/api/v1/change-requests/{request_id}/reject", response_model=ChangeRequestRead)
async def reject_change_request(
    request_id: uuid.UUID,
    body: ChangeRequestRejection,
    admin: IdentityAdmin,
    session: SessionDep,
    clock: ClockDep,
) -> ChangeRequestRead:
    """Leaves the data as it is, with the reason; a decided request answers 409."""
    request = await change_request_service.reject(session, clock, admin, request_id, body.reason)
    return ChangeRequestRead.of(request)
