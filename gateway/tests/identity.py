"""The real identity service behind the gateway in the edge tests.

Its own app (`services.identity.app.create_app`) on the run's database, served by uvicorn on a
free port, on a clock the tests move, and counted: every path it is asked, so a test sees
whether (and how often) the gateway asked it for keys or key verdicts.
"""

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Receive, Scope, Send

from services.identity.auth.tokens import active_key
from services.identity.config import Settings
from services.identity.models import ContractLink, Organization, User
from services.identity.tests.factories import make_organization, make_user
from shared.clock import ManualClock

JWKS_PATH = "/api/v1/auth/jwks.json"
VERIFY_PATH = "/internal/api-keys/verify"
PASSWORD = "Correct-Horse-42"


class CountingApp:
    """An ASGI app that counts each HTTP path before handing the call to `app`."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.hits: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.hits[scope["path"]] += 1
        await self.app(scope, receive, send)


@dataclass
class RunningIdentity:
    url: str
    app: FastAPI
    settings: Settings
    clock: ManualClock
    hits: Counter[str]

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        sessionmaker: async_sessionmaker[AsyncSession] = self.app.state.sessionmaker
        return sessionmaker

    async def organization(self) -> Organization:
        async with self.sessionmaker() as session, session.begin():
            return await make_organization(session, self.clock)

    async def contact(self) -> User:
        """A contact of a new organization, signing in with `PASSWORD`."""
        async with self.sessionmaker() as session, session.begin():
            organization = await make_organization(session, self.clock)
            return await make_user(session, self.clock, organization, password=PASSWORD)

    async def link_contract(self, organization: Organization, number: str) -> None:
        """What `licensing.contract.attached` leaves behind: accountants may sign in with it."""
        async with self.sessionmaker() as session, session.begin():
            session.add(
                ContractLink(
                    contract_id=uuid.uuid4(),
                    number=number,
                    organization_id=organization.id,
                    licensee_inn=organization.inn,
                    attached_at=self.clock.now(),
                )
            )

    async def sign_with_active_key(self, claims: dict[str, Any]) -> str:
        """A token signed with identity's own current private key, carrying any claims."""
        async with self.sessionmaker() as session:
            key = await active_key(session)
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


# -- calls through a gateway in front of it ------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_in(gateway: httpx.AsyncClient, login: str, password: str) -> dict[str, Any]:
    response = await gateway.post("/api/v1/auth/login", json={"login": login, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def admin_token(gateway: httpx.AsyncClient, identity: RunningIdentity) -> str:
    """The first admin's access token (the admin from identity's settings)."""
    settings = identity.settings
    assert settings.admin_password
    tokens = await sign_in(gateway, settings.admin_email, settings.admin_password)
    return str(tokens["access_token"])


async def issue_key(
    gateway: httpx.AsyncClient, identity: RunningIdentity, scopes: list[str]
) -> dict[str, Any]:
    """A key for a new partner organization, issued by the first admin through `gateway`."""
    partner = await identity.organization()
    token = await admin_token(gateway, identity)
    response = await gateway.post(
        "/api/v1/api-keys",
        json={"organization_id": str(partner.id), "name": "Partner CRM", "scopes": scopes},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    issued["organization_id"] = str(partner.id)
    issued["admin_token"] = token
    return issued
