"""Upload requests (rule 3): a contact asks for contracts to be put into its account."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.licensing.models import UploadRequest

UploadStatus = Literal["pending", "approved", "rejected"]


class UploadRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    numbers: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    ] = Field(min_length=1, max_length=50, description="Contract or order numbers.")
    terms_version: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="The version of the account terms shown (`GET /api/v1/upload-requests/terms`)."
    )
    accept_terms: bool = Field(description="Must be true: the terms are accepted.")


class UploadRequestRead(BaseModel):
    id: uuid.UUID
    status: UploadStatus
    numbers: list[str]
    terms_version: str
    accepted_at: datetime
    organization_id: uuid.UUID
    decided_at: datetime | None
    reason: str | None

    @classmethod
    def of(cls, request: UploadRequest) -> "UploadRequestRead":
        return cls(
            id=request.id,
            status=request.status,
            numbers=request.numbers,
            terms_version=request.terms_version,
            accepted_at=request.accepted_at,
            organization_id=request.organization_id,
            decided_at=request.decided_at,
            reason=request.reason,
        )


class Terms(BaseModel):
    version: str
    text: str


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
