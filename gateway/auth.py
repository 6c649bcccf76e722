"""The edge identity step: what the gateway tells a service about the caller.

What a service learns about the caller arrives in `X-Kabinet-*` headers. The proxy removes
every such header the client sent, then adds only those `identify` returns, so none of them
can be forged from outside.
"""

from starlette.requests import Request

CALLER_HEADER_PREFIX = "x-kabinet-"


def is_caller_header(name: str | bytes) -> bool:
    """True for `X-Kabinet-*` headers, in any letter case."""
    text = name.decode("latin-1") if isinstance(name, bytes) else name
    return text.lower().startswith(CALLER_HEADER_PREFIX)


async def identify(request: Request) -> dict[str, str]:
    """The `X-Kabinet-*` headers that describe the verified caller of `request`.

    The edge identity step; currently anonymous pass-through: no caller is vouched for, so
    every request reaches the services as anonymous. Verifying `Authorization: Bearer` or
    `X-API-Key` belongs here; a bad credential is answered by raising
    `shared.problems.Unauthorized`, which the proxy lets through as a 401 problem.
    """
    return {}
