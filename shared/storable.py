"""Text PostgreSQL cannot store (NUL, lone UTF-16 surrogates) is refused at the door with a 422
naming the field, in every service, before any code could hand it to the database.

JSON can carry them only as the escapes `\\u0000` and `\\udXXX`, so a body is searched for those
bytes as it streams past (nothing is copied); only a body that has one is parsed to name the
field. The path and the query string are checked when the request arrives.
"""

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Message, Receive, Scope, Send

from shared.asgi import HttpMiddleware
from shared.problems import FieldError, ProblemWhileReading, ValidationFailed

# `\u0000` or the escape of a UTF-16 surrogate (a valid pair is fine, decided after parsing).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
# A match may straddle two chunks: keep this many bytes of the previous one.
_OVERLAP = 6
STORABLE_RULE = "must not contain NUL characters or unpaired surrogates"


def storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_fields(value: Any, path: str = "") -> list[str]:
    """Dotted paths (`contact.full_name`, `lines[0].name`) of every string that cannot be
    stored; a bad object key names the key itself."""
    if isinstance(value, str):
        return [] if storable(value) else [path or "body"]
    if isinstance(value, list):
        return [
            field
            for n, item in enumerate(value)
            for field in unstorable_fields(item, f"{path}[{n}]")
        ]
    if isinstance(value, dict):
        fields = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            fields += [where] if not storable(str(key)) else unstorable_fields(item, where)
        return fields
    return []


class UnstorableText(ValidationFailed):
    def __init__(self, fields: list[str]) -> None:
        super().__init__(
            [FieldError(field=field, message=STORABLE_RULE) for field in fields],
            "The request has text that cannot be stored",
        )


def _json_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


class StorableTextMiddleware(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        fields = self._in_target(scope)
        if fields:
            error = UnstorableText(fields)
            await error.answer(scope["path"])(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS") or not _json_body(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        suspect = False
        tail = b""

        async def checked_receive() -> Message:
            nonlocal suspect, tail
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk: bytes = message.get("body", b"")
            chunks.append(chunk)
            if not suspect and _SUSPECT_ESCAPE.search(tail + chunk):
                suspect = True
            tail = chunk[-_OVERLAP:]
            if suspect and not message.get("more_body", False):
                # Raised where the app reads the body, so the problem handlers answer it.
                body_fields = _fields_in_json(b"".join(chunks))
                if body_fields:
                    raise ProblemWhileReading(UnstorableText(body_fields))
            return message

        await self.app(scope, checked_receive, send)

    @staticmethod
    def _in_target(scope: Scope) -> list[str]:
        fields = [] if storable(scope["path"]) else ["path"]
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            fields += [
                name
                for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
                if not storable(name) or not storable(value)
            ] or ["query"]
        return fields


def _fields_in_json(body: bytes) -> list[str]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return []  # the framework answers malformed JSON itself
    return unstorable_fields(parsed)
