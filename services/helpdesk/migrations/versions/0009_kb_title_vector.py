"""knowledge base: a title-and-tags search vector for cheap first-stage ranking

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 19:06:18.881443
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "kb_articles",
        sa.Column(
            "title_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('russian', title), 'A') || "
                "setweight(to_tsvector('russian', keywords), 'B')",
                persisted=True,
            ),
            nullable=False,
        ),
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_kb_articles_title_vector"),
        "kb_articles",
        ["title_vector"],
        unique=False,
        schema="helpdesk",
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_kb_articles_title_vector"),
        table_name="kb_articles",
        schema="helpdesk",
        postgresql_using="gin",
    )
    op.drop_column("kb_articles", "title_vector", schema="helpdesk")
