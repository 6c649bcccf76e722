"""Memberships (rule 3): contacts who joined an existing organization wait for its responsible
person or an admin; the e-mailed link decides without signing in."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.identity.dependencies import OutgoingDep
from services.identity.memberships.schemas import MembershipLink, MembershipRead, MembershipState
from services.identity.memberships.service import Decision, membership_service
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageParams, page_params
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["organizations"], responses=PROBLEM_RESPONSES)

PageDep = Annotated[PageParams, Depends(page_params)]


@router.get(
    "/api/v1/organizations/{organization_id}/memberships",
    response_model=Page[MembershipRead],
)
async def list_memberships(
    organization_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    status: Annotated[MembershipState | None, Query()] = None,
) -> Page[MembershipRead]:
    """Contacts who asked to join, oldest first (`?status=pending` for those still waiting);
    for the organization's responsible person and admins."""
    rows, next_cursor = await membership_service.list_requests(
        session, principal, organization_id, status, page
    )
    return Page(items=[MembershipRead.of(*row) for row in rows], next_cursor=next_cursor)


async def _decide(
    decision: Decision,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
    outgoing: OutgoingDep,
) -> MembershipRead:
    request, user = await membership_service.decide(
        session, clock, outbox, outgoing, principal, organization_id, user_id, decision
    )
    return MembershipRead.of(request, user)


@router.post(
    "/api/v1/organizations/{organization_id}/memberships/{user_id}/approve",
    response_model=MembershipRead,
)
async def approve_membership(
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
    outgoing: OutgoingDep,
) -> MembershipRead:
    """The contact sees the organization from its next sign-in on; decided already: 409."""
    return await _decide(
        "approve", organization_id, user_id, principal, session, clock, outbox, outgoing
    )


@router.post(
    "/api/v1/organizations/{organization_id}/memberships/{user_id}/decline",
    response_model=MembershipRead,
)
async def decline_membership(
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
    outgoing: OutgoingDep,
) -> MembershipRead:
    """The contact keeps no access to the organization; decided already: 409."""
    return await _decide(
        "decline", organization_id, user_id, principal, session, clock, outbox, outgoing
    )


async def _decide_by_link(
    decision: Decision,
    body: MembershipLink,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
    outgoing: OutgoingDep,
) -> MembershipRead:
    request, user = await membership_service.decide_by_link(
        session, clock, outbox, outgoing, body.token, decision
    )
    return MembershipRead.of(request, user)


@router.post("/api/v1/registration/memberships/approve", response_model=MembershipRead)
async def approve_membership_by_link(
    body: MembershipLink,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
    outgoing: OutgoingDep,
) -> MembershipRead:
    """With the token of the link e-mailed to the responsible person: single use, expiring;
    a forged, expired or spent one is a 404."""
    return await _decide_by_link("approve", body, session, clock, outbox, outgoing)


@router.post("/api/v1/registration/memberships/decline", response_model=MembershipRead)
async def decline_membership_by_link(
    body: MembershipLink,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
    outgoing: OutgoingDep,
) -> MembershipRead:
    """Like approval by link, declining."""
    return await _decide_by_link("decline", body, session, clock, outbox, outgoing)
