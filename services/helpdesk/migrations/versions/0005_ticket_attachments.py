"""ticket attachments, their bytes kept outside the row

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 18:03:15.794531
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("uploader_role", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "uploader_role IN ('customer', 'partner', 'agent')",
            name=op.f("ck_ticket_attachments_role"),
        ),
        sa.CheckConstraint("size > 0", name=op.f("ck_ticket_attachments_size_positive")),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["helpdesk.ticket_messages.id"],
            name=op.f("fk_ticket_attachments_message_id_ticket_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["helpdesk.tickets.id"],
            name=op.f("fk_ticket_attachments_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_ticket_attachments_storage_key")),
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_ticket_attachments_ticket_id"),
        "ticket_attachments",
        ["ticket_id"],
        unique=False,
        schema="helpdesk",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_ticket_attachments_ticket_id"), table_name="ticket_attachments", schema="helpdesk"
    )
    op.drop_table("ticket_attachments", schema="helpdesk")
