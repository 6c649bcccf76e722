"""Memberships (rule 3): contacts who joined an existing organization wait for its responsible
person or an admin; the e-mailed link decides without signing in."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query

from services.identity.dependencies import IdentityAdmin, OutgoingDep
from services.identity.memberships.schemas import MembershipLink, MembershipRead, MembershipState
from services.identity.memberships.service import Decision, membership_service
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["organizations"], responses=PROBLEM_RESPONSES)


@router.get("/api/v1/organizations/memberships", response_model=Page[MembershipRead])
async def list_every_membership(
    admin: IdentityAdmin,
    session: SessionDep,
    page: PageDep,
    status: Annotated[MembershipState | None, Query()] = None,
) -> Page[MembershipRead]:
    """Every organization's contacts who asked to join, oldest first (`?status=pending`: the
    admins' queue); admins only."""
    rows, next_cursor = await membership_service.list_all(session, admin, status, page)
    return Page(items=[MembershipRead.of(*row) for row in rows], next_cursor=next_cursor)


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


def _decide_membership(decision: Decision) -> Callable[..., Awaitable[MembershipRead]]:
    async def decide(
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

    return decide


# The spec's two paths, `…/approve` and `…/decline`, spelt out so that each is its own
# operation in the OpenAPI document.
_DECISIONS: tuple[tuple[Decision, str], ...] = (
    ("approve", "The contact sees the organization from its next sign-in (or refresh) on."),
    ("decline", "The contact keeps no access to the organization."),
)
for _decision, _doc in _DECISIONS:
    router.add_api_route(
        f"/api/v1/organizations/{{organization_id}}/memberships/{{user_id}}/{_decision}",
        _decide_membership(_decision),
        methods=["POST"],
        response_model=MembershipRead,
        name=f"{_decision}_membership",
        description=f"{_doc} For the organization's responsible person and admins; "
        "a decided membership answers 409.",
    )


@router.post("/api/v1/registration/memberships/preview", response_model=MembershipRead)
async def preview_membership_by_link(
    body: MembershipLink, session: SessionDep, clock: ClockDep
) -> MembershipRead:
    """Who asks to join, for the page the e-mailed link opens; the link stays usable.
    A forged, expired or spent one is a 404."""
    request, user = await membership_service.by_link(session, clock, body.token)
    return MembershipRead.of(request, user)


@router.post("/api/v1/registration/memberships/{decision}", response_model=MembershipRead)
async def decide_membership_by_link(
    decision: Decision,
    body: MembershipLink,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
    outgoing: OutgoingDep,
) -> MembershipRead:
    """With the token of the link e-mailed to the responsible person, without signing in:
    single use, expiring; a forged, expired or spent one is a 404."""
    request, user = await membership_service.decide_by_link(
        session, clock, outbox, outgoing, body.token, decision
    )
    return MembershipRead.of(request, user)
