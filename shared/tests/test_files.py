"""shared.files: the bytes outside the row, their type checked against the content, streamed
back as a download, a missing file a 404."""

import hashlib
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import FileResponse

from shared.files import FileStore, FileTypes, is_text, is_webp, media_type, starts_with
from shared.problems import install_problem_handlers

TYPES = FileTypes(
    {
        "application/pdf": starts_with(b"%PDF-"),
        "application/zip": starts_with(b"PK\x03\x04", b"PK\x05\x06"),
        "image/webp": is_webp,
        "text/plain": is_text,
    }
)


@pytest.mark.parametrize(
    ("content_type", "content", "taken"),
    [
        ("application/pdf", b"%PDF-1.7\n", True),
        ("application/pdf", b"MZ\x90\x00", False),  # an executable renamed .pdf
        ("application/zip", b"PK\x05\x06 empty archive", True),
        ("image/webp", b"RIFF\x10\x00\x00\x00WEBPVP8 ", True),
        ("image/webp", b"RIFF\x10\x00\x00\x00WAVEfmt ", False),
        ("text/plain", "журнал".encode("cp1251"), True),
        ("text/plain", b"log\x00binary", False),
        ("application/x-msdownload", b"MZ\x90\x00", False),  # a type not taken at all
    ],
)
def test_the_bytes_must_be_of_the_declared_type(content_type, content, taken):
    assert TYPES.matches(content_type, content) is taken


def test_a_media_type_drops_its_parameters():
    assert media_type("Text/Plain; charset=utf-8") == "text/plain"
    assert media_type(None) == ""


async def test_a_file_is_written_whole_under_its_key_with_its_digest(tmp_path: Path):
    store = FileStore(tmp_path / "files")
    content = b"%PDF-1.7\n" * 1000

    digest = await store.save("ab/abcdef", content)

    assert digest == hashlib.sha256(content).hexdigest()
    assert (tmp_path / "files" / "ab" / "abcdef").read_bytes() == content
    # No temporary file is left beside it.
    assert [p.name for p in (tmp_path / "files" / "ab").iterdir()] == ["abcdef"]
    await store.save("ab/abcdef", b"again")
    assert store.path_of("ab/abcdef").read_bytes() == b"again"


async def test_a_download_streams_the_file_and_a_missing_one_is_a_404(tmp_path: Path):
    store = FileStore(tmp_path)
    await store.save("t/1", b"%PDF-1.7\n")
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/files/{key}")
    async def download(key: str) -> FileResponse:
        return store.download(
            f"t/{key}", media_type="application/pdf", filename="акт 1.pdf", missing="It is gone"
        )

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        found = await client.get("/files/1")
        gone = await client.get("/files/2")

    assert found.status_code == 200 and found.content == b"%PDF-1.7\n"
    assert found.headers["content-type"] == "application/pdf"
    assert found.headers["x-content-type-options"] == "nosniff"
    assert found.headers["content-disposition"] == (
        "attachment; filename*=utf-8''%D0%B0%D0%BA%D1%82%201.pdf"
    )
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["detail"] == "It is gone"
