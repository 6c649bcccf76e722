"""notification outbox: e-mails to ticket authors until the mail server took them

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 18:21:00.450038
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dedup_key", sa.String(length=100), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_to", sa.String(length=254), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent')", name=op.f("ck_notifications_status")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["helpdesk.tickets.id"],
            name=op.f("fk_notifications_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_notifications_dedup_key")),
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_notifications_status_next_attempt_at"),
        "notifications",
        ["status", "next_attempt_at"],
        unique=False,
        schema="helpdesk",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_notifications_status_next_attempt_at"),
        table_name="notifications",
        schema="helpdesk",
    )
    op.drop_table("notifications", schema="helpdesk")
