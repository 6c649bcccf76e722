"""The licenses on each key, kept as licensing last described them (rule 1).

Every license event carries the license's whole current state, so applying one means
overwriting the row — unless the row already holds a newer event (`applied_at` is the
`occurred_at` of the newest applied), which makes a late, older event a no-op.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.keys.service import CODEMETER_SERIAL, key_service
from services.dongle.licenses.repository import LicenseRepository
from services.dongle.models import KeyLicense
from shared.clock import Clock


@dataclass(frozen=True)
class LicenseState:
    """A license as one of licensing's events describes it."""

    license_id: uuid.UUID
    organization_id: uuid.UUID
    product_code: str
    key_serial: str | None
    status: str
    expires_at: date | None
    # The product's protection kind, when the event tells it (`licensing.license.issued`).
    protection: str | None = None


@dataclass(frozen=True)
class LicenseChange:
    """What applying an event changed: the key it was on before, and the one it is on now."""

    previous_key_id: uuid.UUID | None
    key_id: uuid.UUID | None


class LicenseService:
    async def apply(
        self, session: AsyncSession, clock: Clock, state: LicenseState, occurred_at: datetime
    ) -> LicenseChange | None:
        """Stores the license's state; None when a newer event was applied already."""
        licenses = LicenseRepository(session)
        license_, serial_now = await licenses.with_id(state.license_id)
        if license_ is not None and license_.applied_at >= occurred_at:
            return None
        key_id = None
        if license_ is not None and state.key_serial is not None and serial_now == state.key_serial:
            key_id = license_.key_id  # still on the same key
        elif state.key_serial is not None:
            key = await key_service.key_for_license(
                session,
                clock,
                state.key_serial,
                self._key_kind(state),
                state.organization_id,
            )
            key_id = key.id
        previous_key_id = None if license_ is None else license_.key_id
        if license_ is None:
            license_ = KeyLicense(id=state.license_id)
            session.add(license_)
        license_.key_id = key_id
        license_.organization_id = state.organization_id
        license_.product_code = state.product_code
        license_.status = state.status
        license_.expires_at = state.expires_at
        license_.applied_at = occurred_at
        await session.flush()
        return LicenseChange(previous_key_id, key_id)

    def _key_kind(self, state: LicenseState) -> str:
        # A key first met in an event: the product's protection tells a CodeMeter key; without
        # it, a CodeMeter-shaped serial does.
        if state.protection == "codemeter" or CODEMETER_SERIAL.fullmatch(state.key_serial or ""):
            return "codemeter"
        return "unknown"


license_service = LicenseService()
