"""The events licensing handles (its queue is bound to exactly these types)."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.billing.service import Order, billing_service
from services.licensing.losses.service import loss_service
from services.licensing.organizations.service import organization_read_model
from services.licensing.support.service import (
    EVENT_REASONS,
    REFUSALS,
    RenewalRefused,
    support_service,
)
from shared.bus.consumer import EventHandlers, handler_clock, handler_outbox
from shared.bus.envelope import Envelope
from shared.events.common import Reference
from shared.events.dongle import KeyReportedLost, LicensesRestored, ProtectionRequested
from shared.events.helpdesk import RenewalRequested
from shared.events.identity import (
    DataChangeRequested,
    OrganizationRegistered,
    OrganizationUpdated,
    UserRegistered,
    UserUpdated,
)
from shared.events.licensing import RenewalRejected

handlers = EventHandlers()


@handlers.on(OrganizationRegistered)
async def organization_registered(
    session: AsyncSession, event: OrganizationRegistered, envelope: Envelope
) -> None:
    await organization_read_model.registered(session, event, envelope.occurred_at)
    await billing_service.issue_awaited(session, handler_outbox(session), event.organization_id)


@handlers.on(OrganizationUpdated)
async def organization_updated(
    session: AsyncSession, event: OrganizationUpdated, envelope: Envelope
) -> None:
    await organization_read_model.updated(session, event, envelope.occurred_at)
    await billing_service.issue_awaited(session, handler_outbox(session), event.organization_id)


@handlers.on(UserRegistered)
async def user_registered(session: AsyncSession, event: UserRegistered, envelope: Envelope) -> None:
    await organization_read_model.user_registered(session, event, envelope.occurred_at)


@handlers.on(UserUpdated)
async def user_updated(session: AsyncSession, event: UserUpdated, envelope: Envelope) -> None:
    await organization_read_model.user_registered(session, event, envelope.occurred_at)


@handlers.on(RenewalRequested)
async def renewal_requested(
    session: AsyncSession, event: RenewalRequested, envelope: Envelope
) -> None:
    """Rule 8 for a helpdesk ticket: renewed, or rejected with the reason, either way answered."""
    outbox = handler_outbox(session)
    reference = Reference(service="helpdesk", kind="ticket", id=event.ticket_id)
    try:
        # A refusal undoes whatever the attempt changed, then the refusal itself is published.
        async with session.begin_nested():
            await support_service.renew_by_act(
                session,
                outbox,
                event.organization_id,
                event.act_number,
                event.requested_at,
                reference,
            )
    except RenewalRefused as refusal:
        await outbox.add(
            session,
            RenewalRejected(
                reference=reference,
                organization_id=event.organization_id,
                act_number=event.act_number,
                reason=EVENT_REASONS[refusal.reason],
                message=REFUSALS[refusal.reason],
            ),
        )


async def invoice_request(
    session: AsyncSession,
    envelope: Envelope,
    organization_id: uuid.UUID,
    reference: Reference,
    price_codes: list[str],
) -> None:
    """Rule 9: what another service asks for is invoiced once per reference, at the prices in
    force when it was asked (the event's time)."""
    await billing_service.invoice(
        session,
        handler_outbox(session),
        organization_id,
        reference,
        [Order(code) for code in price_codes],
        envelope.occurred_at,
    )


@handlers.on(ProtectionRequested)
async def protection_requested(
    session: AsyncSession, event: ProtectionRequested, envelope: Envelope
) -> None:
    """The key protection service is invoiced at the price in force when it was asked."""
    reference = Reference(
        service="dongle", kind="protection_subscription", id=event.subscription_id
    )
    await invoice_request(session, envelope, event.organization_id, reference, [event.price_code])


@handlers.on(KeyReportedLost)
async def key_reported_lost(
    session: AsyncSession, event: KeyReportedLost, envelope: Envelope
) -> None:
    """The key's licenses stop when its programmed period ends (the suspension sweep); a
    replacement key (and its delivery) is invoiced when restoration is covered."""
    await loss_service.reported(session, event, envelope.occurred_at)
    if event.restoration_covered and event.replacement_price_codes:
        reference = Reference(service="dongle", kind="loss_report", id=event.report_id)
        await invoice_request(
            session, envelope, event.organization_id, reference, event.replacement_price_codes
        )


@handlers.on(LicensesRestored)
async def licenses_restored(
    session: AsyncSession, event: LicensesRestored, envelope: Envelope
) -> None:
    """The lost key's licenses are on a new key: re-bound, and reinstated if the loss had
    suspended them."""
    await loss_service.restored(
        session, handler_clock(session), handler_outbox(session), event, envelope.occurred_at
    )


@handlers.on(DataChangeRequested)
async def data_change_requested(
    session: AsyncSession, event: DataChangeRequested, envelope: Envelope
) -> None:
    """identity's paid data change is invoiced like any other service."""
    reference = Reference(
        service="identity", kind="data_change_request", id=event.change_request_id
    )
    await invoice_request(session, envelope, event.organization_id, reference, [event.price_code])
