"""Rule 1: protection keys — imported by an admin or a partner (for itself or a customer
licensing linked to it), or met in a license event — seen by their organization and by staff.

A key of another organization is answered like a key that does not exist (404), so a serial
tells a customer nothing about keys that are not its own.
"""

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.keys.auth import KeyViewer, key_contact
from services.dongle.keys.repository import KeyRepository
from services.dongle.keys.schemas import KeyImport, KeyRead
from services.dongle.maintenance.repository import MaintenanceRepository
from services.dongle.models import ProtectionKey, partner_customers
from shared.auth import Principal
from shared.clock import Clock
from shared.db import duplicate_refused
from shared.pagination import PageParams
from shared.problems import Conflict, InvalidInput, NotFound

# A CodeMeter serial is the mask, a dash, and the number: `3-1234567`.
CODEMETER_SERIAL = re.compile(r"\d{1,3}-\d{1,10}")
DUPLICATE_SERIAL = "A key with this serial has been imported already"
NO_SUCH_KEY = "No such key"


class KeyService:
    async def import_key(
        self, session: AsyncSession, clock: Clock, caller: Principal, asked: KeyImport
    ) -> KeyRead:
        if asked.kind == "codemeter" and not CODEMETER_SERIAL.fullmatch(asked.serial):
            raise InvalidInput("serial", "a CodeMeter serial reads like 3-1234567")
        keys = KeyRepository(session)
        # A partner imports keys for itself and its customers only; any other organization
        # reads like one that does not exist.
        partner_id = caller.organization_id if caller.kind == "api_key" else None
        organization_id = asked.organization_id
        if (
            partner_id is not None
            and organization_id not in (None, partner_id)
            and not await partner_customers.is_customer(session, partner_id, organization_id)
        ):
            raise InvalidInput("organization_id", "no customer organization with this id is known")
        if organization_id is None and asked.organization_inn is not None:
            found = await keys.organizations_with_inn(asked.organization_inn, partner_id)
            if not found:
                raise InvalidInput("organization_inn", "no registered organization has this INN")
            if len(found) > 1:
                # Subdivisions share their organization's INN: only the id tells them apart.
                raise InvalidInput(
                    "organization_inn", "several organizations have this INN; give organization_id"
                )
            organization_id = found[0]
        assert organization_id is not None  # KeyImport asks for one of the two
        if await keys.with_serial(asked.serial) is not None:
            raise Conflict(DUPLICATE_SERIAL)
        key = ProtectionKey(
            serial=asked.serial,
            kind=asked.kind,
            organization_id=organization_id,
            status="active",
            maintenance_ends_at=None,
            created_at=clock.now(),
            created_by=caller.user_id,
            update_sequence=0,
        )
        # Two imports of one serial at once: the unique index decides.
        async with duplicate_refused(session, Conflict(DUPLICATE_SERIAL)):
            await keys.add(key)
        await MaintenanceRepository(session).refresh_keys([key.serial])
        await session.refresh(key)
        return await self.view(session, key)

    async def key_for_license(
        self,
        session: AsyncSession,
        clock: Clock,
        serial: str,
        kind: str,
        organization_id: uuid.UUID,
    ) -> ProtectionKey:
        """The key a license event names, registered on first sight (rule 1)."""
        keys = KeyRepository(session)
        key = await keys.with_serial(serial)
        if key is not None:
            return key
        key = ProtectionKey(
            serial=serial,
            kind=kind,
            organization_id=organization_id,
            status="active",
            created_at=clock.now(),
            created_by=None,
            update_sequence=0,
        )
        await keys.add(key)
        await MaintenanceRepository(session).refresh_keys([serial])
        await session.refresh(key)
        return key

    async def list_keys(
        self,
        session: AsyncSession,
        viewer: KeyViewer,
        params: PageParams,
        organization_id: uuid.UUID | None,
    ) -> tuple[list[KeyRead], str | None]:
        """Staff: every key, or one organization's; a contact: its own organization's only
        (asking for another organization's finds nothing)."""
        if viewer.organization_id is None:
            organization_ids = None if organization_id is None else [organization_id]
        elif organization_id in (None, viewer.organization_id):
            organization_ids = [viewer.organization_id]
        else:
            organization_ids = []
        repository = KeyRepository(session)
        keys, next_cursor = await repository.page(params, organization_ids=organization_ids)
        return await self.views(session, keys), next_cursor

    async def visible_key(
        self, session: AsyncSession, viewer: KeyViewer, serial: str, *, for_update: bool = False
    ) -> ProtectionKey:
        """The key, if the viewer may see it; otherwise the same 404 as a missing one."""
        key = await KeyRepository(session).with_serial(serial, for_update=for_update)
        if key is None or not viewer.may_see(key.organization_id):
            raise NotFound(NO_SUCH_KEY)
        return key

    async def contact_key(
        self, session: AsyncSession, principal: Principal, serial: str
    ) -> ProtectionKey:
        """The key a contact acts on (connects, refuses, reports lost), locked: only a contact
        of its organization; another organization's is the same 404 as a missing one."""
        return await self.visible_key(session, key_contact(principal), serial, for_update=True)

    async def get_key(self, session: AsyncSession, viewer: KeyViewer, serial: str) -> KeyRead:
        return await self.view(session, await self.visible_key(session, viewer, serial))

    async def view(self, session: AsyncSession, key: ProtectionKey) -> KeyRead:
        [read] = await self.views(session, [key])
        return read

    async def views(self, session: AsyncSession, keys: list[ProtectionKey]) -> list[KeyRead]:
        repository = KeyRepository(session)
        ids = [key.id for key in keys]
        licenses = await repository.licenses_by_key(ids)
        subscriptions = await repository.shown_subscriptions(ids)
        return [
            KeyRead.of(key, licenses.get(key.id, []), subscriptions.get(key.id)) for key in keys
        ]


key_service = KeyService()
