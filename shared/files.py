"""Files kept outside the database row: the bytes on disk, the row only describing them.

A service names the types it takes (`FileTypes`: each content type with a test of how its
bytes look, so a renamed executable is not a screenshot), keeps files in a `FileStore` under
the directory its settings name (one file per key the service chooses: written whole or not at
all, its SHA-256 returned for the row), and streams one back with `FileStore.download`, a file
gone from the disk being a 404 the service words. How large a file may be, and what a refusal
says, stay the service's own.
"""

import asyncio
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from fastapi.responses import FileResponse

from shared.problems import NotFound

log = structlog.get_logger(__name__)

# How much of a file the content tests look at.
SNIFF_BYTES = 8192

ContentTest = Callable[[bytes], bool]


def starts_with(*signatures: bytes) -> ContentTest:
    """The content opens with one of the signatures (`%PDF-`, the PNG header, …)."""
    return lambda content: content.startswith(signatures)


def is_webp(content: bytes) -> bool:
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


def is_text(content: bytes) -> bool:
    """Text in any 8-bit encoding (logs come in UTF-8 or Windows-1251): no NUL byte."""
    return b"\x00" not in content[:SNIFF_BYTES]


class FileTypes(dict[str, ContentTest]):
    """The content types a service takes, each with the test its bytes must pass."""

    def matches(self, content_type: str, content: bytes) -> bool:
        """The type is one taken and the bytes are of that type."""
        test = self.get(content_type)
        return test is not None and test(content)

    def download_response(self, description: str) -> dict[int | str, dict[str, Any]]:
        """The OpenAPI `responses` of a download: a file is sent back as the type it was
        stored with, one of these."""
        binary = {"schema": {"type": "string", "format": "binary"}}
        return {200: {"description": description, "content": dict.fromkeys(self, binary)}}


def media_type(header: str | None) -> str:
    """The media type of a Content-Type header, without its parameters: `text/plain`."""
    return (header or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class FileStore:
    """Files under `root`, each at a relative key the service chooses (`<ticket>/<attachment>`)."""

    root: Path

    def path_of(self, key: str) -> Path:
        return self.root / key

    async def save(self, key: str, content: bytes) -> str:
        """Writes the file off the event loop, whole or not at all; returns its SHA-256."""
        await asyncio.to_thread(self._write, self.path_of(key), content)
        return hashlib.sha256(content).hexdigest()

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written under another name and renamed: a half-written file is never served.
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)

    def download(self, key: str, *, media_type: str, filename: str, missing: str) -> FileResponse:
        """The file streamed from disk as an attachment named `filename`; a 404 saying
        `missing` (and an error in the log) if it is gone."""
        path = self.path_of(key)
        if not path.is_file():
            log.error("stored_file_missing", path=str(path))
            raise NotFound(missing)
        return FileResponse(
            path,
            media_type=media_type,
            filename=filename,
            headers={"X-Content-Type-Options": "nosniff"},
        )
