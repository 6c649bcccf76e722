"""Licenses as clients see them, validation (rule 5), registration (rule 6), state changes."""

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.licensing.models import License
from services.licensing.support.schemas import CertificateRead
from shared.events.common import KeySerial, LicenseStatus

ValidationCode = Literal[
    "VALID", "MALFORMED", "NOT_FOUND", "SUSPENDED", "EXPIRED", "REVOKED", "KEY_MISMATCH"
]
TypedCode = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class LicenseRead(BaseModel):
    id: uuid.UUID
    product_code: str
    product_name: str
    edition: str | None
    seats: int
    activation_code: str
    status: LicenseStatus
    starts_at: date
    expires_at: date | None
    key_serial: str | None
    contract_id: uuid.UUID | None

    @classmethod
    def of(cls, license_: License, status: str | None = None) -> "LicenseRead":
        return cls(
            id=license_.id,
            product_code=license_.product.code,
            product_name=license_.product.name,
            edition=license_.edition,
            seats=license_.seats,
            activation_code=license_.activation_code,
            status=(status or license_.status),
            starts_at=license_.starts_at,
            expires_at=license_.expires_at,
            key_serial=license_.key_serial,
            contract_id=license_.contract_id,
        )


class ValidationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activation_code: TypedCode
    key_serial: KeySerial | None = None


class ValidatedLicense(BaseModel):
    """Only what installed software needs: never the owner or the code."""

    product_code: str
    product_name: str
    edition: str | None
    seats: int
    status: LicenseStatus
    expires_at: date | None


class ValidationResult(BaseModel):
    valid: bool
    code: ValidationCode
    license: ValidatedLicense | None


class RegistrationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activation_code: TypedCode


class RenewalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    months: int = Field(default=12, ge=1, le=120, description="Calendar months to add.")


class StateChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class Registered(BaseModel):
    license: LicenseRead
    certificate: CertificateRead = Field(description="The free support certificate it started.")
