"""code destinations, for the limits per e-mail and phone

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 18:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("one_time_codes", sa.Column("destination", sa.String(length=320), nullable=True))
    op.create_index("ix_one_time_codes_destination", "one_time_codes", ["destination", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_one_time_codes_destination", table_name="one_time_codes")
    op.drop_column("one_time_codes", "destination")
