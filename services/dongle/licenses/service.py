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
        stored = await licenses.store(
            state.license_id,
            serial=state.key_serial,
            organization_id=state.organization_id,
            product_code=state.product_code,
            status=state.status,
            expires_at=state.expires_at,
            applied_at=occurred_at,
        )
        if stored is None:
            return None
        previous_key_id, key_id = stored
        if state.key_serial is not None and key_id is None:
            # A serial met for the first time: the key is registered, and the license put on it.
            key = await key_service.key_for_license(
                session,
                clock,
                state.key_serial,
                self._key_kind(state),
                state.organization_id,
            )
            key_id = key.id
            await licenses.put_on_key(state.license_id, key_id)
        return LicenseChange(previous_key_id, key_id)

    def _key_kind(self, state: LicenseState) -> str:
        # A key first met in an event: the product's protection tells a CodeMeter key; without
        # it, a CodeMeter-shaped serial does.
        if state.protection == "codemeter" or CODEMETER_SERIAL.fullmatch(state.key_serial or ""):
            return "codemeter"
        return "unknown"


license_service = LicenseService()
