"""The shipped sample of knowledge-base articles (`articles.yaml`), loaded at every start: an
article is added once by its slug, and one staff have edited is never overwritten."""

import uuid
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from services.helpdesk.kb.repository import KbRepository
from services.helpdesk.kb.service import keywords_of
from shared.service import Runtime

ARTICLES = Path(__file__).with_name("articles.yaml")


@lru_cache(maxsize=1)
def sample_articles() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = yaml.safe_load(ARTICLES.read_text(encoding="utf-8"))
    return loaded


def article_rows(now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid5(uuid.NAMESPACE_URL, f"kabinet:kb:{article['slug']}"),
            "slug": article["slug"],
            "title": article["title"],
            "body": article["body"].strip(),
            "products": article.get("products", []),
            "tags": article.get("tags", []),
            "keywords": keywords_of(article.get("tags", [])),
            "status": "published",
            "created_at": now,
            "updated_at": now,
        }
        for article in sample_articles()
    ]


async def load_sample_articles(runtime: Runtime) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        await KbRepository(session).add_missing(article_rows(runtime.clock.now()))
