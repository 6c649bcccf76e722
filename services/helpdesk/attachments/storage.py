"""Attachment bytes on disk, outside the database row: one file per attachment under the
configured directory, written to a temporary name and renamed, so a half-written file is never
served."""

import asyncio
import hashlib
import os
import uuid
from pathlib import Path


def storage_key(ticket_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    return f"{ticket_id}/{attachment_id}"


def path_of(root: Path, key: str) -> Path:
    return root / key


def _write(root: Path, key: str, content: bytes) -> None:
    target = path_of(root, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(target)


async def store(root: Path, key: str, content: bytes) -> str:
    """Writes the bytes (off the event loop); returns their SHA-256."""
    await asyncio.to_thread(_write, root, key, content)
    return hashlib.sha256(content).hexdigest()
