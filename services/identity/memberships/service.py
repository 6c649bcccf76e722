"""Rule 3: knowing an INN and KPP must not open a company's account.

A contact who registers into an existing organization is created `pending`: its sessions carry
no organization, so no service shows it anything of that organization. The organization's
responsible persons get an e-mail with a link (a single-use token, kept only as its SHA-256,
expiring after `membership_link_ttl_hours`); the link, a responsible person through the API or
an admin approves or declines. Approval makes the contact `active` and announces it
(`identity.user.registered`); a declined contact keeps no access.
"""

import uuid
from datetime import timedelta
from typing import Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.accounts.announcements import user_registered
from services.identity.auth.tokens import new_opaque_token, token_hash
from services.identity.config import Settings
from services.identity.memberships.repository import MembershipRepository
from services.identity.messages.service import Outgoing
from services.identity.models import MembershipRequest, Organization, User
from services.identity.organizations.auth import is_responsible
from shared.auth import Principal
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.pagination import PageParams
from shared.problems import Conflict, Forbidden, NotFound

log = structlog.get_logger(__name__)

Decision = Literal["approve", "decline"]
Via = Literal["link", "responsible", "admin"]

PENDING, ACTIVE, DECLINED = "pending", "active", "declined"
INVALID_LINK = "The link is not valid: it may have expired or been used already"


class MembershipService:
    async def request(
        self,
        session: AsyncSession,
        clock: Clock,
        settings: Settings,
        outgoing: Outgoing,
        user: User,
        organization: Organization,
    ) -> None:
        """`user` (just created, `pending`) asks to join `organization`; its responsible
        persons are e-mailed the link that approves or declines."""
        now = clock.now()
        link = new_opaque_token()
        await MembershipRepository(session).add(
            MembershipRequest(
                user_id=user.id,
                organization_id=organization.id,
                requested_at=now,
                link_hash=token_hash(link),
                link_expires_at=now + timedelta(hours=settings.membership_link_ttl_hours),
            )
        )
        responsible = await MembershipRepository(session).responsible_persons(organization.id)
        if not responsible:
            log.warning("membership_without_responsible_person", organization=str(organization.id))
        name = organization.short_name or organization.full_name
        for person in responsible:
            await outgoing.queue(
                session,
                channel="email",
                to=person.email,
                subject=f"Заявка на доступ к {name} в Kabinet",
                text=(
                    f"Здравствуйте, {person.full_name}!\n\n"
                    f"{user.full_name} ({user.email}, {user.phone}) зарегистрировался в Kabinet "
                    f"как контактное лицо организации {name} и ждёт вашего подтверждения.\n"
                    "Пока вы не подтвердите доступ, он не видит ничего из данных организации.\n\n"
                    f"Подтвердить или отклонить: {settings.portal_url}/memberships/confirm"
                    f"?token={link}\n"
                    f"Ссылка действует {settings.membership_link_ttl_hours} ч. и только один "
                    "раз; решить можно и в личном кабинете.\n"
                ),
            )

    async def list_requests(
        self,
        session: AsyncSession,
        principal: Principal,
        organization_id: uuid.UUID,
        status: str | None,
        params: PageParams,
    ) -> tuple[list[tuple[MembershipRequest, User]], str | None]:
        await self._decider(session, principal, organization_id)
        return await MembershipRepository(session).page(organization_id, status, params)

    async def list_all(
        self,
        session: AsyncSession,
        admin: Principal,
        status: str | None,
        params: PageParams,
    ) -> tuple[list[tuple[MembershipRequest, User]], str | None]:
        """Every organization's requests: the admins' queue (also for an organization whose
        responsible person is not there to decide)."""
        return await MembershipRepository(session).page(None, status, params)

    async def decide(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        outgoing: Outgoing,
        principal: Principal,
        organization_id: uuid.UUID,
        user_id: uuid.UUID,
        decision: Decision,
    ) -> tuple[MembershipRequest, User]:
        via = await self._decider(session, principal, organization_id)
        found = await MembershipRepository(session).for_decision(organization_id, user_id)
        if found is None:
            raise NotFound("No such membership request")
        request, user = found
        await self._apply(session, clock, outbox, outgoing, request, user, decision, via, principal)
        return request, user

    async def by_link(
        self, session: AsyncSession, clock: Clock, token: str
    ) -> tuple[MembershipRequest, User]:
        """Who asks to join, for the page the link opens; the link is not spent."""
        return await self._linked(session, clock, token)

    async def decide_by_link(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        outgoing: Outgoing,
        token: str,
        decision: Decision,
    ) -> tuple[MembershipRequest, User]:
        """The e-mailed link: forged, expired or used once already all look the same (404)."""
        request, user = await self._linked(session, clock, token)
        await self._apply(session, clock, outbox, outgoing, request, user, decision, "link", None)
        return request, user

    async def _linked(
        self, session: AsyncSession, clock: Clock, token: str
    ) -> tuple[MembershipRequest, User]:
        found = await MembershipRepository(session).with_link(token_hash(token))
        if found is None:
            raise NotFound(INVALID_LINK)
        request, user = found
        if request.link_expires_at is None or request.link_expires_at <= clock.now():
            raise NotFound(INVALID_LINK)
        return request, user

    async def _decider(
        self, session: AsyncSession, principal: Principal, organization_id: uuid.UUID
    ) -> Via:
        """An admin, or the organization's responsible person; another organization's
        contact (responsible or not) gets the 404 of an organization that does not exist."""
        if principal.kind == "user" and principal.has_role("admin"):
            if await MembershipRepository(session).user(principal.user_id) is None:
                raise NotFound("The account no longer exists")
            return "admin"
        if principal.kind != "user" or principal.organization_id != organization_id:
            if principal.is_staff:
                raise Forbidden("Only an admin or the responsible person decides memberships")
            raise NotFound("No such organization")
        caller = await MembershipRepository(session).user(principal.user_id)
        if (
            caller is None
            or caller.organization_id != organization_id
            or caller.membership != ACTIVE
        ):
            raise NotFound("No such organization")
        if not is_responsible(caller):
            raise Forbidden("Only the organization's responsible person decides memberships")
        return "responsible"

    async def _apply(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        outgoing: Outgoing,
        request: MembershipRequest,
        user: User,
        decision: Decision,
        via: Via,
        principal: Principal | None,
    ) -> None:
        if request.decided_at is not None:
            raise Conflict(f"The membership is decided already: {user.membership}")
        now = clock.now()
        request.decided_at = now
        request.decided_via = via
        request.decided_by = principal.user_id if principal is not None else None
        # Any decision spends the e-mailed link too.
        request.link_hash = None
        request.link_expires_at = None
        user.membership = ACTIVE if decision == "approve" else DECLINED
        await session.flush()
        organization = await session.get(Organization, request.organization_id)
        assert organization is not None
        name = organization.short_name or organization.full_name
        if decision == "approve":
            # Only now is the person a contact of the organization for the other services.
            await outbox.add(session, user_registered(user))
            verdict = f"подтвердили ваш доступ к организации {name}. Войдите в Kabinet заново."
        else:
            verdict = f"отклонили ваш запрос на доступ к организации {name}."
        await outgoing.queue(
            session,
            channel="email",
            to=user.email,
            subject="Доступ к организации в Kabinet",
            text=f"Здравствуйте, {user.full_name}!\n\nВ Kabinet {verdict}\n",
        )
        log.info("membership_decided", user_id=str(user.id), decision=decision, via=via)


membership_service = MembershipService()
