"""The document store: contract files live in a directory (`KABINET_DOCUMENTS_DIR`), one file
per document named by its id, so rows stay small and files stream from disk."""

import asyncio
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

# The types a contract's files come in, each with how its content starts (checked, not trusted).
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/zip": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
    "application/xml": (b"<?xml",),
}


def content_matches(content_type: str, content: bytes) -> bool:
    return any(content.startswith(signature) for signature in SIGNATURES.get(content_type, ()))


@dataclass(frozen=True)
class DocumentStore:
    root: Path

    def path_of(self, document_id: uuid.UUID) -> Path:
        return self.root / document_id.hex[:2] / document_id.hex

    async def save(self, document_id: uuid.UUID, content: bytes) -> str:
        """Writes the file (whole or not at all); returns its SHA-256."""
        return await asyncio.to_thread(self._save, document_id, content)

    def _save(self, document_id: uuid.UUID, content: bytes) -> str:
        path = self.path_of(document_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(content)
        os.replace(partial, path)
        return hashlib.sha256(content).hexdigest()

    async def remove(self, document_id: uuid.UUID) -> None:
        await asyncio.to_thread(self.path_of(document_id).unlink, True)
