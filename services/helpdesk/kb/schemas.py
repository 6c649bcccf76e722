"""The knowledge base as clients send and read it (spec 40, rule 9)."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ArticleStatus = Literal["draft", "published"]
NotHelpfulReason = Literal["not_relevant", "unclear", "outdated", "incomplete", "other"]


class ArticleWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=300)
    body: str = Field(min_length=1, max_length=100_000, description="Markdown.")
    products: list[str] = Field(
        default_factory=list, max_length=50, description="Product codes; empty: every product."
    )
    tags: list[str] = Field(default_factory=list, max_length=30)
    status: ArticleStatus = "draft"

    @field_validator("title")
    @classmethod
    def _one_line(cls, value: str) -> str:
        cleaned = " ".join(value.split())
        if len(cleaned) < 3:
            raise ValueError("must have at least 3 characters")
        return cleaned

    @field_validator("products", "tags")
    @classmethod
    def _codes(cls, values: list[str]) -> list[str]:
        cleaned = []
        for value in values:
            item = value.strip()
            if not item or len(item) > 64:
                raise ValueError("each entry has 1 to 64 characters")
            if item not in cleaned:
                cleaned.append(item)
        return cleaned


class ArticleRead(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    products: list[str]
    tags: list[str]
    status: ArticleStatus
    created_at: datetime
    updated_at: datetime


class ArticleSummary(BaseModel):
    id: uuid.UUID
    title: str
    products: list[str]
    tags: list[str]
    status: ArticleStatus
    updated_at: datetime


class ArticlePage(BaseModel):
    items: list[ArticleSummary]
    next_cursor: str | None = None


class Found(BaseModel):
    id: uuid.UUID
    title: str
    snippet: str
    score: float = Field(description="Relevance; higher is better, comparable within a list.")


class SearchResults(BaseModel):
    items: list[Found]


class SuggestionAsked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=20000)
    product_code: str | None = Field(default=None, max_length=64)
    suggestion_id: uuid.UUID | None = Field(
        default=None,
        description="The id an earlier call of this writing returned: one writing is counted "
        "once however often the SPA asks.",
    )


class Suggestions(BaseModel):
    suggestion_id: uuid.UUID
    items: list[Found] = Field(max_length=5)


class FeedbackGiven(BaseModel):
    model_config = ConfigDict(extra="forbid")

    helpful: bool
    reason: NotHelpfulReason | None = Field(default=None, description="Required when not helpful.")
    comment: str | None = Field(default=None, max_length=2000)


class ArticleStats(BaseModel):
    id: uuid.UUID
    title: str
    status: ArticleStatus
    shown: int = Field(description="How many ticket writings it was suggested in.")
    helpful: int
    not_helpful: int
    not_helpful_by_reason: dict[NotHelpfulReason, int]


class KbStats(BaseModel):
    items: list[ArticleStats]
    suggestions: int = Field(description="Ticket writings that were shown suggestions.")
    tickets_after_suggestion: int
    deflection_rate: float | None = Field(
        description="Share of those writings that ended without a ticket; null without any."
    )
