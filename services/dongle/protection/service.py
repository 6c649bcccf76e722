"""The key protection service: connecting (rule 2), lifetime tied to maintenance (rule 6),
ending with the last license (rule 7), and the history of every change (rule 8).

A subscription is `pending_payment` until licensing's invoice for it is paid, then `active`;
it `lapses` when the key's maintenance ends and resumes by itself if maintenance is renewed no
later than 14 calendar days (Moscow time) after that end; it is `cancelled` when the customer
refuses it, when those 14 days pass, or when its key has no active license left. At most one
subscription per key is live (not cancelled): the database's partial unique index decides
between two requests that arrive at once.
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.keys.auth import KeyViewer
from services.dongle.keys.repository import KeyRepository
from services.dongle.keys.service import key_service
from services.dongle.models import ProtectionKey, ProtectionSubscription, SubscriptionChange
from services.dongle.protection.repository import SYSTEM, SubscriptionRepository
from services.dongle.update_files.repository import PROGRAMMABLE
from services.dongle.update_files.service import update_file_service
from shared.auth import Principal
from shared.bus.outbox import Outbox
from shared.clock import Clock, business_date, business_midnight
from shared.db import duplicate_refused
from shared.events.dongle import (
    ProtectionActivated,
    ProtectionCancelled,
    ProtectionChanged,
    ProtectionLapsed,
    ProtectionRequested,
    ProtectionResumed,
    UpdateTrigger,
)
from shared.problems import Conflict, NotFound, ProblemError

PRICE_CODE = "KEY_PROTECTION"
# Rule 6: a renewal this many calendar days after maintenance ended still resumes the service.
RESUME_WITHIN_DAYS = 14


class RuleBroken(ProblemError):
    """A request the service's rules refuse; `rule` names which."""

    status, type_name, title = 422, "rule-broken", "Not allowed by the service's rules"


def actor_of(principal: Principal) -> str:
    return f"user:{principal.user_id}" if principal.user_id else SYSTEM


def resumable_until(maintenance_ended_at: datetime) -> datetime:
    """The first moment a renewal no longer resumes: the start of day 15 after the end."""
    last_day = business_date(maintenance_ended_at) + timedelta(days=RESUME_WITHIN_DAYS)
    return business_midnight(last_day + timedelta(days=1))


