"""Organizations seen by their contacts and staff, and data-change requests (rules 5 and 6)."""

import uuid
from datetime import datetime

from pydantic import JsonValue
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.directory.repository import DirectoryRepository
from services.identity.models import ChangeRequest, Organization, User
from services.identity.organizations.auth import (
    contact_caller,
    is_responsible,
    may_see_organization,
    sees_every_organization,
)
from services.identity.organizations.locked_data import (
    Values,
    apply_to_organization,
    apply_to_user,
    current_organization_values,
    current_user_values,
    field_changes,
    organization_changes,
    user_changes,
)
from services.identity.organizations.repository import (
    ChangeRequestRepository,
    OrganizationRepository,
)
from services.identity.organizations.schemas import ChangeRequestCreate, ChangeRequestStatus
from shared.auth import Principal
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.events.identity import (
    DataChangeRequested,
    FieldChange,
    OrganizationUpdated,
    UserUpdated,
)
from shared.pagination import PageParams
from shared.problems import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    ValidationFailed,
)

# Rule 5: a data change is a paid service, billed under this price-list code.
DATA_CHANGE_PRICE_CODE = "DATA_CHANGE"

FieldChanges = dict[str, dict[str, JsonValue]]


class OrganizationService:
    async def get(
        self, session: AsyncSession, principal: Principal, organization_id: uuid.UUID
    ) -> Organization:
        # 404 alike for a missing organization and another's: existence is not revealed.
        organization = (
            await OrganizationRepository(session).get(organization_id)
            if may_see_organization(principal, organization_id)
            else None
        )
        if organization is None:
            raise NotFound("No such organization")
        return organization

    async def contacts(
        self,
        session: AsyncSession,
        principal: Principal,
        organization_id: uuid.UUID,
        params: PageParams,
    ) -> tuple[list[User], str | None]:
        await self.get(session, principal, organization_id)
        return await OrganizationRepository(session).contacts_page(organization_id, params)


