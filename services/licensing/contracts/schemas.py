"""Contract import (rule 2) and what clients read of contracts, acts and documents."""

import base64
import binascii
import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.licensing.contracts.documents import DOCUMENT_TYPES
from services.licensing.licenses.schemas import LicenseRead
from services.licensing.models import Act, Contract, Document
from shared.events.common import Email, KeySerial, Kpp, Money, TaxId

Number = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


def _lower(value: str) -> str:
    return value.strip().lower()


LowerEmail = Annotated[Email, AfterValidator(_lower)]


class Licensee(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inn: TaxId = Field(description="The licensee's INN (a non-resident's own tax id).")
    kpp: Kpp | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    email: LowerEmail = Field(description="The licensee's e-mail from the contract.")


class LicenseImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    edition: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    seats: int = Field(default=1, ge=1, le=100_000)
    starts_at: date
    expires_at: date | None = Field(
        default=None, description="Last day of validity (Moscow time); null: perpetual."
    )
    key_serial: KeySerial | None = None


class ActItemImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Name
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    amount: Money


class ActImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Number
    date: date
    issued_by: Literal["vendor", "partner"] = Field(
        description="`vendor`, or `partner` for an act from a partner's own accounting program."
    )
    items: list[ActItemImport] = Field(min_length=1, max_length=200)


class DocumentImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    content_type: Literal[tuple(DOCUMENT_TYPES)] = Field(  # type: ignore[valid-type]
        description="One of the accepted types; the content must be of that type."
    )
    content_base64: str = Field(min_length=1, description="The file, base64-encoded.")

    def content(self) -> bytes | None:
        try:
            return base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError):
            return None


class ContractImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Number
    date: date
    licensee: Licensee
    end_user_email: LowerEmail | None = Field(
        default=None, description="For a marketplace order: the end user's e-mail."
    )
    licenses: list[LicenseImport] = Field(default_factory=list, max_length=500)
    acts: list[ActImport] = Field(default_factory=list, max_length=200)
    documents: list[DocumentImport] = Field(default_factory=list, max_length=20)


class ImportedLicense(LicenseRead):
    pass


class ActRef(BaseModel):
    id: uuid.UUID
    number: str


class ContractImported(BaseModel):
    id: uuid.UUID
    number: str
    licenses: list[LicenseRead]
    acts: list[ActRef]


class ActItemRead(BaseModel):
    code: str
    name: str
    quantity: int
    amount: Money


class ActRead(BaseModel):
    id: uuid.UUID
    number: str
    date: date
    issued_by: Literal["vendor", "partner"]
    contract_id: uuid.UUID
    total: Money
    items: list[ActItemRead]

    @classmethod
    def of(cls, act: Act) -> "ActRead":
        return cls(
            id=act.id,
            number=act.number,
            date=act.act_date,
            issued_by=act.issued_by,
            contract_id=act.contract_id,
            total=act.total,
            items=[
                ActItemRead(code=i.code, name=i.name, quantity=i.quantity, amount=i.amount)
                for i in act.items
            ],
        )


class DocumentRead(BaseModel):
    id: uuid.UUID
    name: str
    content_type: str
    size: int

    @classmethod
    def of(cls, document: Document) -> "DocumentRead":
        return cls(
            id=document.id,
            name=document.name,
            content_type=document.content_type,
            size=document.size,
        )


class LicenseeRead(BaseModel):
    inn: str
    kpp: str | None
    name: str
    email: str


class ContractRead(BaseModel):
    id: uuid.UUID
    number: str
    date: date
    licensee: LicenseeRead
    end_user_email: str | None
    organization_id: uuid.UUID | None
    licenses: list[LicenseRead]
    acts: list[ActRead]
    documents: list[DocumentRead]

    @classmethod
    def of(cls, contract: Contract, *, with_licenses: bool = True) -> "ContractRead":
        return cls(
            id=contract.id,
            number=contract.number,
            date=contract.contract_date,
            licensee=LicenseeRead(
                inn=contract.licensee_inn,
                kpp=contract.licensee_kpp,
                name=contract.licensee_name,
                email=contract.licensee_email,
            ),
            end_user_email=contract.end_user_email,
            organization_id=contract.organization_id,
            licenses=[LicenseRead.of(lic) for lic in contract.licenses] if with_licenses else [],
            acts=[ActRead.of(act) for act in contract.acts],
            documents=[DocumentRead.of(document) for document in contract.documents],
        )
