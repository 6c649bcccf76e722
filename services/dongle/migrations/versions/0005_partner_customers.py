"""dongle: partner customers, the read model of licensing's partner ↔ customer links

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 21:50:00.000000
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
        "partner_customers",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "organization_id", name=op.f("pk_partner_customers")),
        schema="dongle",
    )


def downgrade() -> None:
    op.drop_table("partner_customers", schema="dongle")
