"""Who may do what with a ticket: customers their organization's, partners the tickets they
opened, staff all; anything else is a 404 that does not reveal the ticket exists."""

import uuid
from dataclasses import dataclass
from typing import Literal

from services.helpdesk.models import Ticket
from shared.auth import Principal
from shared.problems import Forbidden, NotFound

ActorKind = Literal["customer", "partner", "agent"]
CUSTOMER_ROLES = ("contact", "responsible")


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: uuid.UUID
    organization_id: uuid.UUID | None

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"

    def may_see(self, ticket: Ticket) -> bool:
        if self.kind == "agent":
            return True
        if self.kind == "partner":
            return self.organization_id in (
                ticket.organization_id,
                ticket.partner_organization_id,
            )
        return ticket.organization_id == self.organization_id


def ticket_actor(principal: Principal) -> Actor:
    """The caller as tickets know it; accountants and callers without an organization: 403."""
    if principal.is_staff and principal.user_id is not None:
        return Actor("agent", principal.user_id, None)
    if principal.kind == "api_key" and principal.organization_id and principal.api_key_id:
        return Actor("partner", principal.api_key_id, principal.organization_id)
    if (
        principal.kind == "user"
        and principal.user_id is not None
        and principal.organization_id is not None
        and principal.has_role(*CUSTOMER_ROLES)
    ):
        return Actor("customer", principal.user_id, principal.organization_id)
    raise Forbidden("Tickets are for contact persons, partners and support staff")


def visible(ticket: Ticket | None, actor: Actor) -> Ticket:
    if ticket is None or not actor.may_see(ticket):
        raise NotFound("No such ticket")
    return ticket


def require_agent(actor: Actor) -> None:
    if not actor.is_agent:
        raise Forbidden("Only support staff may do this")
