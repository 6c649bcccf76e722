"""A running service in a test, and the callers the gateway would sign for it."""

import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx
from fastapi import FastAPI

from shared.auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.clock import ManualClock
from shared.config import PlatformSettings

S = TypeVar("S", bound=PlatformSettings)

# What `as_()` puts on a request; the harness's client turns it into the caller header the
# gateway would send, sealed for that very request (service, method, path) as it goes out.
CALLER_UNDER_TEST = "X-Test-Caller"


def seal_for_request(request: httpx.Request, service: str, secret: str) -> None:
    """Replaces the test's caller description with a header sealed for this request."""
    described = request.headers.pop(CALLER_UNDER_TEST, None)
    if described is None:
        return
    principal = Principal.model_validate_json(described)
    request.headers[PRINCIPAL_HEADER] = sign_principal(
        principal, secret, service=service, method=request.method, path=request.url.path
    )


def seal_requests(client: httpx.AsyncClient, service: str, secret: str) -> None:
    """Makes `client` turn `as_()` caller descriptions into sealed caller headers."""

    async def seal(request: httpx.Request) -> None:
        seal_for_request(request, service, secret)

    hooks = client.event_hooks
    client.event_hooks = {**hooks, "request": [*hooks.get("request", []), seal]}


def describe_caller(principal: Principal) -> dict[str, str]:
    """Headers that make a request of a sealing client come from `principal`."""
    return {CALLER_UNDER_TEST: principal.model_dump_json()}


@dataclass
class ServiceHarness(Generic[S]):
    client: httpx.AsyncClient
    app: FastAPI
    settings: S
    clock: ManualClock

    def __post_init__(self) -> None:
        service: str = self.app.state.runtime.definition.name
        seal_requests(self.client, service, self.settings.internal_secret)

    def as_(self, principal: Principal) -> dict[str, str]:
        """Headers that make a request of this harness's client come from this caller."""
        return describe_caller(principal)

    def as_admin(self) -> dict[str, str]:
        return self.as_(Principal(kind="user", user_id=uuid.uuid4(), roles=["admin"]))

    def as_agent(self) -> dict[str, str]:
        return self.as_(Principal(kind="user", user_id=uuid.uuid4(), roles=["agent"]))

    def as_contact(
        self, organization_id: uuid.UUID | None = None, roles: tuple[str, ...] = ("contact",)
    ) -> dict[str, str]:
        return self.as_(
            Principal(
                kind="user",
                user_id=uuid.uuid4(),
                organization_id=organization_id or uuid.uuid4(),
                roles=list(roles),
            )
        )

    def as_accountant(self, organization_id: uuid.UUID) -> dict[str, str]:
        return self.as_(
            Principal(kind="accountant", organization_id=organization_id, roles=["accountant"])
        )

    def as_api_key(
        self, organization_id: uuid.UUID, scopes: tuple[str, ...] = ("read",)
    ) -> dict[str, str]:
        return self.as_(
            Principal(
                kind="api_key",
                organization_id=organization_id,
                api_key_id=uuid.uuid4(),
                scopes=list(scopes),
                roles=["partner"],
            )
        )
