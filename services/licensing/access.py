"""Whose data a caller sees: staff everything, a customer its organization's, a partner's API key
also what it imported for its customers; everything else is a 404, never a 403 that tells."""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from shared.auth import CurrentPrincipal, Principal, require_scope
from shared.problems import Forbidden


@dataclass(frozen=True)
class Viewer:
    staff: bool
    organization_id: uuid.UUID | None
    # An API key's organization: the partner, who also sees what it imported.
    partner_id: uuid.UUID | None

    def sees(
        self,
        organization: InstrumentedAttribute[uuid.UUID | None],
        partner: InstrumentedAttribute[uuid.UUID | None] | None = None,
    ) -> ColumnElement[bool]:
        """The condition on a row's owning organization (and importing partner)."""
        if self.staff:
            return true()
        conditions: list[ColumnElement[bool]] = []
        if self.organization_id is not None:
            conditions.append(organization == self.organization_id)
        if self.partner_id is not None and partner is not None:
            conditions.append(partner == self.partner_id)
        return or_(*conditions) if conditions else false()

    def may_see(self, organization_id: uuid.UUID | None, partner_id: uuid.UUID | None) -> bool:
        if self.staff:
            return True
        return (organization_id is not None and organization_id == self.organization_id) or (
            partner_id is not None and partner_id == self.partner_id
        )


def viewer_of(principal: Principal, *, accountant: bool = False) -> Viewer:
    """Who `principal` is as a reader; an accountant only where `accountant` allows it."""
    if principal.kind == "accountant" and not accountant:
        raise Forbidden("An accountant session sees financial documents only")
    partner = principal.organization_id if principal.kind == "api_key" else None
    return Viewer(principal.is_staff, principal.organization_id, partner)


def manager_of(principal: Principal) -> Viewer:
    """Who may change a license or certificate: an admin any, a partner its customers'."""
    if principal.has_role("admin"):
        return Viewer(True, None, None)
    if principal.kind == "api_key" and principal.organization_id is not None:
        return Viewer(False, None, principal.organization_id)
    raise Forbidden("This needs an admin, or a partner's API key")


# A reader: people by their roles and organization, an API key only with the `read` scope.
ReaderPrincipal = Annotated[Principal, Depends(require_scope("read"))]


async def contact_person(principal: CurrentPrincipal) -> Principal:
    """A person of a customer organization (not an accountant session, not an API key)."""
    if principal.kind != "user" or principal.organization_id is None or principal.user_id is None:
        raise Forbidden("This is for a contact person of an organization")
    return principal


ContactPrincipal = Annotated[Principal, Depends(contact_person)]
