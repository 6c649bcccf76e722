"""The knowledge base (rule 9): articles, search and suggestions, feedback, statistics.

Search: the words are stemmed by PostgreSQL's `russian` configuration and looked up in the
weighted vector (title above tags above body) as "any of them", each stem also as a prefix of
its first letters, so forms the stemmer cuts differently («активируется» → активир,
«активация» → активац) still meet. When that finds fewer articles than asked, titles holding a
word similar by trigrams (pg_trgm) fill the rest: typos and forms even the prefix misses.
"""

import re
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.kb.repository import Hit, KbRepository
from services.helpdesk.kb.schemas import (
    ArticleStats,
    ArticleWrite,
    FeedbackGiven,
    KbStats,
    SuggestionAsked,
)
from services.helpdesk.models import KbArticle, KbFeedback, KbSuggestion
from shared.clock import Clock
from shared.pagination import PageParams
from shared.problems import InvalidInput, NotFound

SUGGESTIONS = 5
# A stem shares its first letters with the other forms of its word (актив-ация, актив-ировать).
PREFIX_LETTERS = 5
# Enough words to find an article by a long description, few enough to stay fast.
MAX_LEXEMES = 40
# A text this short is first looked up with every word required in a title (cheap and precise).
MAX_ALL_OF = 6
WORD = re.compile(r"[0-9a-zа-яё]+", re.IGNORECASE)
MARKDOWN_NOISE = re.compile(r"[#*_`>|\[\]]+")


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("'", "''").replace("\\", "\\\\") + "'"


def _forms(lexeme: str) -> list[str]:
    """The stem, and the prefix its other forms share, in tsquery syntax (quoted: any text is
    safe)."""
    if len(lexeme) > PREFIX_LETTERS:
        return [_quoted(lexeme), _quoted(lexeme[:PREFIX_LETTERS]) + ":*"]
    if len(lexeme) >= 4:
        return [_quoted(lexeme), _quoted(lexeme) + ":*"]
    return [_quoted(lexeme)]


def tsquery_of(lexemes: list[str]) -> str:
    """`a | a-prefix:* | b …`: any of the words."""
    parts = [form for lexeme in lexemes[:MAX_LEXEMES] for form in _forms(lexeme)]
    return " | ".join(dict.fromkeys(parts))


def all_of(lexemes: list[str]) -> str | None:
    """`(a | a-prefix:*) & (b | …)`: every word of a short text (a subject, a query)."""
    if not lexemes or len(lexemes) > MAX_ALL_OF:
        return None
    return " & ".join("(" + " | ".join(_forms(lexeme)) + ")" for lexeme in lexemes)


def _snippet(text: str) -> str:
    return " ".join(MARKDOWN_NOISE.sub(" ", text).split())


def keywords_of(tags: list[str]) -> str:
    return " ".join(tags)


