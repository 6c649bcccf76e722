"""The routing table: which service owns each public path prefix (the services' spec tables).

Paths are forwarded unchanged; every service serves the full `/api/v1/...` paths itself.
"""

SERVICES = ("identity", "licensing", "helpdesk", "dongle")

API_PREFIX = "/api/"

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

# Longest first, so that a more specific prefix always wins over a shorter one.
_PREFIXES_LONGEST_FIRST = sorted(ROUTES, key=len, reverse=True)


def owning_service(path: str) -> str | None:
    """The service that serves `path`, matching whole segments (`/me` never owns `/metrics`)."""
    for prefix in _PREFIXES_LONGEST_FIRST:
        if path == prefix or path.startswith(prefix + "/"):
            return ROUTES[prefix]
    return None
