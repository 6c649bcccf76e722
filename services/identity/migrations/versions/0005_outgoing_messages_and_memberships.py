"""outgoing messages sent after commit; memberships of contacts joining an organization

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("membership", sa.String(length=10), server_default="active", nullable=False),
    )
    op.create_table(
        "membership_requests",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("link_hash", sa.String(length=64), nullable=True),
        sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_via", sa.String(length=12), nullable=True),
        sa.CheckConstraint(
            "decided_via IN ('link', 'responsible', 'admin')",
            name=op.f("ck_membership_requests_decided_via"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["identity.users.id"],
            name=op.f("fk_membership_requests_decided_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["identity.organizations.id"],
            name=op.f("fk_membership_requests_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity.users.id"],
            name=op.f("fk_membership_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_membership_requests")),
        sa.UniqueConstraint("link_hash", name=op.f("uq_membership_requests_link_hash")),
        schema="identity",
    )
    op.create_index(
        op.f("ix_membership_requests_organization_id"),
        "membership_requests",
        ["organization_id"],
        unique=False,
        schema="identity",
    )
    op.create_table(
        "outgoing_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_id", sa.Uuid(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "channel IN ('email', 'sms')", name=op.f("ck_outgoing_messages_channel")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'expired')", name=op.f("ck_outgoing_messages_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_messages")),
        schema="identity",
    )
    op.create_index(
        op.f("ix_outgoing_messages_status_next_attempt_at"),
        "outgoing_messages",
        ["status", "next_attempt_at"],
        unique=False,
        schema="identity",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_outgoing_messages_status_next_attempt_at"),
        table_name="outgoing_messages",
        schema="identity",
    )
    op.drop_table("outgoing_messages", schema="identity")
    op.drop_index(
        op.f("ix_membership_requests_organization_id"),
        table_name="membership_requests",
        schema="identity",
    )
    op.drop_table("membership_requests", schema="identity")
    op.drop_column("users", "membership")
