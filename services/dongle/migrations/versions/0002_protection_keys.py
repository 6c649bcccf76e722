"""dongle: protection keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:38:28.980672
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "protection_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("maintenance_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'lost', 'stolen', 'carrier', 'retired')",
            name=op.f("ck_protection_keys_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protection_keys")),
        sa.UniqueConstraint("serial", name=op.f("uq_protection_keys_serial")),
        schema="dongle",
    )
    op.create_index(
        "ix_protection_keys_organization_id_serial",
        "protection_keys",
        ["organization_id", "serial"],
        unique=False,
        schema="dongle",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_protection_keys_organization_id_serial", table_name="protection_keys", schema="dongle"
    )
    op.drop_table("protection_keys", schema="dongle")
