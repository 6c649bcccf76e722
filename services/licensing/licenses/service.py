"""Licenses (rule 4), validation (rule 5), product key registration (rule 6).

A license's expiry is a Moscow calendar date: valid through the end of that day. Between the
day passing and the sweep running, reads and validation already answer `expired`; the sweep
stores it and publishes `licensing.license.lapsed`, once per license (the lapse time is
recorded under a row condition, so neither a second sweeper nor a later revocation repeats it).
"""

import uuid
from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.access import Viewer
from services.licensing.licenses.activation_code import normalize
from services.licensing.licenses.repository import LicenseRepository
from services.licensing.licenses.schemas import (
    ValidatedLicense,
    ValidationRequest,
    ValidationResult,
)
from services.licensing.models import License, SupportCertificate
from services.licensing.partners.service import partner_service
from services.licensing.support.service import support_service
from shared.bus.outbox import Outbox
from shared.clock import Clock, business_date
from shared.events.licensing import (
    LicenseIssued,
    LicenseLapsed,
    LicenseReinstated,
    LicenseRenewed,
    LicenseSuspended,
)
from shared.pagination import PageParams
from shared.problems import Conflict, InvalidInput, NotFound

SWEEP_BATCH = 500
LICENSE_NOT_FOUND = "No such license"


def status_on(license_: License, today: date) -> str:
    """The status as of `today` (Moscow): an active license whose last day passed is expired."""
    expiry = license_.expires_at
    if license_.status == "active" and expiry is not None and expiry < today:
        return "expired"
    return license_.status


