"""Update files as listed, the admin's monthly run, and the JWKS."""

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from services.dongle.models import UpdateFile


class UpdateFileRead(BaseModel):
    sequence: int = Field(description="Per key; only grows.")
    valid_until: datetime
    generated_at: datetime
    month: str = Field(description="The business month it was made in (`YYYY-MM`).")
    trigger: str = Field(description="`activation`, `resumption`, `monthly` or `replacement`.")

    @classmethod
    def of(cls, update_file: UpdateFile) -> Self:
        return cls(
            sequence=update_file.sequence,
            valid_until=update_file.valid_until,
            generated_at=update_file.generated_at,
            month=update_file.month,
            trigger=update_file.trigger,
        )


class UpdateFiles(BaseModel):
    items: list[UpdateFileRead]


class ProlongationRunAsked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Years 2000-2999: the months update files can exist for (and dates can be made of).
    month: str = Field(
        pattern=r"^2\d{3}-(0[1-9]|1[0-2])$",
        description="`YYYY-MM`; a month that has begun (Moscow time).",
        examples=["2026-12"],
    )


class ProlongationRunRead(BaseModel):
    month: str
    generated: int = Field(description="Files made by this run.")
    already_done: int = Field(description="Protected keys that had the month's file already.")


class Jwks(BaseModel):
    keys: list[dict[str, str]]
