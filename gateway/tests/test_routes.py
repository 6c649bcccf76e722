"""The routing table: every path of the services' spec tables goes to its owner."""

import pytest

from gateway.routes import ROUTES, owning_service

# Paths from the endpoint tables of spec/10..40, each with the service that owns it.
SPEC_PATHS = {
    "identity": [
        "/api/v1/registration",
        "/api/v1/registration/lookup",
        "/api/v1/registration/5/verify",
        "/api/v1/directory/banks/044525225",
        "/api/v1/directory/postal-codes/101000",
        "/api/v1/auth/login",
        "/api/v1/auth/jwks.json",
        "/api/v1/auth/password-recovery/verify",
        "/api/v1/me",
        "/api/v1/me/password",
        "/api/v1/organizations/5/contacts",
        "/api/v1/change-requests/5/approve",
        "/api/v1/staff",
        "/api/v1/api-keys/5",
    ],
    "licensing": [
        "/api/v1/products",
        "/api/v1/price-list",
        "/api/v1/price-list/versions",
        "/api/v1/contracts/5",
        "/api/v1/upload-requests/5/reject",
        "/api/v1/licenses/register",
        "/api/v1/licenses/validate",
        "/api/v1/licenses/5/suspend",
        "/api/v1/support-certificates/renew",
        "/api/v1/invoices/5/payments",
        "/api/v1/acts",
        "/api/v1/reconciliation",
        "/api/v1/documents/5",
    ],
    "dongle": [
        "/api/v1/keys",
        "/api/v1/keys/SN-1/protection",
        "/api/v1/keys/SN-1/protection/history",
        "/api/v1/keys/SN-1/updates/3",
        "/api/v1/keys/SN-1/loss-report",
        "/api/v1/admin/prolongation-runs",
    ],
    "helpdesk": [
        "/api/v1/tickets",
        "/api/v1/tickets/5/attachments/7",
        "/api/v1/tickets/5/remote-session",
        "/api/v1/kb/articles/5/feedback",
        "/api/v1/kb/search",
        "/api/v1/kb/suggest",
        "/api/v1/calendar/status",
        "/api/v1/calendar/days/2025-01-01",
        "/api/v1/callbacks/5/done",
    ],
}


@pytest.mark.parametrize(
    ("path", "service"),
    [(path, service) for service, paths in SPEC_PATHS.items() for path in paths],
)
def test_spec_paths_go_to_their_service(path, service):
    assert owning_service(path) == service


def test_every_service_owns_some_prefix():
    assert set(ROUTES.values()) == {"identity", "licensing", "helpdesk", "dongle"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/metrics",  # shares letters with /api/v1/me, not a segment
        "/api/v1/keysets",
        "/api/v1/admin/other-runs",  # /admin as a whole is not routed, one run kind is
        "/api/v1",
        "/api/v2/tickets",
        "/api/v1/",
        # Dot segments would be resolved by the upstream client into another path.
        "/api/v1/acts/../licenses",
        "/api/v1/me/./password",
        "/api/v1/tickets/..",
    ],
)
def test_paths_no_service_owns(path):
    assert owning_service(path) is None


def test_longest_prefix_wins():
    routes = {"/api/v1/kb": "helpdesk", "/api/v1/kb/licensed-articles": "licensing"}
    assert owning_service("/api/v1/kb/licensed-articles/5", routes) == "licensing"
    assert owning_service("/api/v1/kb/articles/5", routes) == "helpdesk"
