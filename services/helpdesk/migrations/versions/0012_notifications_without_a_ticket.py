"""notifications: a mail need not be about a ticket (a protection key's new update file)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 20:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "notifications", "ticket_id", existing_type=sa.Uuid(), nullable=True, schema="helpdesk"
    )


def downgrade() -> None:
    op.execute("DELETE FROM helpdesk.notifications WHERE ticket_id IS NULL")
    op.alter_column(
        "notifications", "ticket_id", existing_type=sa.Uuid(), nullable=False, schema="helpdesk"
    )
