"""The edge identity step: what the gateway tells a service about the caller.

Services trust only `X-Kabinet-*` headers, and only because the gateway sets them: every such
header a client sends is stripped before forwarding (see `strip_caller_headers`), and
`identify` supplies the ones the gateway vouches for.
"""

from starlette.requests import Request

CALLER_HEADER_PREFIX = "x-kabinet-"


def is_caller_header(name: str | bytes) -> bool:
    """True for `X-Kabinet-*` headers, in any letter case."""
    text = name.decode("latin-1") if isinstance(name, bytes) else name
    return text.lower().startswith(CALLER_HEADER_PREFIX)


async def identify(request: Request) -> dict[str, str]:
    """Headers (all `X-Kabinet-*`) that describe the verified caller of `request`.

    The edge identity step; currently anonymous pass-through: no caller is vouched for, so
    services see every request as anonymous. Verifying a bearer JWT or an `X-API-Key` and
    raising `shared.problems.Unauthorized` for a bad credential belongs here.
    """
    return {}
