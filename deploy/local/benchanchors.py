"""The anchors of `make bench`: the least a FastAPI process can do, on this machine, in this run.

`/healthz` answers a constant; `/select` answers the catalogue from one `SELECT` on a bare
asyncpg pool (the same rows licensing's `GET /api/v1/products` reads), with no middleware, no
ORM and no session. A service's figure divided by its anchor's is what the bench tracks.

    uvicorn deploy.local.benchanchors:create_app --factory   (KABINET_DATABASE_URL as usual)
"""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from sqlalchemy.engine import make_url

from shared.config import PlatformSettings

# One page of the catalogue, as `GET /api/v1/products` reads it.
SELECT = "SELECT * FROM licensing.products ORDER BY code LIMIT 50"


def create_app() -> FastAPI:
    settings = PlatformSettings()
    dsn = (
        make_url(settings.database_url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=settings.db_pool_size)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/select")
    async def select(request: Request) -> dict[str, Any]:
        rows = await request.app.state.pool.fetch(SELECT)
        return {"items": [dict(row) for row in rows], "next_cursor": None}

    return app
