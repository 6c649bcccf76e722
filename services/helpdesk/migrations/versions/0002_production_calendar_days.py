"""helpdesk: the production calendar, one row per day

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:36:01.478873
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
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("hours", sa.SmallInteger(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'working' AND hours = 9) OR (kind = 'holiday' AND hours = 0) "
            "OR (kind = 'shortened' AND hours BETWEEN 1 AND 8)",
            name=op.f("ck_calendar_days_hours_fit_kind"),
        ),
        sa.CheckConstraint("source IN ('official', 'admin')", name=op.f("ck_calendar_days_source")),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
        schema="helpdesk",
    )


def downgrade() -> None:
    op.drop_table("calendar_days", schema="helpdesk")
