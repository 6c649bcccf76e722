"""Vendor staff accounts: support agents and administrators."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.identity.models import User

StaffRole = Literal["agent", "admin"]


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    full_name: str = Field(min_length=1, max_length=300)
    password: str = Field(max_length=256)
    role: StaffRole
    phone: str | None = Field(default=None, max_length=40)


class StaffRead(BaseModel):
    """A staff user: no organization."""

    id: uuid.UUID
    email: str
    full_name: str
    phone: str | None
    roles: list[str]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> "StaffRead":
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            phone=user.phone,
            roles=list(user.roles),
            created_at=user.created_at,
        )