class ProtectionService:
    async def connect(
        self, session: AsyncSession, clock: Clock, outbox: Outbox, principal: Principal, serial: str
    ) -> tuple[ProtectionSubscription, ProtectionKey]:
        key = await key_service.contact_key(session, principal, serial)
        now = clock.now()
        if key.kind != "codemeter":
            raise RuleBroken(
                "The protection service is offered for CodeMeter keys only", rule="codemeter_only"
            )
        if key.status not in PROGRAMMABLE:
            raise RuleBroken(
                "A key reported lost or stolen cannot be protected", rule="key_not_in_use"
            )
        if key.maintenance_ends_at is None or key.maintenance_ends_at <= now:
            raise RuleBroken(
                "The key's maintenance must be active to connect the protection service",
                rule="maintenance_required",
            )
        subscriptions = SubscriptionRepository(session)
        if await subscriptions.live_on_key(key.id) is not None:
            raise self._already_live()
        subscription = ProtectionSubscription(
            id=uuid.uuid4(),
            key_id=key.id,
            organization_id=key.organization_id,
            status="pending_payment",
            requested_by=principal.user_id,
            created_at=now,
        )
        async with duplicate_refused(session, self._already_live()):
            await subscriptions.add(subscription)
        await self._record(session, clock, subscription, None, "requested", actor_of(principal))
        await outbox.add(
            session,
            ProtectionRequested(
                subscription_id=subscription.id,
                organization_id=key.organization_id,
                key_serial=key.serial,
                price_code=PRICE_CODE,
                requested_by=principal.user_id,
            ),
        )
        return subscription, key

    def _already_live(self) -> Conflict:
        return Conflict(
            "The key already has a live protection subscription", rule="one_live_subscription"
        )

    async def refuse(
        self, session: AsyncSession, clock: Clock, outbox: Outbox, principal: Principal, serial: str
    ) -> tuple[ProtectionSubscription, ProtectionKey]:
        key = await key_service.contact_key(session, principal, serial)
        subscription = await SubscriptionRepository(session).live_on_key(key.id)
        if subscription is None:
            raise NotFound("The key has no live protection subscription")
        await self.cancel(
            session, clock, outbox, subscription, key, "customer_refused", actor_of(principal)
        )
        return subscription, key

    async def history(
        self, session: AsyncSession, viewer: KeyViewer, serial: str
    ) -> list[SubscriptionChange]:
        key = await key_service.visible_key(session, viewer, serial)
        return await SubscriptionRepository(session).history_of_key(key.id)

    async def invoice_issued(
        self,
        session: AsyncSession,
        subscription_id: uuid.UUID,
        invoice_id: uuid.UUID,
        price: object,
    ) -> None:
        """The price the customer is asked appears once licensing has issued the invoice."""
        subscription = await SubscriptionRepository(session).with_id(subscription_id)
        if subscription is None:
            return
        subscription.invoice_id = invoice_id
        subscription.price = price  # type: ignore[assignment]
        await session.flush()

    async def invoice_paid(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        subscription_id: uuid.UUID,
        invoice_id: uuid.UUID,
    ) -> None:
        """Rule 2: `pending_payment` becomes `active` only when its invoice is paid; the key
        is programmed at once (an update file valid 30 days)."""
        subscription = await SubscriptionRepository(session).with_id(subscription_id)
        if subscription is None or subscription.status != "pending_payment":
            return
        subscription.invoice_id = subscription.invoice_id or invoice_id
        subscription.activated_at = clock.now()
        key = await KeyRepository(session).with_id(subscription.key_id)
        assert key is not None
        await self._program(
            session,
            clock,
            outbox,
            (subscription, key),
            ProtectionActivated,
            "payment_received",
            "activation",
            invoice_id=subscription.invoice_id,
        )
        # Maintenance may have ended while the invoice waited.
        await self.follow_maintenance(session, clock, outbox, [key.id], clock.now())

    async def follow_maintenance(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        key_ids: list[uuid.UUID],
        renewed_at: datetime,
    ) -> None:
        """Rule 6 for the live subscriptions on these keys, now that their maintenance may
        have changed; `renewed_at` is when a renewal (if this is one) was made."""
        if not key_ids:
            return
        now = clock.now()
        keys = KeyRepository(session)
        for subscription in await SubscriptionRepository(session).live_on_keys(key_ids):
            key = await keys.with_id(subscription.key_id)
            assert key is not None
            ends_at = key.maintenance_ends_at
            in_force = ends_at is not None and ends_at > now
            if subscription.status == "active" and not in_force:
                await self._lapse(session, clock, outbox, subscription, key, ends_at or now)
            elif subscription.status == "lapsed" and subscription.resumable_until is not None:
                if in_force and renewed_at < subscription.resumable_until:
                    await self._resume(session, clock, outbox, subscription, key)
                elif now >= subscription.resumable_until:
                    await self.cancel(
                        session, clock, outbox, subscription, key, "maintenance_not_renewed"
                    )

    async def after_license_lapsed(
        self, session: AsyncSession, clock: Clock, outbox: Outbox, key_ids: list[uuid.UUID]
    ) -> None:
        """Rule 7: a protected key left with no active license loses its protection. One
        statement finds, cancels and records them; one event each."""
        if not key_ids:
            return
        reason = "license_lapsed"
        cancelled = await SubscriptionRepository(session).cancel_unlicensed(
            key_ids, clock.now(), reason
        )
        for subscription_id, organization_id, serial in cancelled:
            await outbox.add(
                session,
                ProtectionCancelled(
                    subscription_id=subscription_id,
                    organization_id=organization_id,
                    key_serial=serial,
                    status="cancelled",
                    reason=reason,
                ),
            )

    async def cancel(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        subscription: ProtectionSubscription,
        key: ProtectionKey,
        reason: str,
        actor: str = SYSTEM,
    ) -> None:
        subscription.ended_at = clock.now()
        subscription.cancel_reason = reason
        await self._change(
            session,
            clock,
            outbox,
            (subscription, key),
            ProtectionCancelled,
            "cancelled",
            reason,
            actor,
        )

    async def _lapse(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        subscription: ProtectionSubscription,
        key: ProtectionKey,
        ended_at: datetime,
    ) -> None:
        subscription.maintenance_ended_at = ended_at
        subscription.resumable_until = resumable_until(ended_at)
        await self._change(
            session,
            clock,
            outbox,
            (subscription, key),
            ProtectionLapsed,
            "lapsed",
            "maintenance_ended",
            maintenance_ended_at=ended_at,
            resumable_until=subscription.resumable_until,
        )

    async def _resume(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        subscription: ProtectionSubscription,
        key: ProtectionKey,
    ) -> None:
        assert key.maintenance_ends_at is not None
        subscription.maintenance_ended_at = None
        subscription.resumable_until = None
        await self._program(
            session,
            clock,
            outbox,
            (subscription, key),
            ProtectionResumed,
            "maintenance_renewed",
            "resumption",
            maintenance_ends_at=key.maintenance_ends_at,
        )

    async def _program(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        subject: tuple[ProtectionSubscription, ProtectionKey],
        event_type: type[ProtectionActivated | ProtectionResumed],
        reason: str,
        trigger: UpdateTrigger,
        **fields: object,
    ) -> None:
        """The subscription becomes `active` and its key (unless lost) gets an update file."""
        await self._change(
            session, clock, outbox, subject, event_type, "active", reason, SYSTEM, **fields
        )
        key = subject[1]
        if key.status in PROGRAMMABLE:
            await update_file_service.generate_for_key(session, clock, outbox, key.id, trigger)

    async def _change(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        subject: tuple[ProtectionSubscription, ProtectionKey],
        event_type: type[ProtectionChanged],
        to: str,
        reason: str,
        actor: str = SYSTEM,
        **fields: object,
    ) -> None:
        """Moves the subscription, keeps the change in its history, publishes the event."""
        subscription, key = subject
        await self._move(session, clock, subscription, to, reason, actor)
        await outbox.add(
            session,
            event_type.model_validate(
                {
                    "subscription_id": subscription.id,
                    "organization_id": subscription.organization_id,
                    "key_serial": key.serial,
                    "status": to,
                    "reason": reason,
                    **fields,
                }
            ),
        )

    async def record_move(
        self,
        session: AsyncSession,
        clock: Clock,
        subscription: ProtectionSubscription,
        reason: str,
        actor: str,
    ) -> None:
        """A change that keeps the status (the subscription moved to a replacement key)."""
        await session.flush()
        await self._record(session, clock, subscription, subscription.status, reason, actor)

    async def _move(
        self,
        session: AsyncSession,
        clock: Clock,
        subscription: ProtectionSubscription,
        to: str,
        reason: str,
        actor: str,
    ) -> None:
        before = subscription.status
        subscription.status = to
        await session.flush()
        await self._record(session, clock, subscription, before, reason, actor)

    async def _record(
        self,
        session: AsyncSession,
        clock: Clock,
        subscription: ProtectionSubscription,
        before: str | None,
        reason: str,
        actor: str,
    ) -> None:
        await SubscriptionRepository(session).add_change(
            SubscriptionChange(
                subscription_id=subscription.id,
                at=clock.now(),
                from_status=before,
                to_status=subscription.status,
                reason=reason,
                actor=actor,
            )
        )


protection_service = ProtectionService()
