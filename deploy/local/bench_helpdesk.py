"""`make bench`, helpdesk's part: knowledge-base suggestions over 10,000 articles, opening a
ticket, a contact's ticket list and the agents' queue, measured straight against the service.

helpdesk runs in a process of its own (uvicorn) on a database and bus namespace of its own,
started and removed as for the whole stack (deploy.local.benchstack); this process seeds
10,000 articles and 2,000 tickets with set-based SQL and drives each scenario at a fixed
concurrency. Printed per scenario: requests/s, p50, p95 and p99 (the suggestion target: p95 <=
20 ms direct).

    python -m deploy.local.bench_helpdesk [--articles 10000] [--requests 400] [--concurrency 8]
"""

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from deploy.local.benchstack import QUIET, bench_stack
from services.helpdesk.kb.bootstrap import sample_articles
from shared.auth import PRINCIPAL_HEADER, Principal, sign_principal

# Articles made of the shipped sample's sentences, titles and tags, so the words and their
# spread are those of real support articles.
SEED_ARTICLES = """
WITH sample AS (
    SELECT CAST(:titles AS text[]) AS t, CAST(:bodies AS text[]) AS b, CAST(:tags AS text[]) AS g
)
INSERT INTO helpdesk.kb_articles
    (id, slug, title, body, products, tags, keywords, status, created_at, updated_at)
SELECT gen_random_uuid(), NULL,
       t[1 + (n * 7) % cardinality(t)] || ' — вариант ' || n,
       b[1 + n % cardinality(b)] || E'\\n\\n' || b[1 + (n * 13) % cardinality(b)],
       CASE WHEN n % 3 = 0 THEN ARRAY['BAZIS_FURNITURE'] ELSE ARRAY[]::varchar[] END,
       ARRAY[g[1 + n % cardinality(g)]],
       g[1 + n % cardinality(g)],
       'published', now(), now()
FROM generate_series(1, :count) AS n, sample
"""
SEED_TICKETS = """
INSERT INTO helpdesk.tickets
    (id, subject, description, product_code, category, tier, tier_rank, priority, status,
     close_reason, organization_id, author_id, created_at, status_changed_at, breached)
SELECT gen_random_uuid(), 'Не активируется лицензия ' || n, 'Описание проблемы ' || n,
       'BAZIS_FURNITURE', 'question', 'none', 3, 'lowest',
       CASE WHEN n % 5 = 0 THEN 'closed' ELSE 'new' END,
       CASE WHEN n % 5 = 0 THEN 'agent' END,
       CASE WHEN n % 10 = 0 THEN CAST(:organization AS uuid) ELSE gen_random_uuid() END,
       gen_random_uuid(), now() - n * interval '1 minute', now(), false
FROM generate_series(1, :count) AS n
"""

SUGGEST_TEXTS = [
    ("Не активируется лицензия", "После переустановки Windows пишет, что лицензия не найдена"),
    ("Программа не видит ключ", "Ключ CodeMeter вставлен, индикатор горит, но ключ не найден"),
    ("Как продлить техподдержку", "Оплатили счёт, есть номер акта, что делать дальше"),
    ("Ошибка при установке обновления", "Установка прерывается, пишет недостаточно прав"),
]


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))] * 1000


class Caller:
    """The caller header the gateway would send: sealed for each call, as it does."""

    def __init__(self, principal: Principal | None, secret: str) -> None:
        self.principal = principal
        self.secret = secret

    def headers(self, method: str, path: str) -> dict[str, str]:
        if self.principal is None:
            return {}
        seal = sign_principal(
            self.principal, self.secret, service="helpdesk", method=method, path=path
        )
        return {PRINCIPAL_HEADER: seal}


