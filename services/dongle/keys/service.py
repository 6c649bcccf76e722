"""Rule 1: protection keys, imported by an admin, seen by their organization and by staff.

A key of another organization is answered like a key that does not exist (404), so a serial
tells a customer nothing about keys that are not its own.
"""

import re
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.keys.auth import KeyViewer
from services.dongle.keys.repository import KeyRepository
from services.dongle.keys.schemas import KeyImport
from services.dongle.models import ProtectionKey
from shared.auth import Principal
from shared.clock import Clock
from shared.pagination import PageParams
from shared.problems import Conflict, InvalidInput, NotFound

# A CodeMeter serial is the mask, a dash, and the number: `3-1234567`.
CODEMETER_SERIAL = re.compile(r"\d{1,3}-\d{1,10}")
DUPLICATE_SERIAL = "A key with this serial has been imported already"
NO_SUCH_KEY = "No such key"


class KeyService:
    async def import_key(
        self, session: AsyncSession, clock: Clock, admin: Principal, asked: KeyImport
    ) -> ProtectionKey:
        if asked.kind == "codemeter" and not CODEMETER_SERIAL.fullmatch(asked.serial):
            raise InvalidInput("serial", "a CodeMeter serial reads like 3-1234567")
        keys = KeyRepository(session)
        if await keys.with_serial(asked.serial) is not None:
            raise Conflict(DUPLICATE_SERIAL)
        key = ProtectionKey(
            serial=asked.serial,
            kind=asked.kind,
            organization_id=asked.organization_id,
            status="active",
            maintenance_ends_at=None,
            created_at=clock.now(),
            created_by=admin.user_id,
        )
        try:
            return await keys.add(key)
        except IntegrityError as error:
            # Two imports of one serial at once: the unique index decides.
            raise Conflict(DUPLICATE_SERIAL) from error

    async def list_keys(
        self,
        session: AsyncSession,
        viewer: KeyViewer,
        params: PageParams,
        organization_id: uuid.UUID | None,
    ) -> tuple[list[ProtectionKey], str | None]:
        """Staff: every key, or one organization's; a contact: its own organization's only
        (asking for another organization's finds nothing)."""
        if viewer.organization_id is None:
            organization_ids = None if organization_id is None else [organization_id]
        elif organization_id in (None, viewer.organization_id):
            organization_ids = [viewer.organization_id]
        else:
            organization_ids = []
        return await KeyRepository(session).page(params, organization_ids=organization_ids)

    async def get_key(self, session: AsyncSession, viewer: KeyViewer, serial: str) -> ProtectionKey:
        key = await KeyRepository(session).with_serial(serial)
        if key is None or not viewer.may_see(key.organization_id):
            raise NotFound(NO_SUCH_KEY)
        return key


key_service = KeyService()
