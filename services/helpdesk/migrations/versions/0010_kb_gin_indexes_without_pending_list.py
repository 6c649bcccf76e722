"""knowledge base: GIN indexes without a pending list, so every search reads the index tree

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 20:30:00.000000

With `fastupdate` on (PostgreSQL's default) new entries wait in an unsorted pending list until
a vacuum merges them, and every search scans that list row by row: a freshly loaded base of
10,000 articles kept its whole title index there and a suggestion's first stage took 8-10 ms
instead of under 1. Articles are written rarely and searched on every keystroke, so entries go
straight into the tree, and what is pending now is merged here.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    "ix_kb_articles_search_vector",
    "ix_kb_articles_title_vector",
    "ix_kb_articles_title_trgm",
)


def upgrade() -> None:
    for index in INDEXES:
        op.execute(f"ALTER INDEX helpdesk.{index} SET (fastupdate = off)")
        op.execute(f"SELECT gin_clean_pending_list('helpdesk.{index}'::regclass)")


def downgrade() -> None:
    for index in INDEXES:
        op.execute(f"ALTER INDEX helpdesk.{index} RESET (fastupdate)")
