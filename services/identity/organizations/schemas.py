"""What clients send and receive for organizations, their contacts and data-change requests."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from services.identity.models import ChangeRequest, Organization, User
from services.identity.organizations.auth import is_responsible
from services.identity.requisites.organization import (
    Address,
    AddressIn,
    BankDetails,
    BankDetailsIn,
)

Role = Literal["contact", "responsible", "accountant", "agent", "admin"]
ChangeRequestStatus = Literal["pending", "approved", "rejected"]
ChangeTarget = Literal["organization", "user"]


def customer_number_text(number: int) -> str:
    """Rule 6: the customer number as people read it, at least 6 digits."""
    return f"{number:06d}"


class OrganizationRead(BaseModel):
    """An organization with its requisites; `customer_number` is its short number (rule 6)."""

    id: uuid.UUID
    customer_number: str = Field(pattern=r"^\d{6,}$", examples=["100001"])
    kind: Literal["legal_entity", "sole_proprietor"]
    legal_form: str
    country: str
    resident: bool
    non_resident: bool
    full_name: str
    short_name: str | None
    inn: str | None
    kpp: str | None
    tax_id: str | None
    subdivision: str | None
    ogrn: str | None
    okved: str | None
    okpo: str | None
    classification: str | None
    director_name: str | None
    director_name_genitive: str | None
    director_basis: str | None
    bank: BankDetails | None
    legal_address: Address | None
    actual_address: Address | None = Field(description="null: the same as the legal address.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, organization: Organization) -> "OrganizationRead":
        requisites = organization.requisites or {}
        return cls(
            id=organization.id,
            customer_number=customer_number_text(organization.customer_number),
            kind=organization.kind,
            legal_form=organization.legal_form,
            country=organization.country,
            resident=organization.resident,
            non_resident=not organization.resident,
            full_name=organization.full_name,
            short_name=organization.short_name,
            inn=organization.inn,
            kpp=organization.kpp,
            tax_id=organization.tax_id,
            subdivision=organization.subdivision,
            ogrn=requisites.get("ogrn"),
            okved=requisites.get("okved"),
            okpo=requisites.get("okpo"),
            classification=requisites.get("classification"),
            director_name=requisites.get("director_name"),
            director_name_genitive=requisites.get("director_name_genitive"),
            director_basis=requisites.get("director_basis"),
            bank=requisites.get("bank"),
            legal_address=requisites.get("legal_address"),
            actual_address=requisites.get("actual_address"),
            created_at=organization.created_at,
            updated_at=organization.updated_at,
        )


class ContactRead(BaseModel):
    """A contact person of an organization; `responsible` marks the responsible person."""

    id: uuid.UUID
    full_name: str
    email: str
    phone: str | None
    roles: list[str]
    responsible: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> "ContactRead":
        return cls(
            id=user.id,
            full_name=user.full_name,
            email=user.email,
            phone=user.phone,
            roles=list(user.roles),
            responsible=is_responsible(user),
            created_at=user.created_at,
        )


# --- data-change requests (rule 5) ---------------------------------------------------------


class BankChange(BankDetailsIn):
    """The organization's bank, given whole: the accounts are checked against the BIK.

    `name` and `correspondent_account` come from the BIK directory when null.
    """

    model_config = ConfigDict(extra="forbid")

    settlement_account: str = Field(max_length=30)


class AddressChange(AddressIn):
    """A Russian address's `region` and `locality` come from the postal index when null."""

    model_config = ConfigDict(extra="forbid")


class OrganizationChanges(BaseModel):
    """Locked requisites a contact may ask to change; only the fields given are changed.

    `director_name_genitive` is suggested from the new director's name when not given;
    `actual_address: null` means "the same as the legal address".
    """

    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, max_length=500)
    short_name: str | None = Field(default=None, max_length=300)
    kpp: str | None = Field(default=None, max_length=20)
    ogrn: str | None = Field(default=None, max_length=20)
    okved: str | None = Field(default=None, max_length=20)
    okpo: str | None = Field(default=None, max_length=20)
    director_name: str | None = Field(default=None, max_length=300)
    director_name_genitive: str | None = Field(default=None, max_length=300)
    director_basis: str | None = Field(default=None, max_length=300)
    bank: BankChange | None = None
    legal_address: AddressChange | None = None
    actual_address: AddressChange | None = None


class UserChanges(BaseModel):
    """A person's locked data: full name, e-mail, phone; only the fields given are changed."""

    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class ChangeRequestCreate(BaseModel):
    """Exactly one of `organization` (the caller's organization) or `user` changes.

    `user_id` names whose data changes: the caller by default; the responsible person may
    name another contact of the same organization.
    """

    model_config = ConfigDict(extra="forbid")

    organization: OrganizationChanges | None = None
    user: UserChanges | None = None
    user_id: uuid.UUID | None = None
    comment: str | None = Field(default=None, max_length=2000)


class ChangeRequestRejection(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class FieldChangeRead(BaseModel):
    old: JsonValue
    new: JsonValue


class ChangeRequestRead(BaseModel):
    """A data-change request; `changes` shows each field's value when asked and the new one."""

    id: uuid.UUID
    organization_id: uuid.UUID
    target: ChangeTarget
    user_id: uuid.UUID | None = Field(description="Whose data changes when `target` is user.")
    requested_by: uuid.UUID
    changes: dict[str, FieldChangeRead]
    comment: str | None
    status: ChangeRequestStatus
    price_code: str = Field(description="The paid service this request is billed as.")
    created_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_reason: str | None

    @classmethod
    def of(cls, request: ChangeRequest) -> "ChangeRequestRead":
        return cls(
            id=request.id,
            organization_id=request.organization_id,
            target=request.target,
            user_id=request.target_user_id,
            requested_by=request.requested_by,
            changes={
                field: FieldChangeRead.model_validate(change)
                for field, change in request.changes.items()
            },
            comment=request.comment,
            status=request.status,
            price_code=request.price_code,
            created_at=request.created_at,
            decided_by=request.decided_by,
            decided_at=request.decided_at,
            decision_reason=request.decision_reason,
        )
