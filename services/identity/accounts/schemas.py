import uuid

from pydantic import BaseModel, Field

from services.identity.organizations.schemas import Role


class MeUser(BaseModel):
    id: uuid.UUID | None
    full_name: str | None
    email: str | None
    phone: str | None
    roles: list[Role]


class MeOrganization(BaseModel):
    id: uuid.UUID
    name: str
    inn: str | None
    kpp: str | None
    customer_number: str


class MeApiKey(BaseModel):
    id: uuid.UUID
    prefix: str
    scopes: list[str]


class Me(BaseModel):
    user: MeUser | None = None
    api_key: MeApiKey | None = None
    organization: MeOrganization | None


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)
