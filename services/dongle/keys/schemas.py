"""Protection keys (rule 1) as imported and as shown, with their licenses and protection."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.dongle.models import KeyLicense, ProtectionKey, ProtectionSubscription
from shared.events.common import Inn

KeyStatus = Literal["active", "lost", "stolen", "carrier", "retired"]
ProtectionStatus = Literal["pending_payment", "active", "lapsed", "cancelled"]
LicenseStatus = Literal["active", "suspended", "expired", "revoked"]

# Letters, digits, `-` and `_`: a serial is a path segment (`/api/v1/keys/{serial}`).
SERIAL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class KeyImport(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    serial: str = Field(
        pattern=SERIAL_PATTERN,
        description="As printed on the key; CodeMeter serials read like `3-1234567`.",
    )
    kind: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="`codemeter`, `guardant`, `sentinel`, … (lower case).",
    )
    organization_id: uuid.UUID | None = Field(
        default=None, description="The organization that owns the key."
    )
    organization_inn: Inn | None = Field(
        default=None,
        description="Instead of the id: the owner's INN, for a partner that knows its "
        "customer by INN.",
    )

    @model_validator(mode="after")
    def _one_owner(self) -> Self:
        if (self.organization_id is None) == (self.organization_inn is None):
            raise ValueError("give exactly one of organization_id and organization_inn")
        return self


class LicenseOnKey(BaseModel):
    id: uuid.UUID = Field(description="The license's id in licensing.")
    product_code: str
    status: LicenseStatus
    expires_at: date | None = Field(description="Last day of validity; null if perpetual.")

    @classmethod
    def of(cls, license_: KeyLicense) -> Self:
        return cls(
            id=license_.id,
            product_code=license_.product_code,
            status=license_.status,
            expires_at=license_.expires_at,
        )


class ProtectionRead(BaseModel):
    id: uuid.UUID
    status: ProtectionStatus
    price: Decimal | None = Field(
        description="What the invoice asks, in roubles (a decimal string); null until "
        "licensing has issued it."
    )
    invoice_id: uuid.UUID | None = Field(description="The invoice in licensing, once issued.")
    programmed_until: datetime | None = Field(
        description="Validity end of the key's newest update file."
    )

    @classmethod
    def of(cls, subscription: ProtectionSubscription, key: ProtectionKey) -> Self:
        return cls(
            id=subscription.id,
            status=subscription.status,
            price=subscription.price,
            invoice_id=subscription.invoice_id,
            programmed_until=key.programmed_until,
        )


class KeyRead(BaseModel):
    serial: str
    kind: str
    status: KeyStatus
    organization_id: uuid.UUID
    licenses: list[LicenseOnKey] = Field(description="The licenses the key carries.")
    maintenance_ends_at: datetime | None = Field(
        description="End of the key's maintenance; null until a support certificate covers it."
    )
    protection: ProtectionRead | None = Field(
        description="The key protection service: the live subscription, else the latest one; "
        "null if it was never connected."
    )
    created_at: datetime

    @classmethod
    def of(
        cls,
        key: ProtectionKey,
        licenses: list[KeyLicense],
        subscription: ProtectionSubscription | None,
    ) -> Self:
        return cls(
            serial=key.serial,
            kind=key.kind,
            status=key.status,
            organization_id=key.organization_id,
            licenses=[LicenseOnKey.of(license_) for license_ in licenses],
            maintenance_ends_at=key.maintenance_ends_at,
            protection=None if subscription is None else ProtectionRead.of(subscription, key),
            created_at=key.created_at,
        )
