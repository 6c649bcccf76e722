"""RFC 9457 problem details: every error any Kabinet process answers has this shape."""

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from shared.asgi import HttpMiddleware

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://kabinet.dev/problems/"

log = structlog.get_logger(__name__)


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """The body of every error response (documented in each service's OpenAPI)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """A business error; subclasses fix the status and type, raisers give the detail."""

    status: int = 400
    type_name: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        problem = Problem(
            type=TYPE_BASE + self.type_name,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        ).model_dump(exclude_none=True)
        problem.update(self.extra)
        return problem

    def answer(self, instance: str) -> "JSONResponse":
        """The problem as the HTTP answer to a request for `instance`, with its headers."""
        return problem_response(self.status, self.body(instance), self.headers)


class NotFound(ProblemError):
    status, type_name, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, type_name, title = 409, "conflict", "Conflict"


class Unauthorized(ProblemError):
    status, type_name, title = 401, "unauthorized", "Authentication required"


class Forbidden(ProblemError):
    status, type_name, title = 403, "forbidden", "Not allowed"


class TooManyRequests(ProblemError):
    status, type_name, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))}, **extra)


class ValidationFailed(ProblemError):
    """Rules broken by the input: each error names the field (dotted path) and the rule."""

    status, type_name, title = 422, "validation-error", "Invalid input"

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or "The request has invalid fields", errors=errors)


class InvalidInput(ValidationFailed):
    """One rule broken by one field."""

    def __init__(self, field: str, message: str, detail: str | None = None) -> None:
        super().__init__([FieldError(field=field, message=message)], detail or message)


class BadGateway(ProblemError):
    status, type_name, title = 502, "bad-gateway", "Upstream service unavailable"


class GatewayTimeout(ProblemError):
    status, type_name, title = 504, "gateway-timeout", "Upstream service timed out"


class ProblemWhileReading(StarletteHTTPException):
    """A problem found while the framework reads the request body: FastAPI passes an HTTP
    exception raised there on unchanged (anything else would become a bare 400)."""

    def __init__(self, problem: ProblemError) -> None:
        super().__init__(problem.status, problem.detail)
        self.problem = problem


def problem_response(
    status: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def field_path(loc: Sequence[str | int]) -> str:
    """('body', 'organization', 'inn') -> 'organization.inn'; list indexes become [n]."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        source, parts = parts[0], parts[1:]
        if not parts:
            return str(source)
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


def _validation_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    # pydantic prefixes errors raised by our own validators with "Value error, "
    return message.removeprefix("Value error, ")


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return exc.answer(request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            FieldError(field=field_path(e.get("loc", ())), message=_validation_message(e))
            for e in exc.errors()
        ]
        return problem_response(422, ValidationFailed(errors).body(request.url.path))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        body = Problem(
            type=TYPE_BASE + phrase.lower().replace(" ", "-"),
            title=phrase,
            status=status,
            detail=str(exc.detail) if exc.detail else None,
            instance=request.url.path,
        ).model_dump(exclude_none=True)
        return problem_response(status, body, dict(exc.headers or {}))

    async def on_problem_while_reading(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemWhileReading)
        return await on_problem(request, exc.problem)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(ProblemWhileReading, on_problem_while_reading)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    # Innermost of the middlewares, so the others see an ordinary 500 answer.
    app.add_middleware(UnexpectedErrorMiddleware)


def unexpected_error_answer(path: str) -> JSONResponse:
    """The 500 problem for an exception nothing expected, logged with its traceback (call it
    where the exception is being handled)."""
    log.exception("unhandled_error", path=path)
    return problem_response(500, internal_error_body(path))


def internal_error_body(path: str) -> dict[str, Any]:
    return Problem(
        type=TYPE_BASE + "internal-error",
        title="Internal server error",
        status=500,
        detail="The request could not be completed; it has been logged.",
        instance=path,
    ).model_dump(exclude_none=True)


class UnexpectedErrorMiddleware(HttpMiddleware):
    """Answers an unexpected exception with a 500 problem and keeps the connection usable.

    Starlette's own handler re-raises after answering, and the ASGI server then closes the
    keep-alive connection: the gateway's next request on it would fail as "unreachable".
    """

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                # Half an answer is out: only dropping the connection tells the client.
                log.exception("unhandled_error", path=scope["path"])
                raise
            await unexpected_error_answer(scope["path"])(scope, receive, send)


# OpenAPI `responses=` fragment so clients see the problem shape in every service's document.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": desc}
    for code, desc in ((404, "Not found"), (409, "Conflict"), (422, "Invalid input"))
}
