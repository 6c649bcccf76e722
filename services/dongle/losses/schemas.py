"""Loss and theft reports (rule 4), replacement keys, keys found again (rule 5)."""

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.dongle.keys.schemas import SERIAL_PATTERN, KeyRead


class LossReportAsked(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["lost", "stolen"]
    note: str | None = Field(default=None, max_length=2000)


class LossReportRead(BaseModel):
    key: KeyRead
    restoration: Literal["invoiced", "not_covered"] = Field(
        description="`invoiced`: an active protection subscription covers restoring the "
        "licenses onto a new key, whose price and delivery licensing invoices; `not_covered`."
    )
    invoice_ids: list[uuid.UUID] = Field(
        description="The replacement invoices licensing has issued so far (they follow the "
        "report within moments)."
    )


class ReplacementAsked(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    new_serial: str = Field(pattern=SERIAL_PATTERN, description="The new CodeMeter key's serial.")
