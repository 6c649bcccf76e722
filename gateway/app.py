"""The gateway: `uvicorn gateway.app:create_app --factory`."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import fastapi_offline
import httpx
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth import Authenticator
from gateway.config import GatewaySettings, get_settings
from gateway.openapi import ServiceDocuments
from gateway.proxy import ServiceProxy, upstream_client, upstream_pool
from gateway.ratelimit import RateLimits
from gateway.upstream import UpstreamPool
from shared.clock import Clock, SystemClock
from shared.observability import (
    NO_TELEMETRY,
    REQUEST_ID_HEADER,
    ObservabilityMiddleware,
    configure_logging,
    metrics_endpoint,
)
from shared.problems import (
    ProblemError,
    Unauthorized,
    install_problem_handlers,
    unexpected_error_answer,
)

log = structlog.get_logger(__name__)

# Swagger UI 5 (renders OpenAPI 3.1), as packaged by fastapi-offline.
SWAGGER_UI_ASSETS = Path(fastapi_offline.__file__).with_name("static")
PROXIED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Response headers a browser SPA on another origin needs to read.
CORS_EXPOSED_HEADERS = [
    REQUEST_ID_HEADER,
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Content-Disposition",
    "Location",
]


class Gateway:
    """The process-wide objects of the running gateway, kept on `app.state.gateway`."""

    def __init__(
        self,
        settings: GatewaySettings,
        client: httpx.AsyncClient,
        pool: UpstreamPool,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.client = client
        self.service_urls = settings.service_urls()
        self.authenticator = Authenticator(settings, client, clock)
        self.rate_limits = RateLimits(settings, clock)
        self.proxy = ServiceProxy(pool, self.service_urls, settings)
        self.documents = ServiceDocuments(
            client,
            self.service_urls,
            ttl=settings.gateway_openapi_ttl,
            timeout=settings.gateway_probe_timeout,
        )

    async def service_readiness(self) -> dict[str, str]:
        """Every service's own /readyz, asked at once, each with the short probe timeout."""
        services = list(self.service_urls)
        answers = await asyncio.gather(*(self._readiness_of(service) for service in services))
        return dict(zip(services, answers, strict=True))

    async def _readiness_of(self, service: str) -> str:
        url = f"{self.service_urls[service]}/readyz"
        try:
            response = await self.client.get(url, timeout=self.settings.gateway_probe_timeout)
        except httpx.HTTPError as exc:
            return f"unavailable: {type(exc).__name__}"
        return "ok" if response.status_code == 200 else f"not ready: {response.status_code}"


async def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def create_app(settings: GatewaySettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The gateway; `clock` (tests) drives token expiry, cache lifetimes and rate limits."""
    settings = settings or get_settings()
    clock = clock or SystemClock()
    configure_logging(settings.log_level, settings.log_json, service="gateway")
    # httpx logs every forwarded request at INFO, unstructured; the access log already has them.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with upstream_client(settings) as client, upstream_pool(settings) as pool:
            app.state.gateway = Gateway(settings, client, pool, clock)
            log.info("gateway_started", services=settings.service_urls())
            yield
        log.info("gateway_stopped")

    # The gateway's own schema routes are replaced by the merged document below.
    app = FastAPI(
        title="Kabinet gateway",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_TELEMETRY,
    )
    install_problem_handlers(app)
    app.add_middleware(Forwarding, route=FORWARDED)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=CORS_EXPOSED_HEADERS,
        )
    # Outermost, so that every answer, even a CORS refusal, carries the request id.
    app.add_middleware(ObservabilityMiddleware)

    # `Forwarding` answers the public requests before they reach the router; the route is the
    # same `forward` for any that would not pass there, and answers 405 to other methods.
    app.router.routes.append(FORWARDED)
    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_api_route("/healthz", healthz, include_in_schema=False)
    app.add_api_route("/readyz", readyz, include_in_schema=False)
    app.add_api_route("/status", status, include_in_schema=False)
    app.add_api_route("/openapi.json", openapi_document, include_in_schema=False)
    app.add_api_route("/docs", swagger_ui, include_in_schema=False)
    # Swagger UI's own files are served from here, so /docs works without the internet.
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_UI_ASSETS), name="docs-assets")
    return app


async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def readyz(gateway: GatewayDep) -> JSONResponse:
    """Ready when the gateway itself can serve: it knows identity's signing keys. One service's
    outage must not take the whole edge out of the load balancer (see /status for those)."""
    checks = {"signing_keys": await gateway.authenticator.signing_keys.readiness()}
    ready = all(status == "ok" for status in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def status(gateway: GatewayDep) -> JSONResponse:
    """Every service's own readiness, asked at once: what is up behind the edge."""
    services = await gateway.service_readiness()
    healthy = all(state == "ok" for state in services.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", "services": services})


async def openapi_document(gateway: GatewayDep) -> JSONResponse:
    return JSONResponse(await gateway.documents.merged())


async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Kabinet API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png",
    )


class Forwarding:
    """Every public request (`/api/...`) is forwarded here, inside the request id, the metrics
    and CORS, ahead of the router: FastAPI's and Starlette's layers below (exception and
    error middleware, the exit stack, routing, request-response wrapping) were a sixth of the
    gateway's CPU per forwarded request, for a route with nothing to parse. What they did
    for it is done here: a problem raised on the way is answered as the app's handler
    answers it, anything unexpected is logged and answered with a 500 problem.
    """

    def __init__(self, app: ASGIApp, route: Route) -> None:
        self.app = app
        self._route = route
        self._methods = route.methods or set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith("/api/")
            or scope["method"] not in self._methods
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = self._route  # the metrics' route template
        try:
            response = await forward(Request(scope, receive))
        except ProblemError as problem:
            response = problem.answer(scope["path"])
        except Exception:
            response = unexpected_error_answer(scope["path"])
        # A body that breaks off once its answer has started can only drop the connection.
        await response(scope, receive, send)


async def forward(request: Request) -> Response:
    """The edge steps in order: who calls (401/403), within its limits (429), then the service."""
    gateway: Gateway = request.app.state.gateway
    authenticator = gateway.authenticator
    if authenticator.has_credential(request):
        failure = gateway.rate_limits.hold_failure(request)
        try:
            caller = await authenticator.identify(request)
        except Unauthorized:
            raise
        except BaseException:
            gateway.rate_limits.clear_failure(failure)
            raise
        gateway.rate_limits.clear_failure(failure)
    else:
        caller = None
    quota = gateway.rate_limits.admit(request, caller)
    service = gateway.proxy.service_for(request)
    caller_headers = authenticator.caller_headers(caller, service, request)
    response = await gateway.proxy.forward(request, service, caller_headers)
    if quota is not None:
        response.headers.update(quota.headers())
    return response


# Every public path, forwarded unchanged to the service that owns it.
FORWARDED = Route("/api/{path:path}", forward, methods=PROXIED_METHODS, include_in_schema=False)