class LicenseService:
    async def list_for(
        self, session: AsyncSession, viewer: Viewer, params: PageParams
    ) -> tuple[list[License], str | None]:
        return await LicenseRepository(session).page_for(viewer, params)

    async def get_for(
        self, session: AsyncSession, viewer: Viewer, license_id: uuid.UUID, *, lock: bool = False
    ) -> License:
        license_ = await LicenseRepository(session).get(license_id, for_update=lock)
        if license_ is None or not viewer.may_see(license_.organization_id, license_.partner_id):
            raise NotFound(LICENSE_NOT_FOUND)
        return license_

    async def validate(
        self, session: AsyncSession, clock: Clock, asked: ValidationRequest
    ) -> ValidationResult:
        """Rule 5: what installed software learns of a code (and the key it runs with)."""
        code = normalize(asked.activation_code)
        if code is None:
            return ValidationResult(valid=False, code="MALFORMED", license=None)
        license_ = await LicenseRepository(session).by_code(code)
        if license_ is None:
            return ValidationResult(valid=False, code="NOT_FOUND", license=None)
        status = status_on(license_, business_date(clock.now()))
        seen = ValidatedLicense(
            product_code=license_.product.code,
            product_name=license_.product.name,
            edition=license_.edition,
            seats=license_.seats,
            status=status,
            expires_at=license_.expires_at,
        )
        if status != "active":
            verdict = {"suspended": "SUSPENDED", "expired": "EXPIRED", "revoked": "REVOKED"}
            return ValidationResult(valid=False, code=verdict[status], license=seen)
        if license_.key_serial is not None and asked.key_serial != license_.key_serial:
            return ValidationResult(valid=False, code="KEY_MISMATCH", license=seen)
        return ValidationResult(valid=True, code="VALID", license=seen)

    async def register(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        organization_id: uuid.UUID,
        typed_code: str,
    ) -> tuple[License, SupportCertificate]:
        """Rule 6: the license becomes the organization's and starts free support, once."""
        code = normalize(typed_code)
        if code is None:
            raise InvalidInput("activation_code", "is not an activation code (mistyped?)")
        license_ = await LicenseRepository(session).by_code(code, for_update=True)
        if license_ is None:
            raise NotFound("No license has this activation code")
        if license_.organization_id not in (None, organization_id):
            raise Conflict("The activation code is registered to another organization")
        if license_.registered_at is not None:
            raise Conflict("The activation code is registered already")
        license_.registered_at = clock.now()
        if license_.organization_id is None:
            await self.issue(session, clock, outbox, license_, organization_id)
        certificate = await support_service.start_free(
            session, clock, outbox, license_, organization_id
        )
        return license_, certificate

    async def issue(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        license_: License,
        organization_id: uuid.UUID,
    ) -> None:
        """The license becomes the organization's: `licensing.license.issued`."""
        license_.organization_id = organization_id
        await session.flush()
        await partner_service.link(
            session,
            outbox,
            license_.partner_id,
            organization_id,
            "license",
            license_.id,
            clock.now(),
        )
        status = status_on(license_, business_date(clock.now()))
        await outbox.add(
            session,
            LicenseIssued(
                license_id=license_.id,
                organization_id=organization_id,
                contract_id=license_.contract_id,
                product_code=license_.product.code,
                product_name=license_.product.name,
                edition=license_.edition,
                seats=license_.seats,
                protection=license_.product.protection_kind,
                key_serial=license_.key_serial,
                status=status,
                starts_at=license_.starts_at,
                expires_at=license_.expires_at,
            ),
        )
        if status == "expired":
            await self._lapse(session, clock, outbox, license_, "expired")

    async def renew(
        self, session: AsyncSession, clock: Clock, outbox: Outbox, license_: License, months: int
    ) -> License:
        """From the old expiry while active, from today once expired (rule 4)."""
        today = business_date(clock.now())
        status = status_on(license_, today)
        if license_.expires_at is None:
            raise Conflict("A perpetual license has nothing to renew")
        if status in ("revoked", "suspended"):
            raise Conflict(f"A {status} license cannot be renewed")
        previous = license_.expires_at
        try:
            if status == "active":
                license_.expires_at = previous + relativedelta(months=months)
            else:
                license_.expires_at = today + relativedelta(months=months) - relativedelta(days=1)
        except (ValueError, OverflowError) as error:
            raise InvalidInput("months", "takes the expiry past the end of the calendar") from error
        license_.status = "active"
        # A renewed license may lapse again later: that is a new lapse, published again.
        license_.lapsed_at = None
        await session.flush()
        if license_.organization_id is not None:
            await outbox.add(
                session,
                LicenseRenewed(
                    **self._state(license_),
                    status="active",
                    previous_expires_at=previous,
                ),
            )
        return license_

    async def suspend(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        license_: License,
        reason: str | None,
    ) -> License:
        status = status_on(license_, business_date(clock.now()))
        if status != "active":
            raise Conflict(f"Only an active license can be suspended; this one is {status}")
        license_.status = "suspended"
        await session.flush()
        if license_.organization_id is not None:
            await outbox.add(
                session,
                LicenseSuspended(**self._state(license_), status="suspended", reason=reason),
            )
        return license_

    async def reinstate(
        self, session: AsyncSession, clock: Clock, outbox: Outbox, license_: License
    ) -> License:
        if license_.status != "suspended":
            raise Conflict(
                f"Only a suspended license can be reinstated; this one is {license_.status}"
            )
        license_.status = "active"
        status = status_on(license_, business_date(clock.now()))
        license_.status = status
        license_.suspended_for_loss = None
        await session.flush()
        if license_.organization_id is not None:
            await outbox.add(
                session,
                LicenseReinstated(**self._state(license_), status=status),
            )
        if status == "expired":
            await self._lapse(session, clock, outbox, license_, "expired")
        return license_

    async def revoke(
        self, session: AsyncSession, clock: Clock, outbox: Outbox, license_: License
    ) -> License:
        if license_.status == "revoked":
            raise Conflict("The license is revoked already")
        license_.status = "revoked"
        await session.flush()
        await self._lapse(session, clock, outbox, license_, "revoked")
        return license_

    async def suspend_for_loss(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        license_: License,
        report_id: uuid.UUID,
    ) -> bool:
        """The license's key was lost and its last update file ran out: an active license is
        suspended, marked with the loss so that restoring it lifts this suspension only. One
        that is suspended, expired or revoked already is left as it is (False)."""
        if status_on(license_, business_date(clock.now())) != "active":
            return False
        reason = f"The protection key {license_.key_serial} was reported lost or stolen"
        await self.suspend(session, clock, outbox, license_, reason)
        license_.suspended_for_loss = report_id
        await session.flush()
        return True

    async def rebind(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        license_: License,
        new_serial: str,
        report_id: uuid.UUID,
    ) -> None:
        """The license moved onto the key that replaced its lost one. The loss's suspension is
        lifted (`licensing.license.reinstated`); any other state stays, and the license is
        announced on its new key (`licensing.license.issued`) so that dongle carries it there."""
        license_.key_serial = new_serial
        if license_.status == "suspended" and license_.suspended_for_loss == report_id:
            await self.reinstate(session, clock, outbox, license_)
        elif license_.organization_id is not None:
            await self.issue(session, clock, outbox, license_, license_.organization_id)
        else:
            await session.flush()

    async def sweep_expired(self, session: AsyncSession, clock: Clock, outbox: Outbox) -> int:
        """Rule 11: licenses whose last day passed become expired and lapse, once each."""
        expired = await LicenseRepository(session).expire_passed(
            business_date(clock.now()), SWEEP_BATCH
        )
        for license_ in expired:
            await self._lapse(session, clock, outbox, license_, "expired")
        return len(expired)

    async def _lapse(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        license_: License,
        reason: str,
    ) -> None:
        if license_.organization_id is None:
            return  # nobody holds it yet: its `issued` event will carry the status
        if not await LicenseRepository(session).mark_lapsed(license_.id, clock.now()):
            return
        await outbox.add(
            session,
            LicenseLapsed(**self._state(license_), reason=reason, status=reason),
        )

    @staticmethod
    def _state(license_: License) -> dict[str, object]:
        return {
            "license_id": license_.id,
            "organization_id": license_.organization_id,
            "product_code": license_.product.code,
            "key_serial": license_.key_serial,
            "expires_at": license_.expires_at,
        }


license_service = LicenseService()
