"""Rule 4 (a key lost or stolen, its licenses restored onto a new key) and rule 5 (a lost key
found again becomes a carrier).

A report needs no document: the key stops getting update files at once, so its licenses stop
when its last file runs out. Restoration is covered only by an active protection subscription;
then licensing invoices the new key (`CODEMETER_KEY`) and its delivery (`DELIVERY`) separately
at the prices in force at the report, and once both are paid an admin registers the new serial:
licenses and subscription move onto it and licensing is told to re-bind them.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.invoices.repository import InvoiceRepository
from services.dongle.invoices.service import LOSS_REPORT
from services.dongle.keys.auth import KeyViewer
from services.dongle.keys.repository import KeyRepository
from services.dongle.keys.schemas import KeyRead
from services.dongle.keys.service import CODEMETER_SERIAL, key_service
from services.dongle.licenses.repository import LicenseRepository
from services.dongle.losses.repository import LossReportRepository
from services.dongle.losses.schemas import LossReportAsked, LossReportRead
from services.dongle.models import LossReport, ProtectionKey
from services.dongle.protection.repository import SubscriptionRepository
from services.dongle.protection.service import RuleBroken, actor_of, protection_service
from services.dongle.update_files.service import update_file_service
from shared.auth import Principal
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.events.dongle import KeyReportedLost, LicensesRestored
from shared.problems import Conflict, InvalidInput, NotFound

REPLACEMENT_ITEMS = ["CODEMETER_KEY", "DELIVERY"]
LOST = ("lost", "stolen")


class LossService:
    async def report(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        principal: Principal,
        serial: str,
        asked: LossReportAsked,
    ) -> LossReportRead:
        key = await key_service.contact_key(session, principal, serial)
        if key.status in LOST:
            raise Conflict("The key has been reported lost or stolen already")
        if key.status == "retired":
            raise Conflict("The key is retired")
        subscription = await SubscriptionRepository(session).live_on_key(key.id)
        covered = subscription is not None and subscription.status == "active"
        license_ids = await LicenseRepository(session).ids_on_key(key.id)
        report = LossReport(
            id=uuid.uuid4(),
            key_id=key.id,
            organization_id=key.organization_id,
            kind=asked.kind,
            note=asked.note,
            reported_at=clock.now(),
            reported_by=principal.user_id,
            restoration="invoiced" if covered else "not_covered",
            subscription_id=subscription.id if covered and subscription else None,
            license_ids=license_ids,
        )
        await LossReportRepository(session).add(report)
        key.status = asked.kind
        await session.flush()
        await outbox.add(
            session,
            KeyReportedLost(
                report_id=report.id,
                key_serial=key.serial,
                key_kind=key.kind,
                kind=asked.kind,
                organization_id=key.organization_id,
                license_ids=license_ids,
                programmed_until=key.programmed_until,
                restoration_covered=covered,
                subscription_id=report.subscription_id,
                replacement_price_codes=REPLACEMENT_ITEMS if covered else [],
            ),
        )
        return await self._read(session, key, report)

    async def latest(self, session: AsyncSession, viewer: KeyViewer, serial: str) -> LossReportRead:
        key = await key_service.visible_key(session, viewer, serial)
        report = await LossReportRepository(session).latest_on_key(key.id)
        if report is None:
            raise NotFound("The key has not been reported lost or stolen")
        return await self._read(session, key, report)

    async def _read(
        self, session: AsyncSession, key: ProtectionKey, report: LossReport
    ) -> LossReportRead:
        invoices = await InvoiceRepository(session).for_reference(LOSS_REPORT, report.id)
        return LossReportRead(
            key=await key_service.view(session, key),
            restoration=report.restoration,
            invoice_ids=[invoice.id for invoice in invoices],
        )

    async def replace(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        admin: Principal,
        serial: str,
        new_serial: str,
    ) -> KeyRead:
        """After the replacement is paid: the licenses and the subscription of the lost key
        move onto the new key, which gets an update file at once."""
        keys = KeyRepository(session)
        old = await key_service.visible_key(session, KeyViewer(None), serial, for_update=True)
        report = await LossReportRepository(session).latest_on_key(old.id, for_update=True)
        if report is None:
            raise Conflict("The key has not been reported lost or stolen", rule="not_reported")
        if report.restoration != "invoiced":
            raise RuleBroken(
                "Restoring the licenses was not covered: the key had no active protection "
                "subscription when it was reported",
                rule="restoration_not_covered",
            )
        if report.replaced_by_key_id is not None:
            raise Conflict("The licenses have been restored onto another key already")
        await self._check_paid(session, report)
        new = await self._new_key(session, clock, keys, old, new_serial)
        moved = list(report.license_ids)
        await LicenseRepository(session).move_onto(moved, new.id)
        subscription = (
            None
            if report.subscription_id is None
            else await SubscriptionRepository(session).with_id(report.subscription_id)
        )
        if subscription is not None and subscription.status in ("active", "lapsed"):
            subscription.key_id = new.id
            await protection_service.record_move(
                session, clock, subscription, "key_replaced", actor_of(admin)
            )
            if subscription.status == "active":
                await update_file_service.generate_for_key(
                    session, clock, outbox, new.id, "replacement"
                )
        report.replaced_by_key_id = new.id
        report.replaced_at = clock.now()
        await session.flush()
        await outbox.add(
            session,
            LicensesRestored(
                old_serial=old.serial,
                new_serial=new.serial,
                license_ids=moved,
                organization_id=old.organization_id,
                report_id=report.id,
                subscription_id=None if subscription is None else subscription.id,
            ),
        )
        await session.refresh(new)
        return await key_service.view(session, new)

    async def _check_paid(self, session: AsyncSession, report: LossReport) -> None:
        invoices = await InvoiceRepository(session).for_reference(LOSS_REPORT, report.id)
        paid_items = {
            code
            for invoice in invoices
            if invoice.paid_at is not None
            for code in (invoice.price_codes or [])
        }
        unpaid = [invoice for invoice in invoices if invoice.paid_at is None]
        if unpaid or not set(REPLACEMENT_ITEMS) <= paid_items:
            raise Conflict(
                "The replacement key and its delivery must both be paid first",
                rule="replacement_not_paid",
            )

    async def _new_key(
        self,
        session: AsyncSession,
        clock: Clock,
        keys: KeyRepository,
        old: ProtectionKey,
        new_serial: str,
    ) -> ProtectionKey:
        if not CODEMETER_SERIAL.fullmatch(new_serial):
            raise InvalidInput("new_serial", "a CodeMeter serial reads like 3-1234567")
        if new_serial == old.serial:
            raise InvalidInput("new_serial", "must differ from the lost key's serial")
        existing = await keys.with_serial(new_serial, for_update=True)
        if existing is None:
            return await key_service.key_for_license(
                session, clock, new_serial, "codemeter", old.organization_id
            )
        usable = (
            existing.organization_id == old.organization_id
            and existing.kind == "codemeter"
            and existing.status in ("active", "carrier")
            and await SubscriptionRepository(session).live_on_key(existing.id) is None
        )
        if not usable:
            raise Conflict(
                "That serial belongs to a key that cannot take these licenses",
                rule="new_key_unusable",
            )
        existing.status = "active"
        return existing

    async def found(self, session: AsyncSession, viewer: KeyViewer, serial: str) -> KeyRead:
        """Rule 5: a lost key found again carries new licenses only, none of its old ones."""
        key = await key_service.visible_key(session, viewer, serial, for_update=True)
        if key.status not in LOST:
            raise Conflict("Only a key reported lost or stolen can be found", rule="not_lost")
        licenses = LicenseRepository(session)
        await licenses.move(await licenses.ids_on_key(key.id), key.id, None)
        key.status = "carrier"
        await session.flush()
        return await key_service.view(session, key)


loss_service = LossService()