class ChangeRequestService:
    async def request_change(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        principal: Principal,
        asked: ChangeRequestCreate,
    ) -> ChangeRequest:
        caller = contact_caller(principal)
        organizations = OrganizationRepository(session)
        requester = await organizations.get_contact(caller.organization_id, caller.user_id)
        if requester is None:
            raise Forbidden("Only a contact person of an organization can ask to change its data")
        if (asked.organization is None) == (asked.user is None):
            raise ValidationFailed(
                [
                    FieldError(field=field, message="give either organization or user changes")
                    for field in ("organization", "user")
                ]
            )

        target_user_id: uuid.UUID | None = None
        old: Values
        new: Values
        if asked.organization is not None:
            if asked.user_id is not None:
                raise InvalidInput(
                    "user_id", "names whose personal data changes; not for requisites"
                )
            organization = await organizations.get(caller.organization_id)
            if organization is None:
                raise NotFound("No such organization")
            new = await organization_changes(
                organization, asked.organization, DirectoryRepository(session)
            )
            old = current_organization_values(organization)
        else:
            assert asked.user is not None
            user = await self._user_to_change(organizations, requester, asked.user_id)
            new = user_changes(user, asked.user)
            await self._ensure_login_stays_unique(organizations, user, new)
            old = current_user_values(user)
            target_user_id = user.id

        request = ChangeRequest(
            organization_id=caller.organization_id,
            requested_by=requester.id,
            target="organization" if target_user_id is None else "user",
            target_user_id=target_user_id,
            changes={field: {"old": old.get(field), "new": value} for field, value in new.items()},
            comment=(asked.comment or "").strip() or None,
            status="pending",
            price_code=DATA_CHANGE_PRICE_CODE,
            created_at=clock.now(),
        )
        added = await ChangeRequestRepository(session).add(request)
        # A paid service: licensing invoices it.
        await outbox.add(
            session,
            DataChangeRequested(
                change_request_id=added.id,
                organization_id=added.organization_id,
                requested_by=added.requested_by,
                price_code=added.price_code,
            ),
        )
        return added

    async def _user_to_change(
        self, organizations: OrganizationRepository, requester: User, user_id: uuid.UUID | None
    ) -> User:
        if user_id is None or user_id == requester.id:
            return requester
        assert requester.organization_id is not None
        user = await organizations.get_contact(requester.organization_id, user_id)
        if user is None:
            raise NotFound("No such contact in your organization")
        if not is_responsible(requester):
            raise Forbidden("Only the responsible person may ask to change another contact's data")
        return user

    async def _ensure_login_stays_unique(
        self, organizations: OrganizationRepository, user: User, new: Values
    ) -> None:
        """E-mail and phone are logins: two contacts of one organization never share one."""
        assert user.organization_id is not None
        for field in ("email", "phone"):
            value = new.get(field)
            if isinstance(value, str) and await organizations.other_contact_with(
                user.organization_id, user.id, field, value
            ):
                raise Conflict(
                    f"Another contact of this organization already uses this {field}",
                    field=f"user.{field}",
                )

    async def list_requests(
        self,
        session: AsyncSession,
        principal: Principal,
        params: PageParams,
        *,
        status: ChangeRequestStatus | None = None,
        organization_id: uuid.UUID | None = None,
    ) -> tuple[list[ChangeRequest], str | None]:
        if not sees_every_organization(principal):
            if principal.kind != "user" or principal.organization_id is None:
                raise Forbidden("Change requests are seen by an organization's contacts and staff")
            if organization_id is not None and organization_id != principal.organization_id:
                raise NotFound("No such organization")
            organization_id = principal.organization_id
        return await ChangeRequestRepository(session).page(
            params, organization_id=organization_id, status=status
        )

    async def get(
        self, session: AsyncSession, principal: Principal, request_id: uuid.UUID
    ) -> ChangeRequest:
        request = await ChangeRequestRepository(session).get(request_id)
        if request is None or not may_see_organization(principal, request.organization_id):
            raise NotFound("No such change request")
        return request

    async def approve(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        admin: Principal,
        request_id: uuid.UUID,
    ) -> ChangeRequest:
        """Applies the change in the decision's transaction and stages the event describing it."""
        request = await self._pending(session, request_id)
        new: Values = {field: change["new"] for field, change in request.changes.items()}
        organizations = OrganizationRepository(session)
        now = clock.now()
        if request.target == "organization":
            organization = await organizations.get(request.organization_id)
            if organization is None:
                raise NotFound("No such organization")
            old = apply_to_organization(organization, new)
            organization.updated_at = now
            changes = field_changes(old, new)
            if changes:
                await outbox.add(session, _organization_updated(organization, changes, request))
        else:
            assert request.target_user_id is not None
            user = await organizations.get_contact(request.organization_id, request.target_user_id)
            if user is None:
                raise NotFound("No such contact")
            await self._ensure_login_stays_unique(organizations, user, new)
            old = apply_to_user(user, new)
            changes = field_changes(old, new)
            if changes:
                await outbox.add(session, _user_updated(user, changes, request))
        # The record keeps what the approval actually replaced.
        request.changes = {field: {"old": old[field], "new": new[field]} for field in new}
        self._decide(request, "approved", admin, now)
        await session.flush()
        return request

    async def reject(
        self,
        session: AsyncSession,
        clock: Clock,
        admin: Principal,
        request_id: uuid.UUID,
        reason: str,
    ) -> ChangeRequest:
        request = await self._pending(session, request_id)
        self._decide(request, "rejected", admin, clock.now(), reason=reason.strip())
        await session.flush()
        return request

    async def _pending(self, session: AsyncSession, request_id: uuid.UUID) -> ChangeRequest:
        request = await ChangeRequestRepository(session).get(request_id, for_decision=True)
        if request is None:
            raise NotFound("No such change request")
        if request.status != "pending":
            raise Conflict(
                f"This change request is already {request.status}", status=request.status
            )
        return request

    def _decide(
        self,
        request: ChangeRequest,
        status: ChangeRequestStatus,
        admin: Principal,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        request.status = status
        request.decided_by = admin.user_id
        request.decided_at = now
        request.decision_reason = reason


def _field_changes(changes: FieldChanges) -> dict[str, FieldChange]:
    return {path: FieldChange.model_validate(change) for path, change in changes.items()}


def _organization_updated(
    organization: Organization, changes: FieldChanges, request: ChangeRequest
) -> OrganizationUpdated:
    return OrganizationUpdated(
        organization_id=organization.id,
        changes=_field_changes(changes),
        change_request_id=request.id,
        name=organization.short_name or organization.full_name,
        full_name=organization.full_name,
        country=organization.country,
        resident=organization.resident,
        inn=organization.inn if organization.resident else None,
        kpp=organization.kpp,
        foreign_tax_id=None if organization.resident else organization.tax_id,
    )


def _user_updated(user: User, changes: FieldChanges, request: ChangeRequest) -> UserUpdated:
    return UserUpdated(
        user_id=user.id,
        organization_id=user.organization_id,
        changes=_field_changes(changes),
        change_request_id=request.id,
        email=user.email,
        full_name=user.full_name,
        phone=user.phone,
    )


organization_service = OrganizationService()
change_request_service = ChangeRequestService()
