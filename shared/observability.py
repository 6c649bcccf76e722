"""Request ids, structured JSON logs and Prometheus metrics, the same in every process."""

import functools
import logging
import random
import re
import secrets
import sys
import time
from contextvars import ContextVar

import structlog
from fastapi.telemetry import TelemetryConfig
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


HTTP_REQUESTS = Counter(
    "kabinet_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "kabinet_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)

# FastAPI's own OpenTelemetry hooks look up the global providers on every request; Kabinet's
# metrics are Prometheus (below) and its traces are the request ids in the logs.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


# A request id must be unique, not secret: 128 bits of a generator seeded from the system's
# randomness once, instead of a system call per request.
_new_ids = random.Random(secrets.token_bytes(32))


class ObservabilityMiddleware(HttpMiddleware):
    """The outermost layer: every request's id and its measurement, in one pass.

    The id is a well-formed incoming X-Request-ID or a new one; it reaches every log line
    written while the request is handled and is echoed on the answer. The request is counted,
    and its latency observed, by route template (never by raw path: ids would explode it).
    """

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = ""
        for name, value in scope["headers"]:
            if name == _REQUEST_ID_NAME:
                request_id = value.decode("latin-1")
                break
        if not _VALID_REQUEST_ID.match(request_id):
            request_id = f"{_new_ids.getrandbits(128):032x}"
        echoed = (_REQUEST_ID_NAME, request_id.encode())
        token = request_id_var.set(request_id)
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *(
                        header
                        for header in message.get("headers", ())
                        if header[0].lower() != _REQUEST_ID_NAME
                    ),
                    echoed,
                ]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            request_id_var.reset(token)
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            _requests(scope["method"], template, status).inc()
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
