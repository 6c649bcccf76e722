"""The routing table: which service owns each public path prefix (the services' spec tables).

Paths are forwarded unchanged; every service serves the full `/api/v1/...` paths itself.
"""

from collections.abc import Mapping

ROUTES: dict[str, str] = {
    # identity (spec/10-identity.md)
    "/api/v1/registration": "identity",
    "/api/v1/directory": "identity",
    "/api/v1/auth": "identity",
    "/api/v1/me": "identity",
    "/api/v1/organizations": "identity",
    "/api/v1/change-requests": "identity",
    "/api/v1/staff": "identity",
    "/api/v1/api-keys": "identity",
    # licensing (spec/20-licensing.md)
    "/api/v1/products": "licensing",
    "/api/v1/price-list": "licensing",
    "/api/v1/contracts": "licensing",
    "/api/v1/upload-requests": "licensing",
    "/api/v1/licenses": "licensing",
    "/api/v1/support-certificates": "licensing",
    "/api/v1/invoices": "licensing",
    "/api/v1/acts": "licensing",
    "/api/v1/reconciliation": "licensing",
    "/api/v1/documents": "licensing",
    # dongle (spec/30-dongle.md)
    "/api/v1/keys": "dongle",
    "/api/v1/admin/prolongation-runs": "dongle",
    # helpdesk (spec/40-helpdesk.md)
    "/api/v1/tickets": "helpdesk",
    "/api/v1/kb": "helpdesk",
    "/api/v1/calendar": "helpdesk",
    "/api/v1/callbacks": "helpdesk",
}


def has_dot_segments(path: str) -> bool:
    """True when a segment is `.` or `..`.

    The upstream client resolves such segments before sending, so `/api/v1/acts/../licenses`
    would be checked as one path and served as another; the gateway serves none of them.
    """
    return any(segment in (".", "..") for segment in path.split("/"))


def path_under(path: str, prefix: str) -> bool:
    """`path` is `prefix` itself or below it, in whole segments."""
    return path == prefix or path.startswith(prefix + "/")


def owning_service(path: str, routes: Mapping[str, str] = ROUTES) -> str | None:
    """The service that serves `path`: the longest prefix that matches whole segments.

    `/api/v1/me` owns `/api/v1/me/password` but not `/api/v1/metrics`; a path with dot
    segments belongs to no service.
    """
    if has_dot_segments(path):
        return None
    # The path itself, then each shorter prefix at a segment boundary: the longest owned first.
    prefix = path
    while prefix:
        service = routes.get(prefix)
        if service is not None:
            return service
        prefix = prefix[: prefix.rfind("/")]
    return None
