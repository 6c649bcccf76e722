"""Every query of the knowledge base, the search included (rule 9)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.models import KbArticle, KbFeedback, KbSuggestion
from shared.pagination import PageParams, paginate

# Articles the first (title and tags) stage hands to the full ranking.
CANDIDATES = 100
# How alike a query word and a title word must be for the trigram fallback (0–1).
TRIGRAM_THRESHOLD = 0.45
SNIPPET_OPTIONS = 'MaxWords=30, MinWords=12, ShortWord=3, MaxFragments=1, StartSel="", StopSel=""'

# Full-text search in stages, so 10,000 articles stay fast, in ONE statement (one round trip,
# one prepared plan). `words` parses the queries once (a prepared statement's generic plan
# would parse them again for every row it ranks). Every stage reads only published articles of
# the product asked for (an article naming no product concerns them all).
# - `every_word`: a short text's words all in the title or tags (few rows, the title index);
# - too few: `any_title`, the articles whose title or tags hold any word, ranked on that small
#   vector;
# - still too few: `in_body` adds body-only matches.
# A later stage is gated by a count of the one before, which PostgreSQL checks once, before
# touching the index. `best` ranks the candidates on the whole weighted vector (title A, tags
# B, body C), the title's trigram likeness to the words breaking near-ties; only the `limit`
# best get a snippet.
_VISIBLE = """status = 'published'
      AND (CAST(:product AS text) IS NULL OR cardinality(products) = 0
           OR products @> ARRAY[CAST(:product AS varchar)])"""
FULL_TEXT = text(
    f"""
