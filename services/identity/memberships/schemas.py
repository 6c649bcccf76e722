"""What clients send and read about memberships (rule 3)."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.identity.models import MembershipRequest, User

MembershipState = Literal["pending", "active", "declined"]


class MembershipRead(BaseModel):
    """A contact who asked to join the organization, and what was decided."""

    user_id: uuid.UUID
    organization_id: uuid.UUID
    full_name: str
    email: str
    phone: str | None
    status: MembershipState
    requested_at: datetime
    decided_at: datetime | None
    decided_by: uuid.UUID | None
    decided_via: Literal["link", "responsible", "admin"] | None

    @classmethod
    def of(cls, request: MembershipRequest, user: User) -> "MembershipRead":
        return cls(
            user_id=user.id,
            organization_id=request.organization_id,
            full_name=user.full_name,
            email=user.email,
            phone=user.phone,
            status=user.membership,
            requested_at=request.requested_at,
            decided_at=request.decided_at,
            decided_by=request.decided_by,
            decided_via=request.decided_via,
        )


class MembershipLink(BaseModel):
    """The token from the link e-mailed to the responsible person."""

    token: str = Field(min_length=1, max_length=200)
