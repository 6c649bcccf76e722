"""tickets, their threads, and the read models of certificates and people

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 17:33:07.689860
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=300), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        schema="helpdesk",
    )
    op.create_table(
        "support_certificates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("products", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("key_serials", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'expired')", name=op.f("ck_support_certificates_status")
        ),
        sa.CheckConstraint(
            "tier IN ('free', 'paid', 'partner')", name=op.f("ck_support_certificates_tier")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_certificates")),
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_support_certificates_number"),
        "support_certificates",
        ["number"],
        unique=False,
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_support_certificates_organization_id"),
        "support_certificates",
        ["organization_id"],
        unique=False,
        schema="helpdesk",
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False, start=1001), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("product_version", sa.String(length=64), nullable=True),
        sa.Column("os", sa.String(length=100), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("certificate_id", sa.Uuid(), nullable=True),
        sa.Column("certificate_number", sa.String(length=64), nullable=True),
        sa.Column("act_number", sa.String(length=64), nullable=True),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("tier_rank", sa.SmallInteger(), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("close_reason", sa.String(length=10), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("partner_organization_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("suggestion_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("sla_budget", sa.Interval(), nullable=True),
        sa.Column("sla_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("auto_close_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remote_session_decision", sa.String(length=10), nullable=True),
        sa.Column("remote_session_reason", sa.String(length=1000), nullable=True),
        sa.Column("remote_session_decided_by", sa.Uuid(), nullable=True),
        sa.Column("remote_session_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'closed') = (close_reason IS NOT NULL)",
            name=op.f("ck_tickets_close_reason_when_closed"),
        ),
        sa.CheckConstraint(
            "(tier = 'none') = (certificate_id IS NULL)",
            name=op.f("ck_tickets_tier_has_certificate"),
        ),
        sa.CheckConstraint(
            "category IN ('question', 'incident', 'remote_session', 'support_renewal', 'other')",
            name=op.f("ck_tickets_category"),
        ),
        sa.CheckConstraint(
            "remote_session_decision IS NULL OR remote_session_decision IN "
            "('approved', 'declined')",
            name=op.f("ck_tickets_remote_session_decision"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'in_progress', 'waiting_for_customer', 'solution_proposed', "
            "'closed')",
            name=op.f("ck_tickets_status"),
        ),
        sa.CheckConstraint(
            "tier IN ('partner', 'paid', 'free', 'none')", name=op.f("ck_tickets_tier")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("seq", name=op.f("uq_tickets_seq")),
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_tickets_auto_close_at"),
        "tickets",
        ["auto_close_at"],
        unique=False,
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_tickets_organization_id_created_at"),
        "tickets",
        ["organization_id", "created_at"],
        unique=False,
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_tickets_tier_rank_first_response_due_at_seq"),
        "tickets",
        ["tier_rank", "first_response_due_at", "seq"],
        unique=False,
        schema="helpdesk",
    )
    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("author_role", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "author_role IN ('customer', 'partner', 'agent', 'system')",
            name=op.f("ck_ticket_messages_role"),
        ),
        sa.CheckConstraint(
            "kind IN ('reply', 'note', 'system')", name=op.f("ck_ticket_messages_kind")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["helpdesk.tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_ticket_messages_ticket_id_created_at"),
        "ticket_messages",
        ["ticket_id", "created_at"],
        unique=False,
        schema="helpdesk",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_ticket_messages_ticket_id_created_at"),
        table_name="ticket_messages",
        schema="helpdesk",
    )
    op.drop_table("ticket_messages", schema="helpdesk")
    op.drop_index(
        op.f("ix_tickets_tier_rank_first_response_due_at_seq"),
        table_name="tickets",
        schema="helpdesk",
    )
    op.drop_index(
        op.f("ix_tickets_organization_id_created_at"), table_name="tickets", schema="helpdesk"
    )
    op.drop_index(op.f("ix_tickets_auto_close_at"), table_name="tickets", schema="helpdesk")
    op.drop_table("tickets", schema="helpdesk")
    op.drop_index(
        op.f("ix_support_certificates_organization_id"),
        table_name="support_certificates",
        schema="helpdesk",
    )
    op.drop_index(
        op.f("ix_support_certificates_number"), table_name="support_certificates", schema="helpdesk"
    )
    op.drop_table("support_certificates", schema="helpdesk")
    op.drop_table("people", schema="helpdesk")
