"""Licenses on a lost or stolen protection key (dongle's rule 4, licensing's rule 4).

dongle stops writing update files for a key reported lost, so whatever it carries keeps
working until the last file runs out: the period the customer has already had programmed (and
paid for). licensing suspends the key's licenses at that moment, `programmed_until` of
`dongle.key.reported_lost`, or at the report itself when the key never had an update file.
The suspension sweep does it (`jobs.py`), each report once even with several replicas. If
`dongle.licenses.restored` comes first (the replacement was paid and registered before the
period ran out), nothing is suspended; if it comes after, the licenses the loss suspended are
reinstated. Either way the licenses are bound to the new serial and announced on it.

Both events are applied "by report": the report's row is created by whichever arrives first,
so a repeat changes nothing and a restoration that overtakes its report is not undone by it.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.licenses.repository import LicenseRepository
from services.licensing.licenses.service import license_service
from services.licensing.losses.repository import LostKeyRepository
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.events.dongle import KeyReportedLost, LicensesRestored

SWEEP_BATCH = 100


class LossService:
    async def reported(
        self, session: AsyncSession, event: KeyReportedLost, occurred_at: datetime
    ) -> None:
        """Remembers which licenses the key carried and when they are to stop."""
        report = await LostKeyRepository(session).hold(
            event.report_id,
            key_serial=event.key_serial,
            organization_id=event.organization_id,
            license_ids=[],
        )
        if report.reported_at is not None:
            return  # the same report again
        bound = await LicenseRepository(session).bound_to_key(
            event.key_serial, event.organization_id
        )
        report.reported_at = occurred_at
        report.suspend_at = event.programmed_until or occurred_at
        report.license_ids = sorted({*report.license_ids, *(lic.id for lic in bound)})
        await session.flush()

    async def restored(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        event: LicensesRestored,
        occurred_at: datetime,
    ) -> None:
        """The licenses of the lost key moved onto `new_serial`: re-bound, and reinstated where
        the loss had suspended them."""
        report = await LostKeyRepository(session).hold(
            event.report_id,
            key_serial=event.old_serial,
            organization_id=event.organization_id,
            license_ids=list(event.license_ids),
        )
        if report.restored_at is not None:
            return  # restored already
        report.restored_at, report.new_serial = occurred_at, event.new_serial
        moved = {*report.license_ids, *event.license_ids}
        for license_ in await LicenseRepository(session).bound_to_key(
            report.key_serial, report.organization_id, sorted(moved)
        ):
            await license_service.rebind(
                session, clock, outbox, license_, event.new_serial, report.id
            )
        await session.flush()

    async def sweep_run_out(self, session: AsyncSession, clock: Clock, outbox: Outbox) -> int:
        """Suspends the licenses of lost keys whose programmed period has ended."""
        claimed = await LostKeyRepository(session).claim_run_out(clock.now(), SWEEP_BATCH)
        for report in claimed:
            for license_ in await LicenseRepository(session).bound_to_key(
                report.key_serial, report.organization_id, report.license_ids
            ):
                await license_service.suspend_for_loss(session, clock, outbox, license_, report.id)
        return len(claimed)


loss_service = LossService()
