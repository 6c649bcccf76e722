"""Who may see an organization and its change requests, and who may ask for a change."""

import uuid
from dataclasses import dataclass

from services.identity.models import User
from shared.auth import Principal
from shared.problems import Forbidden

RESPONSIBLE_ROLE = "responsible"


def is_responsible(user: User) -> bool:
    """The first contact of a new organization is its responsible person (rule 5)."""
    return RESPONSIBLE_ROLE in user.roles


@dataclass(frozen=True)
class ContactCaller:
    """A signed-in contact person: the only caller who may ask for a data change."""

    user_id: uuid.UUID
    organization_id: uuid.UUID


def may_see_organization(principal: Principal, organization_id: uuid.UUID) -> bool:
    """Its contacts and vendor staff; an accountant or an API key sees no organization record."""
    return principal.kind == "user" and principal.may_see_organization(organization_id)


def sees_every_organization(principal: Principal) -> bool:
    return principal.kind == "user" and principal.is_staff


def contact_caller(principal: Principal) -> ContactCaller:
    if (
        principal.kind != "user"
        or principal.is_staff
        or principal.user_id is None
        or principal.organization_id is None
    ):
        raise Forbidden("Only a contact person of an organization can ask to change its data")
    return ContactCaller(principal.user_id, principal.organization_id)
