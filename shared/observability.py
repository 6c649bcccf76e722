"""Request ids, structured JSON logs and Prometheus metrics, the same in every process."""

import functools
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from shared.asgi import HttpMiddleware

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_NAME = REQUEST_ID_HEADER.lower().encode()
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def _add_request_id(
    logger: object, method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """The request's id on every line logged while it is handled (one context variable set per
    request, instead of binding and unbinding structlog's own)."""
    request_id = request_id_var.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def configure_logging(level: str = "INFO", json: bool = True, service: str | None = None) -> None:
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    if service:
        structlog.contextvars.bind_contextvars(service=service)
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stdout, format="%(message)s")


class RequestIdMiddleware(HttpMiddleware):
    """Honours a well-formed incoming X-Request-ID or makes one; binds it to logs; echoes it."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = next(
            (value for name, value in scope["headers"] if name.lower() == _REQUEST_ID_NAME), b""
        ).decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != _REQUEST_ID_NAME
                ]
                headers.append((_REQUEST_ID_NAME, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


HTTP_REQUESTS = Counter(
    "kabinet_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "kabinet_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)


class MetricsMiddleware(HttpMiddleware):
    """Counts requests and their latency by route template (never by raw path: ids explode it)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = {"code": 500}

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            _requests(scope["method"], template, status["code"]).inc()
            _latency(scope["method"], template).observe(time.perf_counter() - started)


# The labelled series of each route, looked up once: `labels()` validates and locks every time.
@functools.lru_cache(maxsize=4096)
def _requests(method: str, template: str, status: int) -> Counter:
    return HTTP_REQUESTS.labels(method, template, str(status))


@functools.lru_cache(maxsize=4096)
def _latency(method: str, template: str) -> Histogram:
    return HTTP_LATENCY.labels(method, template)


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
