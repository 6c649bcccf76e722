"""licensing: partners and their customers, the link published to helpdesk and dongle

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Filled by the service itself (`services/licensing/partners`): links made before this
    # table existed are found and published at the next start.
    op.create_table(
        "partner_customers",
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "organization_id", name=op.f("pk_partner_customers")),
        schema="licensing",
    )


def downgrade() -> None:
    op.drop_table("partner_customers", schema="licensing")
