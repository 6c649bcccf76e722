"""The knowledge base: read and searched by anyone, written by staff (rule 9)."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.helpdesk.kb.repository import Hit
from services.helpdesk.kb.schemas import (
    ArticlePage,
    ArticleRead,
    ArticleStatus,
    ArticleSummary,
    ArticleWrite,
    FeedbackGiven,
    Found,
    KbStats,
    SearchResults,
    SuggestionAsked,
    Suggestions,
)
from services.helpdesk.kb.service import kb_service
from shared.auth import OptionalPrincipal, StaffPrincipal
from shared.db import SessionDep
from shared.pagination import PageDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep

router = APIRouter(tags=["knowledge base"], responses=PROBLEM_RESPONSES)


def _found(hits: list[Hit]) -> list[Found]:
    return [Found(id=h.id, title=h.title, snippet=h.snippet, score=h.score) for h in hits]


def _read(article: object) -> ArticleRead:
    return ArticleRead.model_validate(article, from_attributes=True)


@router.get("/api/v1/kb/articles", response_model=ArticlePage)
async def list_articles(
    session: SessionDep,
    principal: OptionalPrincipal,
    page: PageDep,
    status: Annotated[ArticleStatus | None, Query(description="Drafts: staff only.")] = None,
    product_code: Annotated[str | None, Query(max_length=64)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
) -> ArticlePage:
    """Published articles (staff also see drafts), optionally of one product or tag."""
    staff = principal is not None and principal.is_staff
    articles, next_cursor = await kb_service.page(session, page, staff, status, product_code, tag)
    return ArticlePage(
        items=[ArticleSummary.model_validate(a, from_attributes=True) for a in articles],
        next_cursor=next_cursor,
    )


@router.get("/api/v1/kb/articles/{article_id}", response_model=ArticleRead)
async def read_article(
    article_id: uuid.UUID, session: SessionDep, principal: OptionalPrincipal
) -> ArticleRead:
    staff = principal is not None and principal.is_staff
    return _read(await kb_service.get(session, article_id, staff))


@router.get("/api/v1/kb/search", response_model=SearchResults)
async def search_articles(
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    product_code: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchResults:
    """Full-text search in Russian, title above body, with a trigram fallback."""
    return SearchResults(items=_found(await kb_service.search(session, q, product_code, limit)))


@router.post("/api/v1/kb/suggest", response_model=Suggestions)
async def suggest_articles(
    body: SuggestionAsked, session: SessionDep, clock: ClockDep
) -> Suggestions:
    """At most 5 articles for a ticket being written; pass `suggestion_id` on when the ticket
    is opened, so the deflection rate knows this writing led to one."""
    suggestion_id, hits = await kb_service.suggest(session, clock, body)
    return Suggestions(suggestion_id=suggestion_id, items=_found(hits))


@router.post("/api/v1/kb/articles/{article_id}/feedback", status_code=204)
async def give_feedback(
    article_id: uuid.UUID, body: FeedbackGiven, session: SessionDep, clock: ClockDep
) -> Response:
    """ "Was this helpful?": yes, or no with a reason (`other` with a comment)."""
    await kb_service.feedback(session, clock, article_id, body)
    return Response(status_code=204)


@router.post("/api/v1/kb/articles", response_model=ArticleRead, status_code=201)
async def create_article(
    body: ArticleWrite, staff: StaffPrincipal, session: SessionDep, clock: ClockDep
) -> ArticleRead:
    return _read(await kb_service.create(session, clock, body))


@router.put("/api/v1/kb/articles/{article_id}", response_model=ArticleRead)
async def replace_article(
    article_id: uuid.UUID,
    body: ArticleWrite,
    staff: StaffPrincipal,
    session: SessionDep,
    clock: ClockDep,
) -> ArticleRead:
    return _read(await kb_service.replace(session, clock, article_id, body))


@router.get("/api/v1/kb/stats", response_model=KbStats)
async def knowledge_base_stats(
    staff: StaffPrincipal,
    session: SessionDep,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
) -> KbStats:
    """Per article: shown in suggestions, helpful, not helpful by reason; and the deflection
    rate — the share of ticket writings shown suggestions that ended without a ticket."""
    return await kb_service.stats(session, since, until)
