"""licensing: keys reported lost, and the loss whose suspension holds a license

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 20:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lost_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key_serial", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("license_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspend_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_serial", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lost_keys")),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_lost_keys_organization_id"),
        "lost_keys",
        ["organization_id"],
        unique=False,
        schema="licensing",
    )
    op.create_index(
        op.f("ix_lost_keys_suspend_at"),
        "lost_keys",
        ["suspend_at"],
        unique=False,
        schema="licensing",
    )
    op.add_column(
        "licenses", sa.Column("suspended_for_loss", sa.Uuid(), nullable=True), schema="licensing"
    )


def downgrade() -> None:
    op.drop_column("licenses", "suspended_for_loss", schema="licensing")
    op.drop_index(op.f("ix_lost_keys_suspend_at"), table_name="lost_keys", schema="licensing")
    op.drop_index(op.f("ix_lost_keys_organization_id"), table_name="lost_keys", schema="licensing")
    op.drop_table("lost_keys", schema="licensing")