class KbService:
    async def search(
        self,
        session: AsyncSession,
        text: str,
        product_code: str | None,
        limit: int,
        short: str | None = None,
    ) -> list[Hit]:
        """`short` (a subject; the text itself when omitted) is first tried with every word
        required in the title and tags; the whole text ranks what is found."""
        words = " ".join(WORD.findall(text.lower()))
        if not words:
            return []
        repository = KbRepository(session)
        short_words = " ".join(WORD.findall((short if short is not None else text).lower()))
        stems, short_stems = await repository.lexemes(words, short_words)
        lexemes = list(dict.fromkeys(stems))
        required = all_of(list(dict.fromkeys(short_stems)))
        title_words = " ".join(words.split()[:12])
        hits = []
        if lexemes:
            hits = await repository.full_text(
                tsquery_of(lexemes), title_words, product_code, limit, required
            )
        if len(hits) < limit:
            hits += await repository.similar_titles(
                title_words, product_code, [hit.id for hit in hits], limit - len(hits)
            )
        return [Hit(h.id, h.title, _snippet(h.snippet), round(h.score, 4)) for h in hits]

    async def suggest(
        self, session: AsyncSession, clock: Clock, asked: SuggestionAsked
    ) -> tuple[uuid.UUID, list[Hit]]:
        """Top articles for what is being written; the writing is recorded (one row however
        often it asks) with every article shown, for the deflection rate."""
        text = f"{asked.subject}\n{asked.description}".strip()
        if not text:
            raise InvalidInput("subject", "write a subject or a description")
        hits = await self.search(
            session, text, asked.product_code, SUGGESTIONS, short=asked.subject or None
        )
        repository = KbRepository(session)
        shown = [hit.id for hit in hits]
        suggestion = None
        if asked.suggestion_id is not None:
            suggestion = await repository.suggestion(asked.suggestion_id)
            if suggestion is not None and suggestion.ticket_id is not None:
                suggestion = None  # that writing ended in a ticket: this is a new one
        if suggestion is None:
            suggestion = KbSuggestion(
                id=uuid.uuid4(),
                query=text[:2000],
                product_code=asked.product_code,
                article_ids=shown,
                created_at=clock.now(),
            )
            await repository.add_suggestion(suggestion)
        else:
            suggestion.query = text[:2000]
            suggestion.article_ids = list(dict.fromkeys([*suggestion.article_ids, *shown]))
        return suggestion.id, hits

    async def ticket_opened(
        self, session: AsyncSession, suggestion_id: uuid.UUID, ticket_id: uuid.UUID
    ) -> None:
        if not await KbRepository(session).link_ticket(suggestion_id, ticket_id):
            raise InvalidInput(
                "suggestion_id", "no suggestion with this id, or it already led to a ticket"
            )

    async def create(self, session: AsyncSession, clock: Clock, asked: ArticleWrite) -> KbArticle:
        now = clock.now()
        return await KbRepository(session).add(
            KbArticle(
                id=uuid.uuid4(),
                title=asked.title,
                body=asked.body,
                products=asked.products,
                tags=asked.tags,
                keywords=keywords_of(asked.tags),
                status=asked.status,
                created_at=now,
                updated_at=now,
            )
        )

    async def replace(
        self, session: AsyncSession, clock: Clock, article_id: uuid.UUID, asked: ArticleWrite
    ) -> KbArticle:
        article = await KbRepository(session).get(article_id, for_update=True)
        if article is None:
            raise NotFound("No such article")
        article.title = asked.title
        article.body = asked.body
        article.products = asked.products
        article.tags = asked.tags
        article.keywords = keywords_of(asked.tags)
        article.status = asked.status
        article.updated_at = clock.now()
        await session.flush()
        return article

    async def get(self, session: AsyncSession, article_id: uuid.UUID, staff: bool) -> KbArticle:
        article = await KbRepository(session).get(article_id)
        if article is None or (article.status != "published" and not staff):
            raise NotFound("No such article")
        return article

    async def page(
        self,
        session: AsyncSession,
        params: PageParams,
        staff: bool,
        status: str | None,
        product_code: str | None,
        tag: str | None,
    ) -> tuple[list[KbArticle], str | None]:
        if status == "draft" and not staff:
            return [], None
        return await KbRepository(session).page(
            params, with_drafts=staff, status=status, product_code=product_code, tag=tag
        )

    async def feedback(
        self, session: AsyncSession, clock: Clock, article_id: uuid.UUID, given: FeedbackGiven
    ) -> None:
        await self.get(session, article_id, staff=False)
        if given.helpful and given.reason is not None:
            raise InvalidInput("reason", "a reason is given only when the article did not help")
        if not given.helpful and given.reason is None:
            raise InvalidInput("reason", "say why the article did not help")
        comment = given.comment.strip() if given.comment else None
        if given.reason == "other" and not comment:
            raise InvalidInput("comment", "reason `other` needs a comment")
        await KbRepository(session).add_feedback(
            KbFeedback(
                id=uuid.uuid4(),
                article_id=article_id,
                helpful=given.helpful,
                reason=given.reason,
                comment=comment or None,
                created_at=clock.now(),
            )
        )

    async def stats(
        self, session: AsyncSession, since: datetime | None, until: datetime | None
    ) -> KbStats:
        items, writings, with_ticket = await KbRepository(session).stats(since, until)
        return KbStats(
            items=[ArticleStats(**item) for item in items],
            suggestions=writings,
            tickets_after_suggestion=with_ticket,
            deflection_rate=round((writings - with_ticket) / writings, 4) if writings else None,
        )


kb_service = KbService()