WITH words AS (
    SELECT to_tsquery('simple', :any) AS any_of, to_tsquery('simple', :every) AS every
), every_word AS (
    SELECT id FROM helpdesk.kb_articles
    WHERE CAST(:every AS text) IS NOT NULL
      AND title_vector @@ (SELECT every FROM words) AND {_VISIBLE}
    LIMIT :candidates
), any_title AS (
    SELECT id FROM helpdesk.kb_articles
    WHERE (SELECT count(*) FROM every_word) < :limit
      AND title_vector @@ (SELECT any_of FROM words) AND {_VISIBLE}
    ORDER BY ts_rank(title_vector, (SELECT any_of FROM words)) DESC, id
    LIMIT :candidates
), by_title AS (
    SELECT id FROM every_word WHERE (SELECT count(*) FROM every_word) >= :limit
    UNION ALL
    SELECT id FROM any_title
), in_body AS (
    SELECT id FROM helpdesk.kb_articles
    WHERE (SELECT count(*) FROM by_title) < :limit
      AND search_vector @@ (SELECT any_of FROM words) AND {_VISIBLE}
      AND id NOT IN (SELECT id FROM by_title)
    LIMIT :candidates
), best AS (
    SELECT id, title, body,
           ts_rank(search_vector, (SELECT any_of FROM words))
           + 0.1 * public.word_similarity(:title_words, title) AS score
    FROM helpdesk.kb_articles
    WHERE id IN (SELECT id FROM by_title UNION ALL SELECT id FROM in_body)
    ORDER BY score DESC, id
    LIMIT :limit
)
SELECT id, title, ts_headline('russian', body, (SELECT any_of FROM words), :options), score
FROM best ORDER BY score DESC, id
"""  # noqa: S608 - a constant of this module, no input
)


@dataclass(frozen=True)
class Hit:
    id: uuid.UUID
    title: str
    snippet: str
    score: float


def _visible(product_code: str | None, with_drafts: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if not with_drafts:
        conditions.append(KbArticle.status == "published")
    if product_code:
        # An article naming no product concerns them all.
        conditions.append(
            (func.cardinality(KbArticle.products) == 0)
            | KbArticle.products.contains([product_code])
        )
    return conditions


class KbRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lexemes(self, words: str, short: str) -> tuple[list[str], list[str]]:
        """Both texts' words as the `russian` configuration stems them (stop words dropped),
        in one round trip."""
        row = (
            await self.session.execute(
                text(
                    "SELECT tsvector_to_array(to_tsvector('russian', :words)),"
                    " tsvector_to_array(to_tsvector('russian', :short))"
                ),
                {"words": words, "short": short},
            )
        ).one()
        return list(row[0]), list(row[1])

    async def full_text(
        self,
        query: str,
        title_text: str,
        product_code: str | None,
        limit: int,
        required: str | None = None,
    ) -> list[Hit]:
        """The stages of `FULL_TEXT` in one statement: a stage runs only when the one before
        it found fewer than `limit` articles."""
        rows = await self.session.execute(
            FULL_TEXT,
            {
                "any": query,
                "every": required,
                "title_words": title_text,
                "product": product_code,
                "limit": limit,
                "candidates": CANDIDATES,
                "options": SNIPPET_OPTIONS,
            },
        )
        return [Hit(row[0], row[1], row[2], float(row[3])) for row in rows]

    async def similar_titles(
        self, words: str, product_code: str | None, exclude: Sequence[uuid.UUID], limit: int
    ) -> list[Hit]:
        """The trigram fallback: titles holding a word like one of `words` (typos, forms the
        stemmer splits apart)."""
        await self.session.execute(
            text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"),
            {"t": str(TRIGRAM_THRESHOLD)},
        )
        likeness = func.public.word_similarity(words, KbArticle.title)
        conditions = _visible(product_code, False)
        if exclude:
            conditions.append(KbArticle.id.not_in(exclude))
        rows = await self.session.execute(
            select(KbArticle.id, KbArticle.title, func.left(KbArticle.body, 200), likeness)
            .where(
                text(":words OPERATOR(public.<%) helpdesk.kb_articles.title").bindparams(
                    words=words
                ),
                *conditions,
            )
            .order_by(likeness.desc(), KbArticle.id)
            .limit(limit)
        )
        return [Hit(row[0], row[1], row[2], float(row[3]) * 0.01) for row in rows]

    async def add(self, article: KbArticle) -> KbArticle:
        self.session.add(article)
        await self.session.flush()
        return article

    async def add_missing(self, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        added = await self.session.scalars(
            insert(KbArticle)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[KbArticle.slug])
            .returning(KbArticle.id)
        )
        return len(list(added))

    async def get(self, article_id: uuid.UUID, *, for_update: bool = False) -> KbArticle | None:
        statement = select(KbArticle).where(KbArticle.id == article_id)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def page(
        self,
        params: PageParams,
        *,
        with_drafts: bool,
        status: str | None,
        product_code: str | None,
        tag: str | None,
    ) -> tuple[list[KbArticle], str | None]:
        conditions = _visible(product_code, with_drafts)
        if status is not None:
            conditions.append(KbArticle.status == status)
        if tag is not None:
            conditions.append(KbArticle.tags.contains([tag]))
        return await paginate(
            self.session, select(KbArticle).where(*conditions), [KbArticle.id], params
        )

    async def add_feedback(self, feedback: KbFeedback) -> None:
        self.session.add(feedback)
        await self.session.flush()

    async def suggestion(self, suggestion_id: uuid.UUID) -> KbSuggestion | None:
        return await self.session.scalar(
            select(KbSuggestion).where(KbSuggestion.id == suggestion_id).with_for_update()
        )

    async def add_suggestion(self, suggestion: KbSuggestion) -> None:
        self.session.add(suggestion)
        await self.session.flush()

    async def link_ticket(self, suggestion_id: uuid.UUID, ticket_id: uuid.UUID) -> bool:
        """Marks the writing as ended by a ticket; False if unknown or already linked."""
        linked = await self.session.scalar(
            update(KbSuggestion)
            .where(KbSuggestion.id == suggestion_id, KbSuggestion.ticket_id.is_(None))
            .values(ticket_id=ticket_id)
            .returning(KbSuggestion.id)
        )
        return linked is not None

    async def stats(
        self, since: datetime | None, until: datetime | None
    ) -> tuple[list[dict[str, Any]], int, int]:
        period: list[ColumnElement[bool]] = []
        if since is not None:
            period.append(KbSuggestion.created_at >= since)
        if until is not None:
            period.append(KbSuggestion.created_at < until)
        shown = (
            select(func.unnest(KbSuggestion.article_ids).label("article_id"))
            .where(*period)
            .subquery()
        )
        shown_counts: dict[uuid.UUID, int] = dict(
            (
                await self.session.execute(
                    select(shown.c.article_id, func.count()).group_by(shown.c.article_id)
                )
            ).all()
        )
        feedback_period: list[ColumnElement[bool]] = []
        if since is not None:
            feedback_period.append(KbFeedback.created_at >= since)
        if until is not None:
            feedback_period.append(KbFeedback.created_at < until)
        feedback = (
            await self.session.execute(
                select(KbFeedback.article_id, KbFeedback.helpful, KbFeedback.reason, func.count())
                .where(*feedback_period)
                .group_by(KbFeedback.article_id, KbFeedback.helpful, KbFeedback.reason)
            )
        ).all()
        articles = (
            await self.session.execute(
                select(KbArticle.id, KbArticle.title, KbArticle.status).order_by(KbArticle.title)
            )
        ).all()
        by_article: dict[uuid.UUID, dict[str, Any]] = {
            row[0]: {
                "id": row[0],
                "title": row[1],
                "status": row[2],
                "shown": shown_counts.get(row[0], 0),
                "helpful": 0,
                "not_helpful": 0,
                "not_helpful_by_reason": {},
            }
            for row in articles
        }
        for article_id, helpful, reason, count in feedback:
            entry = by_article.get(article_id)
            if entry is None:
                continue
            if helpful:
                entry["helpful"] += count
            else:
                entry["not_helpful"] += count
                entry["not_helpful_by_reason"][reason] = count
        writings = (
            await self.session.scalar(select(func.count()).select_from(KbSuggestion).where(*period))
            or 0
        )
        with_ticket = (
            await self.session.scalar(
                select(func.count())
                .select_from(KbSuggestion)
                .where(*period, KbSuggestion.ticket_id.is_not(None))
            )
            or 0
        )
        return list(by_article.values()), writings, with_ticket
