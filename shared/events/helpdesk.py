"""Events helpdesk publishes: support renewal requests and ticket status changes."""

from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from shared.events.common import DocumentNumber, Event, Service, TicketNumber, UtcDateTime

TicketStatus = Literal["new", "in_progress", "waiting_for_customer", "solution_proposed", "closed"]
"""A ticket's status (rule 5 of helpdesk; reopening puts a ticket back to `in_progress`)."""

CloseReason = Literal["accepted", "auto", "agent"]
"""Why a ticket closed: the customer accepted the solution, auto-close, or an agent closed it."""


class RenewalRequested(Event):
    """A `support_renewal` ticket asks to renew paid support by an act number.

    A request (`*.requested`): consumed by licensing, which applies rule 8 and answers with
    `licensing.support.renewed` or `licensing.renewal.rejected` whose reference is
    `{service: helpdesk, kind: ticket, id: ticket_id}`.
    """

    event_type: ClassVar[str] = "helpdesk.renewal.requested"
    consumers: ClassVar[tuple[Service, ...]] = ("licensing",)

    ticket_id: UUID = Field(description="The ticket's id in helpdesk; the answer's reference.")
    ticket_number: TicketNumber = Field(description="The ticket number, e.g. `HD-1042`.")
    organization_id: UUID = Field(description="The organization asking.")
    act_number: DocumentNumber = Field(description="The act of services given for the renewal.")
    requested_by: UUID = Field(description="The user who wrote the ticket.")
    requested_at: UtcDateTime = Field(
        description="When the act number was given; renewed support runs from this moment."
    )


class TicketStatusChanged(Event):
    """A ticket's status changed (by an agent, the customer or auto-close).

    Consumed by helpdesk's notifier (e-mails the author, rule 8) and by reporting. On the wire
    the old and new statuses are `from` and `to`.
    """

    model_config = ConfigDict(
        serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )

    event_type: ClassVar[str] = "helpdesk.ticket.status_changed"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk",)

    ticket_id: UUID = Field(description="The ticket's id in helpdesk.")
    number: TicketNumber = Field(description="The ticket number, e.g. `HD-1042`.")
    organization_id: UUID = Field(description="The organization the ticket belongs to.")
    author_id: UUID = Field(description="The user who opened the ticket (is notified).")
    from_status: TicketStatus = Field(alias="from", description="The status before the change.")
    to_status: TicketStatus = Field(alias="to", description="The status after the change.")
    changed_by: UUID | None = Field(
        default=None, description="The user who changed it; null for the system (auto-close)."
    )
    close_reason: CloseReason | None = Field(
        default=None, description="Why it closed, when `to` is `closed`; null otherwise."
    )

    @model_validator(mode="after")
    def _close_reason_only_when_closed(self) -> Self:
        if self.from_status == self.to_status:
            raise ValueError("from and to must differ")
        if (self.to_status == "closed") != (self.close_reason is not None):
            raise ValueError("close_reason is given exactly when the ticket is closed")
        return self
