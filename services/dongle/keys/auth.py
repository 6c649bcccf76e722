"""Who may do what with protection keys: contacts their organization's, staff every key."""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from shared.auth import Principal, require_scope
from shared.problems import Forbidden


@dataclass(frozen=True)
class KeyViewer:
    """The keys a caller may see: one organization's, or (staff) all of them."""

    organization_id: uuid.UUID | None

    @property
    def sees_every_key(self) -> bool:
        return self.organization_id is None

    def may_see(self, organization_id: uuid.UUID) -> bool:
        return self.sees_every_key or self.organization_id == organization_id


def key_viewer(principal: Principal) -> KeyViewer:
    if principal.kind == "user" and principal.is_staff:
        return KeyViewer(None)
    if principal.kind == "user" and principal.organization_id is not None:
        return KeyViewer(principal.organization_id)
    # An accountant sees only money documents. A partner's key imports keys for its customers
    # (`_key_importer`) but reads none: no endpoint here declares the `read` scope yet.
    raise Forbidden("Protection keys are shown to the organization's contacts and to staff")


def key_contact(principal: Principal) -> KeyViewer:
    """A contact acting on its organization's keys (connect, refuse, report a loss)."""
    if principal.kind == "user" and not principal.is_staff and principal.organization_id:
        return KeyViewer(principal.organization_id)
    raise Forbidden("Only a contact of the key's organization does this")


def contact_or_admin(principal: Principal) -> KeyViewer:
    if principal.kind == "user" and principal.has_role("admin"):
        return KeyViewer(None)
    return key_contact(principal)


async def _key_importer(
    principal: Annotated[Principal, Depends(require_scope("licenses:write"))],
) -> Principal:
    if principal.kind == "api_key" or principal.has_role("admin"):
        return principal
    raise Forbidden("Keys are imported by an admin, or with an API key that has licenses:write")


KeyImporter = Annotated[Principal, Depends(_key_importer)]
