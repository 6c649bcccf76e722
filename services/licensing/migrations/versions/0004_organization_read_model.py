"""licensing: organization read model from identity's events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 17:30:46.717553
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_number", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("full_name", sa.String(length=1000), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("resident", sa.Boolean(), nullable=False),
        sa.Column("inn", sa.String(length=12), nullable=True),
        sa.Column("kpp", sa.String(length=9), nullable=True),
        sa.Column("foreign_tax_id", sa.String(length=32), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        schema="licensing",
    )
    op.create_index(
        op.f("ix_organizations_inn"), "organizations", ["inn"], unique=False, schema="licensing"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_organizations_inn"), table_name="organizations", schema="licensing")
    op.drop_table("organizations", schema="licensing")
