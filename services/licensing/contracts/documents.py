"""The document store: contract files live in a directory (`KABINET_DOCUMENTS_DIR`), one file
per document named by its id, so rows stay small and files stream from disk (`shared.files`)."""

import uuid

from shared.files import FileTypes, starts_with

_ZIP = starts_with(b"PK\x03\x04")

# The types a contract's files come in, each with how its content starts (checked, not trusted).
DOCUMENT_TYPES = FileTypes(
    {
        "application/pdf": starts_with(b"%PDF-"),
        "image/png": starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg": starts_with(b"\xff\xd8\xff"),
        "application/zip": _ZIP,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _ZIP,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _ZIP,
        "application/xml": starts_with(b"<?xml"),
    }
)


def document_key(document_id: uuid.UUID) -> str:
    """Where a document's file is kept in the store: spread over 256 directories."""
    return f"{document_id.hex[:2]}/{document_id.hex}"
