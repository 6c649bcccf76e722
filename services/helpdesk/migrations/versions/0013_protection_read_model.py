"""protection subscriptions: helpdesk's read model of dongle's, shown to agents on tickets

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "protection_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("key_serial", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("resumable_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protection_subscriptions")),
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_protection_subscriptions_organization_id"),
        "protection_subscriptions",
        ["organization_id"],
        unique=False,
        schema="helpdesk",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_protection_subscriptions_organization_id"),
        table_name="protection_subscriptions",
        schema="helpdesk",
    )
    op.drop_table("protection_subscriptions", schema="helpdesk")
