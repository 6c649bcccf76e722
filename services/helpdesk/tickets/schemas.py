"""Tickets as clients send and read them (spec 40, "Shapes clients rely on")."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Category = Literal["question", "incident", "remote_session", "support_renewal", "other"]
Tier = Literal["partner", "paid", "free", "none"]
Priority = Literal["high", "normal", "low", "lowest"]
Status = Literal["new", "in_progress", "waiting_for_customer", "solution_proposed", "closed"]
StatusAsked = Literal[
    "in_progress", "waiting_for_customer", "solution_proposed", "closed", "reopened"
]
CloseReason = Literal["accepted", "auto", "agent"]
MessageKind = Literal["reply", "note", "system"]
AuthorRole = Literal["customer", "partner", "agent", "system"]


def _one_line(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(value.split())
    return cleaned or None


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=20000)
    product_code: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    product_version: str | None = Field(default=None, max_length=64)
    os: str | None = Field(default=None, max_length=100)
    category: Category
    certificate_number: str | None = Field(default=None, min_length=1, max_length=64)
    act_number: str | None = Field(
        default=None, min_length=1, max_length=64, description="Only for `support_renewal`."
    )
    organization_id: uuid.UUID | None = Field(
        default=None, description="A partner opening the ticket for its customer names it."
    )
    suggestion_id: uuid.UUID | None = Field(
        default=None, description="The knowledge-base suggestion shown while it was written."
    )

    @field_validator("subject", "product_version", "os", "certificate_number", "act_number")
    @classmethod
    def _trimmed(cls, value: str | None) -> str | None:
        return _one_line(value)

    @field_validator("description")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: StatusAsked
    reason: str | None = Field(
        default=None, max_length=5000, description="Posted into the thread as a public reply."
    )


class AssignmentAsked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee_id: uuid.UUID | None = Field(
        default=None, description="The agent to assign; the caller when omitted."
    )


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=20000)
    internal: bool = Field(default=False, description="An internal note: staff only.")
    attachments: list[uuid.UUID] = Field(
        default_factory=list, max_length=20, description="Ids of attachments uploaded before."
    )

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class RemoteSessionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "declined"]
    reason: str | None = Field(default=None, max_length=1000)


class AuthorRead(BaseModel):
    id: uuid.UUID | None
    name: str
    role: AuthorRole


class MessageRead(BaseModel):
    id: uuid.UUID
    kind: MessageKind
    author: AuthorRead
    body: str
    attachments: list[uuid.UUID] = []
    created_at: datetime


class AttachmentRead(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    message_id: uuid.UUID | None
    created_at: datetime


class ProtectionRead(BaseModel):
    """A key protection subscription of the ticket's organization, as dongle last stated it."""

    key_serial: str
    status: Literal["active", "lapsed", "cancelled"]
    reason: str = Field(
        description="Why it is in this state: `payment_received`, `maintenance_ended`, "
        "`maintenance_renewed`, `customer_refused`, `license_lapsed`, `maintenance_not_renewed`."
    )
    resumable_until: datetime | None = Field(
        description="A lapsed subscription resumes by itself if maintenance is renewed by then."
    )
    changed_at: datetime


class RemoteSessionRead(BaseModel):
    decision: Literal["approved", "declined"] | None
    reason: str | None
    decided_at: datetime | None


class TicketRead(BaseModel):
    id: uuid.UUID
    number: str = Field(examples=["HD-1042"])
    subject: str
    description: str
    product_code: str
    product_version: str | None
    os: str | None
    category: Category
    certificate_number: str | None
    act_number: str | None
    tier: Tier
    priority: Priority
    status: Status
    close_reason: CloseReason | None
    organization_id: uuid.UUID
    organization_name: str | None = Field(
        description="The organization's short name as identity announced it; null until "
        "helpdesk has heard of the organization."
    )
    author: AuthorRead
    assignee_id: uuid.UUID | None
    first_response_due_at: datetime | None = Field(
        description="Deadline of the first agent response; null without a certificate, and "
        "while the ticket waits for the customer before one (the SLA clock stops)."
    )
    first_responded_at: datetime | None
    breached: bool = Field(description="The deadline passed without an agent response.")
    remote_session: RemoteSessionRead | None
    created_at: datetime
    status_changed_at: datetime
    closed_at: datetime | None


class TicketDetail(TicketRead):
    messages: list[MessageRead] = Field(description="The thread; internal notes only for staff.")
    attachments: list[AttachmentRead]
    protection: list[ProtectionRead] | None = Field(
        description="Staff only (null for others): the organization's key protection "
        "subscriptions, from dongle's events."
    )


class TicketPage(BaseModel):
    items: list[TicketRead]
    next_cursor: str | None = None
