"""Who sees which protection keys: contacts their organization's, staff every key."""

import uuid
from dataclasses import dataclass

from shared.auth import Principal
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
    # An accountant sees only money documents; a partner's view of its customers' keys
    # needs the partner-customer link licensing does not publish yet.
    raise Forbidden("Protection keys are shown to the organization's contacts and to staff")
