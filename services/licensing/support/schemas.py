"""Support certificates (rule 7) and renewal of paid support by an act (rule 8)."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from services.licensing.models import SupportCertificate
from shared.events.common import Inn, KeySerial, ProductCode, SupportTier

CertificateNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
]


class CertificateRead(BaseModel):
    id: uuid.UUID
    number: str
    tier: SupportTier
    status: Literal["active", "ended"]
    products: list[str]
    key_serials: list[str]
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def of(cls, certificate: SupportCertificate, status: str | None = None) -> "CertificateRead":
        return cls(
            id=certificate.id,
            number=certificate.number,
            tier=certificate.tier,
            status=(status or certificate.status),
            products=list(certificate.products),
            key_serials=list(certificate.key_serials),
            starts_at=certificate.starts_at,
            ends_at=certificate.ends_at,
        )


class CertificateIssue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: uuid.UUID | None = None
    organization_inn: Inn | None = None
    tier: SupportTier
    products: list[ProductCode] = Field(default_factory=list, max_length=100)
    key_serials: list[KeySerial] = Field(default_factory=list, max_length=100)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    number: CertificateNumber | None = None


class CertificateRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: CertificateNumber


class RenewalByAct(BaseModel):
    model_config = ConfigDict(extra="forbid")

    act_number: CertificateNumber


class Renewed(BaseModel):
    certificate: CertificateRead
    renewed_until: datetime
