"""The world `make bench` acts in: the admin, a contact of a new organization signed in through
the gateway, and a partner API key of that organization, each with the credential the gateway
checks and the principal it would sign for the service."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import httpx
import jwt

from deploy.local.benchstack import Stack
from gateway.auth import TokenClaims, VerifiedApiKey
from shared.auth import PRINCIPAL_HEADER, SCOPES, Principal, sign_principal
from shared.db import create_engine, create_sessionmaker

Auth = Literal["anonymous", "contact", "admin", "partner"]


@dataclass
class Account:
    """Someone the scenarios act as: the credential the gateway checks, the principal it signs."""

    credential: dict[str, str]
    principal: Principal
    login: str = ""
    password: str = ""


@dataclass
class World:
    """What the scenarios run against; `values` fills `{placeholders}` in scenario paths."""

    stack: Stack
    client: httpx.AsyncClient
    admin: Account
    contact: Account
    partner: Account
    values: dict[str, str] = field(default_factory=dict)

    def account(self, auth: Auth) -> Account | None:
        return None if auth == "anonymous" else getattr(self, auth)


def signed_caller(
    principal: Principal, secret: str, service: str, method: str, path: str
) -> dict[str, str]:
    """What the gateway would send the service for this call: sealed for it, good once."""
    seal = sign_principal(principal, secret, service=service, method=method, path=path)
    return {PRINCIPAL_HEADER: seal}


async def create_contact(stack: Stack) -> tuple[str, str]:
    """A contact of a new organization, written straight to identity's tables."""
    from services.identity.accounts.passwords import hash_password
    from services.identity.models import Organization, User

    engine = create_engine(stack.database_url, pool_size=1)
    now = datetime.now(UTC)
    email = f"bench-{uuid.uuid4().hex[:10]}@example.ru"
    password = uuid.uuid4().hex
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            organization = Organization(
                country="RU",
                resident=True,
                kind="legal_entity",
                legal_form="ООО",
                full_name="Общество с ограниченной ответственностью Нагрузка",
                short_name="ООО Нагрузка",
                inn="7707083893",
                kpp="773601001",
                requisites={},
                created_at=now,
                updated_at=now,
            )
            session.add(organization)
            await session.flush()
            session.add(
                User(
                    organization_id=organization.id,
                    full_name="Петров Пётр Петрович",
                    email=email,
                    phone=None,
                    password_hash=hash_password(password),
                    roles=["contact"],
                    created_at=now,
                )
            )
    finally:
        await engine.dispose()
    return email, password


async def sign_in(client: httpx.AsyncClient, gateway: str, login: str, password: str) -> Account:
    answer = await client.post(
        f"{gateway}/api/v1/auth/login", json={"login": login, "password": password}
    )
    answer.raise_for_status()
    token = answer.json()["access_token"]
    # The token was just issued by our own identity: its claims are read, not verified.
    claims = jwt.decode(token, options={"verify_signature": False})
    principal = TokenClaims.model_validate(claims).principal()
    return Account({"Authorization": f"Bearer {token}"}, principal, login, password)


async def build_world(stack: Stack, client: httpx.AsyncClient) -> World:
    gateway = stack.urls["gateway"]
    admin = await sign_in(client, gateway, "admin@kabinet.local", stack.admin_password)
    contact = await sign_in(client, gateway, *await create_contact(stack))
    issued = await client.post(
        f"{gateway}/api/v1/api-keys",
        headers=admin.credential,
        json={
            "organization_id": str(contact.principal.organization_id),
            "name": "bench",
            "scopes": sorted(SCOPES),
        },
    )
    issued.raise_for_status()
    key = issued.json()
    partner = VerifiedApiKey(
        api_key_id=key["id"],
        organization_id=contact.principal.organization_id,
        scopes=key["scopes"],
        prefix=key["prefix"],
    ).principal()
    return World(stack, client, admin, contact, Account({"X-API-Key": key["key"]}, partner))
