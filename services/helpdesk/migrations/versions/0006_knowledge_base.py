"""knowledge base: articles with a weighted russian search vector, feedback, suggestions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 18:07:45.673102
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Trigram search for words the russian stemmer splits apart (shared, so never dropped here).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("products", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('russian', title), 'A') || "
                "setweight(to_tsvector('russian', keywords), 'B') || "
                "setweight(to_tsvector('russian', body), 'C')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("status IN ('draft', 'published')", name=op.f("ck_kb_articles_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_kb_articles_slug")),
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_kb_articles_search_vector"),
        "kb_articles",
        ["search_vector"],
        unique=False,
        schema="helpdesk",
        postgresql_using="gin",
    )
    op.create_index(
        "ix_kb_articles_title_trgm",
        "kb_articles",
        ["title"],
        unique=False,
        schema="helpdesk",
        postgresql_using="gin",
        postgresql_ops={"title": "public.gin_trgm_ops"},
    )
    op.create_table(
        "kb_suggestions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=True),
        sa.Column("article_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_suggestions")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_kb_suggestions_ticket_id")),
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_kb_suggestions_created_at"),
        "kb_suggestions",
        ["created_at"],
        unique=False,
        schema="helpdesk",
    )
    op.create_table(
        "kb_feedback",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(helpful AND reason IS NULL) OR (NOT helpful AND reason IN "
            "('not_relevant', 'unclear', 'outdated', 'incomplete', 'other'))",
            name=op.f("ck_kb_feedback_reason_when_not_helpful"),
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["helpdesk.kb_articles.id"],
            name=op.f("fk_kb_feedback_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_feedback")),
        schema="helpdesk",
    )
    op.create_index(
        op.f("ix_kb_feedback_article_id"),
        "kb_feedback",
        ["article_id"],
        unique=False,
        schema="helpdesk",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_kb_feedback_article_id"), table_name="kb_feedback", schema="helpdesk")
    op.drop_table("kb_feedback", schema="helpdesk")
    op.drop_index(
        op.f("ix_kb_suggestions_created_at"), table_name="kb_suggestions", schema="helpdesk"
    )
    op.drop_table("kb_suggestions", schema="helpdesk")
    op.drop_index(
        "ix_kb_articles_title_trgm",
        table_name="kb_articles",
        schema="helpdesk",
        postgresql_using="gin",
        postgresql_ops={"title": "public.gin_trgm_ops"},
    )
    op.drop_index(
        op.f("ix_kb_articles_search_vector"),
        table_name="kb_articles",
        schema="helpdesk",
        postgresql_using="gin",
    )
    op.drop_table("kb_articles", schema="helpdesk")
