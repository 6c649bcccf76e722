"""helpdesk's tables, all in the `helpdesk` PostgreSQL schema."""

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    Identity,
    Index,
    Interval,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import schema_metadata
from shared.partners import PartnerCustomers
from shared.tables import Timestamp, platform_tables

SCHEMA = "helpdesk"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


bus, idempotency = platform_tables(Base.metadata)
# licensing's partner ↔ customer links: the organizations a partner opens tickets for.
partner_customers = PartnerCustomers(Base.metadata)


class CalendarDay(Base):
    """One day of the production calendar (rule 1): seeded from the official calendar, or set
    by an admin. A day without a row is read from the official calendar."""

    __tablename__ = "calendar_days"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'working' AND hours = 9) OR (kind = 'holiday' AND hours = 0) "
            "OR (kind = 'shortened' AND hours BETWEEN 1 AND 8)",
            name="hours_fit_kind",
        ),
        CheckConstraint("source IN ('official', 'admin')", name="source"),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # working | holiday | shortened
    hours: Mapped[int] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10))  # official | admin
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    # The admin's user id (identity's); none for a seeded day.
    updated_by: Mapped[uuid.UUID | None] = mapped_column()


class SupportCertificate(Base):
    """Helpdesk's read model of licensing's support certificates (rule 2), from
    `licensing.support.*` events only. `last_event_at` is the `occurred_at` of the newest event
    applied: an older one arriving late is ignored."""

    __tablename__ = "support_certificates"
    __table_args__ = (
        CheckConstraint("tier IN ('free', 'paid', 'partner')", name="tier"),
        CheckConstraint("status IN ('active', 'expired')", name="status"),
        Index(None, "organization_id"),
        Index(None, "number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(10))
    organization_id: Mapped[uuid.UUID] = mapped_column()
    products: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    key_serials: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    starts_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ends_at: Mapped[datetime | None] = mapped_column(Timestamp)
    status: Mapped[str] = mapped_column(String(10))
    last_event_at: Mapped[datetime] = mapped_column(Timestamp)


class Person(Base):
    """Helpdesk's read model of identity's users: author names and where notifications go."""

    __tablename__ = "people"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column()
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(300))
    last_event_at: Mapped[datetime] = mapped_column(Timestamp)


class Organization(Base):
    """Helpdesk's read model of identity's organizations: the name agents see on tickets."""

    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    last_event_at: Mapped[datetime] = mapped_column(Timestamp)


class ProtectionSubscription(Base):
    """Helpdesk's read model of dongle's key protection subscriptions, from their state
    changes: agents see an organization's on its tickets."""

    __tablename__ = "protection_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    key_serial: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(30))
    # A lapsed subscription resumes by itself if maintenance is renewed by then.
    resumable_until: Mapped[datetime | None] = mapped_column(Timestamp)
    last_event_at: Mapped[datetime] = mapped_column(Timestamp)


class Ticket(Base):
    """A support ticket (rule 4) with its first-response SLA (rule 2) and status (rule 5).

    The SLA clock: `sla_budget` is the working time left at `sla_started_at`; the deadline is
    `add_working_hours(sla_started_at, sla_budget)`, so a calendar change recomputes it, and a
    pause (waiting for the customer) ends with the clock restarted on what was left.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(
            "category IN ('question', 'incident', 'remote_session', 'support_renewal', 'other')",
            name="category",
        ),
        CheckConstraint("tier IN ('partner', 'paid', 'free', 'none')", name="tier"),
        CheckConstraint(
            "status IN ('new', 'in_progress', 'waiting_for_customer', 'solution_proposed', "
            "'closed')",
            name="status",
        ),
        CheckConstraint(
            "(status = 'closed') = (close_reason IS NOT NULL)", name="close_reason_when_closed"
        ),
        CheckConstraint("(tier = 'none') = (certificate_id IS NULL)", name="tier_has_certificate"),
        CheckConstraint(
            "remote_session_decision IS NULL OR remote_session_decision IN "
            "('approved', 'declined')",
            name="remote_session_decision",
        ),
        Index(None, "organization_id", "created_at"),
        Index(None, "tier_rank", "first_response_due_at", "seq"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The number's digits (`HD-` + seq): from a sequence, so two tickets never share one.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(start=1001), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    product_code: Mapped[str] = mapped_column(String(64))
    product_version: Mapped[str | None] = mapped_column(String(64))
    os: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(20))
    certificate_id: Mapped[uuid.UUID | None] = mapped_column()
    certificate_number: Mapped[str | None] = mapped_column(String(64))
    act_number: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(10))
    # The queue's order (rule 3): partner 0, paid 1, free 2, none 3.
    tier_rank: Mapped[int] = mapped_column(SmallInteger)
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(24))
    close_reason: Mapped[str | None] = mapped_column(String(10))
    organization_id: Mapped[uuid.UUID] = mapped_column()
    author_id: Mapped[uuid.UUID] = mapped_column()
    # A partner's organization when a partner opened it for its customer.
    partner_organization_id: Mapped[uuid.UUID | None] = mapped_column()
    assignee_id: Mapped[uuid.UUID | None] = mapped_column()
    suggestion_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    status_changed_at: Mapped[datetime] = mapped_column(Timestamp)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    first_response_due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    first_responded_at: Mapped[datetime | None] = mapped_column(Timestamp)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    sla_budget: Mapped[timedelta | None] = mapped_column(Interval)
    sla_started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    sla_paused_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Rule 5: when a ticket waiting for the customer closes by itself.
    auto_close_at: Mapped[datetime | None] = mapped_column(Timestamp, index=True)
    remote_session_decision: Mapped[str | None] = mapped_column(String(10))
    remote_session_reason: Mapped[str | None] = mapped_column(String(1000))
    remote_session_decided_by: Mapped[uuid.UUID | None] = mapped_column()
    remote_session_decided_at: Mapped[datetime | None] = mapped_column(Timestamp)

    @property
    def number(self) -> str:
        return f"HD-{self.seq}"


class TicketMessage(Base):
    """One entry of a ticket's thread: a public reply, an internal note (staff only) or a
    system message (e.g. licensing's answer to a renewal request)."""

    __tablename__ = "ticket_messages"
    __table_args__ = (
        CheckConstraint("kind IN ('reply', 'note', 'system')", name="kind"),
        CheckConstraint("author_role IN ('customer', 'partner', 'agent', 'system')", name="role"),
        Index(None, "ticket_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[uuid.UUID | None] = mapped_column()
    author_role: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class TicketAttachment(Base):
    """A screenshot or log on a ticket (rule 4): the bytes live in the attachments directory
    (`storage_key` under KABINET_ATTACHMENTS_DIR), the row only describes them."""

    __tablename__ = "ticket_attachments"
    __table_args__ = (
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("uploader_role IN ('customer', 'partner', 'agent')", name="role"),
        Index(None, "ticket_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    # Set when a message carries it; a note's attachment is staff-only like the note.
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ticket_messages.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    uploaded_by: Mapped[uuid.UUID] = mapped_column()
    uploader_role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


# Rule 9: title above tags above body in the ranking (weights A, B, C of the `russian` search).
KB_SEARCH_VECTOR = (
    "setweight(to_tsvector('russian', title), 'A') || "
    "setweight(to_tsvector('russian', keywords), 'B') || "
    "setweight(to_tsvector('russian', body), 'C')"
)

# The title and tags alone: small, so ranking every article they match stays cheap.
KB_TITLE_VECTOR = (
    "setweight(to_tsvector('russian', title), 'A') || "
    "setweight(to_tsvector('russian', keywords), 'B')"
)

NO_PENDING_LIST = {"fastupdate": "off"}


class KbArticle(Base):
    """A knowledge-base article (rule 9): Markdown body, products it concerns, tags, draft or
    published. `keywords` is the tags as text (a generated column cannot read an array)."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        # No pending list (migration 0010): searched on every keystroke, written rarely.
        Index(None, "search_vector", postgresql_using="gin", postgresql_with=NO_PENDING_LIST),
        Index(None, "title_vector", postgresql_using="gin", postgresql_with=NO_PENDING_LIST),
        Index(
            "ix_kb_articles_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "public.gin_trgm_ops"},
            postgresql_with=NO_PENDING_LIST,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # A shipped article's stable name, so loading the sample at every start adds it once.
    slug: Mapped[str | None] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    products: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    keywords: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed(KB_SEARCH_VECTOR, persisted=True), deferred=True
    )
    title_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed(KB_TITLE_VECTOR, persisted=True), deferred=True
    )


class KbFeedback(Base):
    """One "was this helpful?" answer: yes, or no with a reason (rule 9)."""

    __tablename__ = "kb_feedback"
    __table_args__ = (
        CheckConstraint(
            "(helpful AND reason IS NULL) OR (NOT helpful AND reason IN "
            "('not_relevant', 'unclear', 'outdated', 'incomplete', 'other'))",
            name="reason_when_not_helpful",
        ),
        Index(None, "article_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    helpful: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class KbSuggestion(Base):
    """Articles suggested while a ticket was being written (rule 9); `ticket_id` is set when a
    ticket was opened after it, so the share of writings that ended without one (deflection)
    can be reported."""

    __tablename__ = "kb_suggestions"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(Text)
    product_code: Mapped[str | None] = mapped_column(String(64))
    # Every article shown during this writing, in the order first shown.
    article_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)


class CallbackRequest(Base):
    """A visitor's request to be called back (rule 10), scheduled for support's next opening."""

    __tablename__ = "callback_requests"
    __table_args__ = (
        CheckConstraint("status IN ('scheduled', 'done')", name="status"),
        CheckConstraint("(status = 'done') = (done_at IS NOT NULL)", name="done_when_done"),
        Index(None, "status", "scheduled_for"),
        Index(None, "phone", "requested_at"),
        Index(None, "client_address", "requested_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    topic: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(10))
    requested_at: Mapped[datetime] = mapped_column(Timestamp)
    scheduled_for: Mapped[datetime] = mapped_column(Timestamp)
    client_address: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None] = mapped_column(Timestamp)
    done_by: Mapped[uuid.UUID | None] = mapped_column()


class Notification(Base):
    """An e-mail to a ticket's author (rule 8), or to an organization's people about a new
    update file of its protection key (no ticket then), kept until the mail server took it:
    written in the transaction of what it reports, sent by a job with retries, so an outage
    loses none. `dedup_key` names what it reports (a status event, a reply, an update file and
    its recipient), so it is written once."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent')", name="status"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(100), unique=True)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE")
    )
    # The address is looked up when sending: identity may tell it after the ticket changed.
    recipient_id: Mapped[uuid.UUID] = mapped_column()
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)
    sent_to: Mapped[str | None] = mapped_column(String(254))
