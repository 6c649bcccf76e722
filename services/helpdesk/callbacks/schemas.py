"""Callback requests as clients send and read them (spec 40, rule 10)."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CallbackStatus = Literal["scheduled", "done"]


class CallbackAsked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=5, max_length=32, examples=["+7 916 123-45-67"])
    topic: str = Field(min_length=1, max_length=1000)

    @field_validator("name", "topic")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        cleaned = " ".join(value.split())
        if not cleaned:
            raise ValueError("must not be blank")
        return cleaned


class CallbackScheduled(BaseModel):
    id: uuid.UUID
    scheduled_for: datetime = Field(description="When support calls back: its next opening.")


class CallbackRead(BaseModel):
    id: uuid.UUID
    name: str
    phone: str
    topic: str
    status: CallbackStatus
    requested_at: datetime
    scheduled_for: datetime
    done_at: datetime | None
    done_by: uuid.UUID | None


class CallbackPage(BaseModel):
    items: list[CallbackRead]
    next_cursor: str | None = None
