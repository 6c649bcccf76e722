"""Rule 4: which files a ticket takes — screenshots, logs, documents and archives — and whether
the bytes are what the declared type says (a renamed executable is not a screenshot)."""

from collections.abc import Callable

SNIFF_BYTES = 8192


def _starts(*signatures: bytes) -> Callable[[bytes], bool]:
    return lambda content: any(content.startswith(signature) for signature in signatures)


def _webp(content: bytes) -> bool:
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


def _text(content: bytes) -> bool:
    # Logs come in UTF-8 or Windows-1251: any bytes but NUL, which no text file has.
    return b"\x00" not in content[:SNIFF_BYTES]


ALLOWED: dict[str, Callable[[bytes], bool]] = {
    "image/png": _starts(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": _starts(b"\xff\xd8\xff"),
    "image/gif": _starts(b"GIF87a", b"GIF89a"),
    "image/webp": _webp,
    "image/bmp": _starts(b"BM"),
    "application/pdf": _starts(b"%PDF-"),
    "application/zip": _starts(b"PK\x03\x04", b"PK\x05\x06"),
    "application/x-zip-compressed": _starts(b"PK\x03\x04", b"PK\x05\x06"),
    "application/gzip": _starts(b"\x1f\x8b"),
    "application/x-7z-compressed": _starts(b"7z\xbc\xaf\x27\x1c"),
    "text/plain": _text,
    "text/csv": _text,
    "text/xml": _text,
    "application/xml": _text,
    "application/json": _text,
}


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def content_problem(declared: str, content: bytes) -> str | None:
    """Why the file is refused, or None."""
    check = ALLOWED.get(declared)
    if check is None:
        return (
            f"files of type {declared or 'unknown'!r} are not accepted; screenshots "
            "(PNG, JPEG, GIF, WebP, BMP), logs and text, PDF and archives (ZIP, GZIP, 7z) are"
        )
    if not content:
        return "the file is empty"
    if not check(content):
        return f"the content is not {declared}"
    return None
