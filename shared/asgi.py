"""The one shape of Kabinet's middleware: pure ASGI, never `BaseHTTPMiddleware` (docs/platform.md,
"Performance"), looking at HTTP requests only."""

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    """Hands HTTP requests to `http()`; anything else (lifespan, websockets) passes straight
    through to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
