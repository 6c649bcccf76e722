import uuid
from typing import Literal

from pydantic import BaseModel, Field


class LoginRequest(BaseModel):
    login: str = Field(min_length=1, max_length=320, description="E-mail or phone")
    password: str = Field(min_length=1, max_length=256)
    organization_id: uuid.UUID | None = None


class AccountantLoginRequest(BaseModel):
    inn: str = Field(min_length=1, max_length=12)
    contract_number: str = Field(min_length=1, max_length=100)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name
    expires_in: int


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class OrganizationChoice(BaseModel):
    id: uuid.UUID
    name: str
    customer_number: str


class RecoveryStart(BaseModel):
    email: str = Field(min_length=3, max_length=320)


class RecoveryVerify(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    code: str = Field(min_length=1, max_length=12)


class RecoveryVerified(BaseModel):
    recovery_token: str
    organizations: list[OrganizationChoice]


class RecoveryComplete(BaseModel):
    recovery_token: str = Field(min_length=1, max_length=200)
    organization_id: uuid.UUID | None = None
    new_password: str = Field(min_length=1, max_length=256)


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str


class Jwks(BaseModel):
    keys: list[dict[str, object]]
