"""Partner API keys (rule 10): issued with scopes, shown once, stored hashed."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.identity.models import ApiKey

ApiKeyScope = Literal["read", "licenses:write", "orders:write", "tickets:write", "contracts:write"]
# Kept equal to shared.auth.SCOPES by a test.
"""What a partner may do with a key: read its data, or write licenses, orders, tickets,
contracts on its customers' behalf. The services check these in `Principal.scopes`."""


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: uuid.UUID = Field(description="The partner organization the key acts for.")
    name: str = Field(min_length=1, max_length=200, description="What the key is for.")
    scopes: list[ApiKeyScope] = Field(min_length=1, max_length=10)


class ApiKeyIssued(BaseModel):
    """The only answer that carries the key itself: it is never shown again."""

    id: uuid.UUID
    key: str = Field(description="`kab_<prefix>_<secret>`; send it as `X-API-Key`.")
    prefix: str = Field(description="The visible part, `kab_XXXXXXXX`, shown in lists.")
    scopes: list[str]


class ApiKeyRead(BaseModel):
    """A key as listed: never the secret."""

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_by: uuid.UUID | None
    created_at: datetime
    last_used_at: datetime | None = Field(description="Recorded at most once a minute.")
    revoked_at: datetime | None

    @classmethod
    def of(cls, api_key: ApiKey) -> "ApiKeyRead":
        return cls(
            id=api_key.id,
            organization_id=api_key.organization_id,
            name=api_key.name,
            prefix=api_key.prefix,
            scopes=list(api_key.scopes),
            created_by=api_key.created_by,
            created_at=api_key.created_at,
            last_used_at=api_key.last_used_at,
            revoked_at=api_key.revoked_at,
        )


class ApiKeyPresented(BaseModel):
    """The key a partner sent, passed on by the gateway."""

    key: str = Field(max_length=200)


class ApiKeyVerified(BaseModel):
    """Who the key's caller is, for the gateway's signed principal."""

    api_key_id: uuid.UUID
    organization_id: uuid.UUID
    scopes: list[str]
    prefix: str
