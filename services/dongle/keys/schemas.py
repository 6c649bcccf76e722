"""Protection keys (rule 1) as imported by an admin and as listed."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.dongle.models import ProtectionKey

KeyStatus = Literal["active", "lost", "stolen", "carrier", "retired"]


class KeyImport(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Letters, digits, `-` and `_`: a serial is a path segment (`/api/v1/keys/{serial}`).
    serial: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        description="As printed on the key; CodeMeter serials read like `3-1234567`.",
    )
    kind: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="`codemeter`, `guardant`, `sentinel`, … (lower case).",
    )
    organization_id: uuid.UUID = Field(description="The organization that owns the key.")


class KeyRead(BaseModel):
    serial: str
    kind: str
    organization_id: uuid.UUID
    status: KeyStatus
    maintenance_ends_at: datetime | None = Field(
        description="End of the key's maintenance; null until a support certificate covers it."
    )
    created_at: datetime

    @classmethod
    def of(cls, key: ProtectionKey) -> "KeyRead":
        return cls(
            serial=key.serial,
            kind=key.kind,
            organization_id=key.organization_id,
            status=key.status,
            maintenance_ends_at=key.maintenance_ends_at,
            created_at=key.created_at,
        )