async def measure(
    client: httpx.AsyncClient,
    name: str,
    send: Callable[[int], Any],
    requests: int,
    workers: int,
) -> None:
    for n in range(5):
        (await send(n)).raise_for_status()
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(requests))

    async def worker() -> None:
        for n in counter:
            started = time.perf_counter()
            response = await send(n)
            if response.status_code >= 400:
                errors.append(f"{response.status_code} {response.text[:200]}")
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [float("nan")]
    print(
        f"{name:<34} {len(latencies) / elapsed:>8.1f} req/s  p50 {_percentile(ordered, 0.5):6.2f}"
        f"  p95 {_percentile(ordered, 0.95):6.2f}  p99 {_percentile(ordered, 0.99):6.2f} ms"
        f"  errors {len(errors)}" + (f" (first: {errors[0]})" if errors else ""),
        flush=True,
    )


async def scenarios(
    url: str, secret: str, organization: uuid.UUID, requests: int, workers: int
) -> None:
    contact = Caller(
        Principal(
            kind="user", user_id=uuid.uuid4(), organization_id=organization, roles=["contact"]
        ),
        secret,
    )
    agent = Caller(Principal(kind="user", user_id=uuid.uuid4(), roles=["agent"]), secret)
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        def suggest(n: int) -> Any:
            subject, description = SUGGEST_TEXTS[n % len(SUGGEST_TEXTS)]
            return client.post(
                "/api/v1/kb/suggest", json={"subject": subject, "description": description}
            )

        def open_ticket(n: int) -> Any:
            path = "/api/v1/tickets"
            body = {
                "subject": f"Не активируется лицензия {n}",
                "description": "После переустановки Windows лицензия не найдена.",
                "product_code": "BAZIS_FURNITURE",
                "category": "question",
            }
            return client.post(path, json=body, headers=contact.headers("POST", path))

        def my_tickets(n: int) -> Any:
            path = "/api/v1/tickets"
            return client.get(path, headers=contact.headers("GET", path))

        def queue(n: int) -> Any:
            path = "/api/v1/tickets"
            return client.get(path, headers=agent.headers("GET", path))

        print(f"\n{requests} requests per scenario at concurrency {workers}, direct:")
        await measure(client, "POST /api/v1/kb/suggest", suggest, requests, workers)
        # What one person writing a ticket waits for, with nobody else queued beside them.
        await measure(client, "POST /api/v1/kb/suggest, 1 conn.", suggest, requests, 1)
        await measure(client, "POST /api/v1/tickets", open_ticket, requests, workers)
        await measure(client, "GET /api/v1/tickets (contact)", my_tickets, requests, workers)
        await measure(client, "GET /api/v1/tickets (agent queue)", queue, requests, workers)


async def seed(database_url: str, articles: int, organization: uuid.UUID) -> None:
    sample = sample_articles()
    engine = create_async_engine(database_url)
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(
            text(SEED_ARTICLES),
            {
                "titles": [a["title"] for a in sample],
                "bodies": [a["body"] for a in sample],
                "tags": sorted({t for a in sample for t in a.get("tags", [])}),
                "count": articles,
            },
        )
        await conn.execute(text(SEED_TICKETS), {"organization": str(organization), "count": 2000})
        await conn.execute(text("ANALYZE helpdesk.kb_articles"))
        await conn.execute(text("ANALYZE helpdesk.tickets"))
    await engine.dispose()
    print(
        f"seeded {articles} articles and 2000 tickets in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


async def main_async(articles: int, requests: int, workers: int) -> None:
    organization = uuid.uuid4()
    # A small fixed pool: the database server is shared with whatever else runs.
    env = {**QUIET, "KABINET_DB_POOL_SIZE": "5"}
    async with bench_stack(services=["helpdesk"], gateway=False, anchor=False, env=env) as stack:
        settings, database_url, url = stack.settings, stack.database_url, stack.urls["helpdesk"]
        await seed(database_url, articles, organization)
        await scenarios(url, settings.internal_secret, organization, requests, workers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main_async(args.articles, args.requests, args.concurrency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
