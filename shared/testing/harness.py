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


@dataclass
class ServiceHarness(Generic[S]):
    client: httpx.AsyncClient
    app: FastAPI
    settings: S
    clock: ManualClock

    def as_(self, principal: Principal) -> dict[str, str]:
        """Headers the gateway would send for this caller."""
        return {PRINCIPAL_HEADER: sign_principal(principal, self.settings.internal_secret)}

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
