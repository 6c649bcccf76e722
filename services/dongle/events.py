"""The events dongle handles (its queue is bound to exactly these types).

Handlers translate an event into a call of the domain's service; `envelope.occurred_at` is
passed along so that a service can tell an event older than what it already applied.
"""

import uuid
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.invoices.service import invoice_service
from services.dongle.licenses.service import LicenseState, license_service
from services.dongle.maintenance.service import maintenance_service
from services.dongle.models import Organization, partner_customers
from services.dongle.protection.service import protection_service
from shared.bus.consumer import EventHandlers, handler_clock, handler_outbox
from shared.bus.envelope import Envelope
from shared.events.identity import OrganizationRegistered
from shared.events.licensing import (
    InvoiceIssued,
    InvoicePaid,
    LicenseIssued,
    LicenseLapsed,
    LicenseReinstated,
    LicenseRenewed,
    LicenseSuspended,
    PartnerCustomerLinked,
    SupportExpired,
    SupportRegistered,
    SupportRenewed,
)

handlers = EventHandlers()

# The organizations a partner imports keys for (a link, once made, stays).
handlers.on(PartnerCustomerLinked)(partner_customers.apply)


@handlers.on(OrganizationRegistered)
async def on_organization_registered(
    session: AsyncSession, event: OrganizationRegistered, envelope: Envelope
) -> None:
    await session.execute(
        insert(Organization)
        .values(id=event.organization_id, inn=event.inn)
        .on_conflict_do_update(index_elements=[Organization.id], set_={"inn": event.inn})
    )


def license_state(
    event: LicenseIssued | LicenseRenewed | LicenseSuspended | LicenseReinstated | LicenseLapsed,
    protection: str | None = None,
) -> LicenseState:
    """The license as a licensing event describes it; only `issued` tells the protection."""
    return LicenseState(
        license_id=event.license_id,
        organization_id=event.organization_id,
        product_code=event.product_code,
        key_serial=event.key_serial,
        status=event.status,
        expires_at=event.expires_at,
        protection=protection,
    )


@handlers.on(LicenseIssued)
async def on_license_issued(
    session: AsyncSession, event: LicenseIssued, envelope: Envelope
) -> None:
    await license_service.apply(
        session,
        handler_clock(session),
        license_state(event, protection=event.protection),
        envelope.occurred_at,
    )


@handlers.on(LicenseRenewed)
@handlers.on(LicenseSuspended)
@handlers.on(LicenseReinstated)
async def on_license_changed(
    session: AsyncSession,
    event: LicenseRenewed | LicenseSuspended | LicenseReinstated,
    envelope: Envelope,
) -> None:
    await license_service.apply(
        session,
        handler_clock(session),
        license_state(event),
        envelope.occurred_at,
    )


@handlers.on(LicenseLapsed)
async def on_license_lapsed(
    session: AsyncSession, event: LicenseLapsed, envelope: Envelope
) -> None:
    clock = handler_clock(session)
    change = await license_service.apply(
        session,
        clock,
        license_state(event),
        envelope.occurred_at,
    )
    if change is not None:
        keys = {change.previous_key_id, change.key_id}
        await protection_service.after_license_lapsed(
            session, clock, handler_outbox(session), [key for key in keys if key is not None]
        )


@handlers.on(SupportRegistered)
@handlers.on(SupportRenewed)
async def on_support_in_force(
    session: AsyncSession, event: SupportRegistered | SupportRenewed, envelope: Envelope
) -> None:
    await _apply_certificate(session, event, event.ends_at, False, envelope)


@handlers.on(SupportExpired)
async def on_support_expired(
    session: AsyncSession, event: SupportExpired, envelope: Envelope
) -> None:
    await _apply_certificate(session, event, event.ended_at, True, envelope)


async def _apply_certificate(
    session: AsyncSession,
    event: SupportRegistered | SupportRenewed | SupportExpired,
    ends_at: datetime,
    ended: bool,
    envelope: Envelope,
) -> None:
    """The certificate's maintenance onto the keys it names, then rule 6 on those keys."""
    key_ids = await maintenance_service.apply(
        session,
        certificate_id=event.certificate_id,
        organization_id=event.organization_id,
        key_serials=list(event.key_serials),
        ends_at=ends_at,
        ended=ended,
        occurred_at=envelope.occurred_at,
    )
    await _follow_maintenance(session, key_ids, envelope)


async def _follow_maintenance(
    session: AsyncSession, key_ids: list[uuid.UUID] | None, envelope: Envelope
) -> None:
    """Rule 6 on the keys whose maintenance changed; a renewal counts from when it was made."""
    if key_ids:
        await protection_service.follow_maintenance(
            session, handler_clock(session), handler_outbox(session), key_ids, envelope.occurred_at
        )


@handlers.on(InvoiceIssued)
async def on_invoice_issued(
    session: AsyncSession, event: InvoiceIssued, envelope: Envelope
) -> None:
    await invoice_service.issued(session, event, envelope.occurred_at)


@handlers.on(InvoicePaid)
async def on_invoice_paid(session: AsyncSession, event: InvoicePaid, envelope: Envelope) -> None:
    await invoice_service.paid(session, handler_clock(session), handler_outbox(session), event)
