"""Stand-ins for the four services: real FastAPI apps, served by uvicorn, that report what
reached them.

Every `/api/...` path is answered by an echo: it reads the body as a stream and records the
method, raw path, query, headers and a digest of the body. Query flags make a response
special: `hold` (answer only when released), `download=<bytes>` (a large streamed body that
pauses after its first chunk until released), `gzip` (a compressed body), `set_cookie`,
`status=<code>`.
"""

import asyncio
import gzip
import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from shared.problems import PROBLEM_RESPONSES
from shared.service import operation_id

SERVICE_NAMES = ("identity", "licensing", "helpdesk", "dongle")
DOWNLOAD_CHUNK = 64 * 1024
# Long enough never to end a test by itself; a held response is always released explicitly.
HOLD_LIMIT_SECONDS = 30


def download_content(size: int) -> bytes:
    """Deterministic, non-repeating-per-chunk bytes, so a reordered or lost chunk shows."""
    pattern = bytes(range(251))
    return (pattern * (size // len(pattern) + 1))[:size]


@dataclass
class ReceivedRequest:
    method: str
    raw_path: str
    query: str
    headers: list[tuple[str, str]]
    body_sha256: str
    body_length: int

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]


class ServiceDouble:
    """One service stand-in, itself the ASGI app that `serve` runs; `url` is set once it listens."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = ""
        self.app = self._build()
        self.reset()

    def reset(self) -> None:
        self.ready = True
        self.hold_readiness = False
        self.received: list[ReceivedRequest] = []
        # Every path asked, including /openapi.json and /readyz, and the headers it last came with.
        self.hits: Counter[str] = Counter()
        self.last_headers: dict[str, dict[bytes, bytes]] = {}
        self.first_chunk_arrived = asyncio.Event()
        self.release = asyncio.Event()
        self.readiness_barrier: asyncio.Barrier | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.hits[scope["path"]] += 1
            self.last_headers[scope["path"]] = dict(scope["headers"])
        await self.app(scope, receive, send)

    def _build(self) -> FastAPI:
        app = FastAPI(title=f"Kabinet {self.name}", generate_unique_id_function=operation_id)
        app.include_router(documented_routes(self.name))
        app.add_api_route("/readyz", self._readyz, include_in_schema=False)
        app.add_api_route(
            "/api/{path:path}",
            self._echo,
            methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            include_in_schema=False,
        )
        return app

    async def _readyz(self) -> JSONResponse:
        if self.readiness_barrier is not None:
            await asyncio.wait_for(self.readiness_barrier.wait(), HOLD_LIMIT_SECONDS)
        if self.hold_readiness:
            await asyncio.wait_for(self.release.wait(), HOLD_LIMIT_SECONDS)
        return JSONResponse({"status": "ready"}, status_code=200 if self.ready else 503)

    async def _echo(self, request: Request) -> Response:
        flags = request.query_params
        if "hold" in flags:
            await asyncio.wait_for(self.release.wait(), HOLD_LIMIT_SECONDS)
        if "download" in flags:
            return self._download(int(flags["download"]))
        if "gzip" in flags:
            return Response(
                gzip.compress(f"compressed by {self.name}".encode()),
                media_type="text/plain",
                headers={"Content-Encoding": "gzip"},
            )
        digest, length = hashlib.sha256(), 0
        async for chunk in request.stream():
            if chunk:
                self.first_chunk_arrived.set()
            digest.update(chunk)
            length += len(chunk)
        self.received.append(
            ReceivedRequest(
                method=request.method,
                raw_path=request.scope["raw_path"].decode("latin-1"),
                query=request.scope["query_string"].decode("latin-1"),
                headers=[(k.decode().lower(), v.decode()) for k, v in request.headers.raw],
                body_sha256=digest.hexdigest(),
                body_length=length,
            )
        )
        response = JSONResponse(
            {"service": self.name, "body_sha256": digest.hexdigest(), "body_length": length},
            status_code=int(flags.get("status", 200)),
            headers={"X-Served-By": self.name},
        )
        if "set_cookie" in flags:
            response.set_cookie("session", f"{self.name}-secret")
            response.set_cookie("theme", "dark")
        return response

    def _download(self, size: int) -> StreamingResponse:
        content = download_content(size)

        async def chunks() -> AsyncIterator[bytes]:
            yield content[:DOWNLOAD_CHUNK]
            # The rest only once the caller has the first chunk: a buffering proxy never does.
            await asyncio.wait_for(self.release.wait(), HOLD_LIMIT_SECONDS)
            for start in range(DOWNLOAD_CHUNK, size, DOWNLOAD_CHUNK):
                yield content[start : start + DOWNLOAD_CHUNK]

        return StreamingResponse(
            chunks(),
            media_type="application/octet-stream",
            headers={"X-Body-Sha256": hashlib.sha256(content).hexdigest()},
        )


def documented_routes(service: str) -> APIRouter:
    """Typed endpoints whose generated OpenAPI gives the merge real work.

    identity and licensing both define `Organization`, differently, and `Contact`, with the
    same text that refers to their own `Organization`; both use the shared `Problem`; both
    name an operation `read_contact`. identity also serves a path the gateway does not route.
    """
    return {
        "identity": _identity_routes,
        "licensing": _licensing_routes,
        "helpdesk": _helpdesk_routes,
        "dongle": _dongle_routes,
    }[service]()


def _identity_routes() -> APIRouter:
    router = APIRouter()

    class Organization(BaseModel):
        id: int
        name: str

    class Contact(BaseModel):
        email: str
        organization: Organization

    @router.get("/api/v1/me", response_model=Contact, responses=PROBLEM_RESPONSES)
    async def read_contact() -> Contact:
        return Contact(email="a@example.ru", organization=Organization(id=1, name="Ромашка"))

    @router.get("/api/v1/organizations/{organization_id}", response_model=Organization)
    async def read_organization(organization_id: int) -> Organization:
        return Organization(id=organization_id, name="Ромашка")

    @router.get("/api/v1/auth/jwks.json", include_in_schema=False)
    async def jwks() -> dict[str, list[str]]:
        return {"keys": []}

    @router.get("/internal/sync")
    async def internal_sync() -> dict[str, str]:
        return {}

    return router


def _licensing_routes() -> APIRouter:
    router = APIRouter()

    class Organization(BaseModel):
        id: int
        inn: str

    class Contact(BaseModel):
        email: str
        organization: Organization

    @router.get(
        "/api/v1/contracts/{contract_id}/contact",
        response_model=Contact,
        responses=PROBLEM_RESPONSES,
    )
    async def read_contact(contract_id: int) -> Contact:
        return Contact(email="b@example.ru", organization=Organization(id=1, inn="7707083893"))

    return router


def _helpdesk_routes() -> APIRouter:
    router = APIRouter()

    class Article(BaseModel):
        id: int
        title: str

    @router.get("/api/v1/kb/articles", response_model=list[Article], responses=PROBLEM_RESPONSES)
    async def list_articles() -> list[Article]:
        return []

    return router


def _dongle_routes() -> APIRouter:
    router = APIRouter()

    class Key(BaseModel):
        serial: str

    @router.get("/api/v1/keys/{serial}", response_model=Key, responses=PROBLEM_RESPONSES)
    async def read_key(serial: str) -> Key:
        return Key(serial=serial)

    return router
