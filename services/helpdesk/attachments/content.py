"""Rule 4: which files a ticket takes — screenshots, logs, documents and archives — and whether
the bytes are what the declared type says (a renamed executable is not a screenshot)."""

from shared.files import FileTypes, is_text, is_webp, starts_with

_ZIP = starts_with(b"PK\x03\x04", b"PK\x05\x06")

ALLOWED = FileTypes(
    {
        "image/png": starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg": starts_with(b"\xff\xd8\xff"),
        "image/gif": starts_with(b"GIF87a", b"GIF89a"),
        "image/webp": is_webp,
        "image/bmp": starts_with(b"BM"),
        "application/pdf": starts_with(b"%PDF-"),
        "application/zip": _ZIP,
        "application/x-zip-compressed": _ZIP,
        "application/gzip": starts_with(b"\x1f\x8b"),
        "application/x-7z-compressed": starts_with(b"7z\xbc\xaf\x27\x1c"),
        "text/plain": is_text,
        "text/csv": is_text,
        "text/xml": is_text,
        "application/xml": is_text,
        "application/json": is_text,
    }
)


def content_problem(declared: str, content: bytes) -> str | None:
    """Why the file is refused, or None."""
    if declared not in ALLOWED:
        return (
            f"files of type {declared or 'unknown'!r} are not accepted; screenshots "
            "(PNG, JPEG, GIF, WebP, BMP), logs and text, PDF and archives (ZIP, GZIP, 7z) are"
        )
    if not content:
        return "the file is empty"
    if not ALLOWED.matches(declared, content):
        return f"the content is not {declared}"
    return None
