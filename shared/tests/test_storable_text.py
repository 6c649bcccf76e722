"""Text PostgreSQL cannot store is a 422 naming the field in every service, and an unexpected
error is a 500 problem that leaves the connection usable."""

import asyncio
import uuid
from urllib.parse import urlsplit

import pytest
from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from shared.db import SessionDep
from shared.service import ServiceDefinition, create_service_app
from shared.testing.plugin import running
from shared.testing.servers import serve
from shared.tests.conftest import probe_definition


class Line(BaseModel):
    name: str


class Note(BaseModel):
    title: str
    lines: list[Line] = []
    extra: dict[str, str] = {}


def text_probe_definition(name: str = "probe_producer") -> ServiceDefinition:
    """Routes that hand what they get straight to PostgreSQL, and one that fails."""
    router = APIRouter(tags=["probes"])

    async def stored(session: SessionDep, value: str) -> str:
        result = await session.scalar(text("SELECT CAST(:value AS text)"), {"value": value})
        return str(result)

    @router.post("/api/v1/keys/notes")
    async def keep_note(note: Note, session: SessionDep) -> dict[str, str]:
        values = [note.title, *(line.name for line in note.lines), *note.extra.values()]
        return {"stored": "".join([await stored(session, value) for value in values])}

    @router.get("/api/v1/keys/notes/{name}")
    async def read_note(name: str, session: SessionDep, q: str = "") -> dict[str, str]:
        return {"stored": await stored(session, name + q)}

    @router.get("/api/v1/keys/crash")
    async def crash() -> None:
        raise RuntimeError("an unexpected failure")

    @router.get("/api/v1/keys/fine")
    async def fine() -> dict[str, str]:
        return {"status": "fine"}

    return probe_definition(
        name,
        description="text probe",
        routers=[router],
    )


@pytest.fixture
async def probe(platform_settings):
    settings = platform_settings.model_copy(update={"run_workers": False})
    async with running(create_service_app(text_probe_definition(), settings)) as client:
        yield client


def refused_fields(response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {error["field"] for error in response.json()["errors"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "a\u0000b"}, "title"),
        ({"title": "ok", "lines": [{"name": "x"}, {"name": "\u0000"}]}, "lines[1].name"),
        ({"title": "ok", "extra": {"inn": "7707\u00000"}}, "extra.inn"),
        ({"title": "ok", "extra": {"k\u0000": "v"}}, "extra.k\u0000"),
    ],
)
async def test_nul_in_a_json_body_is_a_422_naming_the_field(probe, body, field):
    assert refused_fields(await probe.post("/api/v1/keys/notes", json=body)) == {field}


async def test_an_unpaired_surrogate_is_refused_and_a_pair_is_stored(probe):
    lone = b'{"title": "\\ud800x"}'
    refused = await probe.post(
        "/api/v1/keys/notes", content=lone, headers={"Content-Type": "application/json"}
    )
    assert refused_fields(refused) == {"title"}
    pair = b'{"title": "\\ud83d\\ude00"}'
    kept = await probe.post(
        "/api/v1/keys/notes", content=pair, headers={"Content-Type": "application/json"}
    )
    assert kept.status_code == 200, kept.text
    assert kept.json() == {"stored": "\U0001f600"}


async def test_an_escape_split_across_chunks_is_found(probe):
    async def chunks():
        yield b'{"title": "abc\\u00'
        yield b'00"}'

    response = await probe.post(
        "/api/v1/keys/notes", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert refused_fields(response) == {"title"}


async def test_nul_in_the_path_or_query_is_a_422(probe):
    assert refused_fields(await probe.get("/api/v1/keys/notes/a%00b")) == {"path"}
    assert refused_fields(await probe.get("/api/v1/keys/notes/a", params={"q": "\u0000"})) == {"q"}
    fine = await probe.get("/api/v1/keys/notes/a", params={"q": "b"})
    assert fine.json() == {"stored": "ab"}


async def test_ordinary_text_passes(probe):
    note = {"title": "Ромашка \\u0000 as text", "lines": [{"name": str(uuid.uuid4())}]}
    response = await probe.post("/api/v1/keys/notes", json=note)
    assert response.status_code == 200, response.text


async def test_an_unexpected_error_is_a_500_problem(probe):
    response = await probe.get("/api/v1/keys/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "RuntimeError" not in response.text


async def test_a_500_leaves_the_connection_open_for_the_next_request(platform_settings):
    """The gateway reuses its connections to a service: one closed after a 500 would fail the
    next request that takes it."""
    settings = platform_settings.model_copy(update={"run_workers": False})
    async with serve(create_service_app(text_probe_definition(), settings)) as url:
        address = urlsplit(url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        try:
            answers = []
            for path in ("crash", "fine", "crash", "fine"):
                writer.write(f"GET /api/v1/keys/{path} HTTP/1.1\r\nHost: probe\r\n\r\n".encode())
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                length = int(
                    next(
                        line.split(b":", 1)[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    )
                )
                await reader.readexactly(length)
                answers.append(head.split(b" ", 2)[1])
        finally:
            writer.close()
    assert answers == [b"500", b"200", b"500", b"200"]
