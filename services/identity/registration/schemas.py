"""What clients send and receive while registering (spec 10-identity, "Shapes clients rely on").

Requisites arrive as plain strings: the service checks them all together, so that one answer
lists every wrong field (`organization.inn`, `organization.bank.settlement_account`, …).
"""

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from services.identity.models import Organization
from services.identity.organizations.schemas import customer_number_text
from services.identity.requisites.organization import (
    Address,
    AddressIn,
    BankDetails,
    BankDetailsIn,
)

Channel = Literal["email", "phone"]
RegistrationState = Literal["pending_verification", "completed"]
OrganizationKind = Literal["legal_entity", "sole_proprietor"]


# --- lookup ----------------------------------------------------------------------------------


class LookupRequest(BaseModel):
    """`inn` is a non-resident's own tax id when `country` is not RU."""

    country: str = Field(default="RU", pattern=r"^[A-Za-z]{2}$", examples=["RU"])
    inn: str = Field(min_length=1, max_length=32, examples=["7707083893"])
    kpp: str | None = Field(default=None, max_length=20, examples=["773601001"])


class OrganizationChoice(BaseModel):
    """An organization already registered with the INN/KPP; the person joins one of them."""

    id: uuid.UUID
    name: str
    kpp: str | None
    subdivision: str | None
    customer_number: str = Field(pattern=r"^\d{6,}$", examples=["100001"])

    @classmethod
    def of(cls, organization: Organization) -> "OrganizationChoice":
        return cls(
            id=organization.id,
            name=organization.short_name or organization.full_name,
            kpp=organization.kpp,
            subdivision=organization.subdivision,
            customer_number=customer_number_text(organization.customer_number),
        )


class AddressPrefill(Address):
    # The address shape under the name clients' generated code knows it by.
    pass


class OrganizationPrefill(BaseModel):
    """What the company registry knows, in the shape of the registration form."""

    country: str = "RU"
    legal_form: str | None = None
    full_name: str | None = None
    short_name: str | None = None
    inn: str
    kpp: str | None = None
    ogrn: str | None = None
    okved: str | None = None
    okpo: str | None = None
    classification: str | None = None
    director_name: str | None = None
    director_name_genitive: str | None = None
    legal_address: AddressPrefill | None = None


class LookupResult(BaseModel):
    status: Literal["existing", "new"]
    organizations: list[OrganizationChoice]
    prefill: OrganizationPrefill | None = Field(
        description="Registry data for a new organization; null when unknown or existing."
    )


# --- registration ----------------------------------------------------------------------------


class NewOrganization(BaseModel):
    """A Russian organization gives INN/KPP/OGRN and a bank; a non-resident gives `tax_id`."""

    country: str = Field(default="RU", max_length=2)
    legal_form: str = Field(max_length=60, examples=["ООО"])
    full_name: str = Field(max_length=500, description="The full name without quotes.")
    short_name: str | None = Field(default=None, max_length=300)
    subdivision: str | None = Field(
        default=None, max_length=300, description="Branch or subdivision sharing the INN/KPP."
    )
    inn: str | None = Field(default=None, max_length=20)
    kpp: str | None = Field(default=None, max_length=20)
    tax_id: str | None = Field(default=None, max_length=32)
    ogrn: str | None = Field(default=None, max_length=20)
    okved: str | None = Field(default=None, max_length=20)
    okpo: str | None = Field(default=None, max_length=20)
    classification: str | None = Field(
        default=None, max_length=300, description="Derived from OKVED when null."
    )
    director_name: str = Field(max_length=300)
    director_name_genitive: str | None = Field(
        default=None, max_length=300, description="Suggested from `director_name` when null."
    )
    director_basis: str = Field(max_length=300, examples=["Устава"])
    bank: BankDetailsIn | None = None
    legal_address: AddressIn
    actual_address: AddressIn | None = Field(
        default=None, description="null: the same as the legal address."
    )


class ContactIn(BaseModel):
    full_name: str = Field(max_length=300)
    phone: str = Field(max_length=40)
    email: str = Field(max_length=320)
    password: str = Field(max_length=256)


class RegistrationRequest(BaseModel):
    """Join (`organization_id` + `contact`) or register a new organization (`organization`)."""

    organization_id: uuid.UUID | None = None
    organization: NewOrganization | None = None
    contact: ContactIn


class VerificationRequest(BaseModel):
    channel: Channel
    code: str = Field(max_length=12)


class ResendRequest(BaseModel):
    channel: Channel


class RegistrationStatus(BaseModel):
    """`completed` carries the user, the organization, its customer number and the login."""

    registration_id: uuid.UUID
    status: RegistrationState
    pending: list[Channel]
    user_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    customer_number: str | None = None
    login: str | None = None
    # `pending` when the person joined an existing organization: it sees nothing of it until
    # the responsible person or an admin approves (rule 3).
    membership: Literal["active", "pending", "declined"] | None = None


# --- what a pending registration keeps until both codes are verified -------------------------


class Requisites(BaseModel):
    """`Organization.requisites`: everything but the names and tax ids kept in columns."""

    ogrn: str | None
    okved: str | None
    okpo: str | None
    classification: str | None
    director_name: str
    director_name_genitive: str
    director_basis: str
    bank: BankDetails | None
    """A Russian bank is complete and checked; a non-resident's is kept as given."""
    legal_address: Address
    actual_address: Address


class OrganizationDraft(BaseModel):
    """A new organization, checked and completed, waiting for its contact's codes."""

    country: str
    resident: bool
    kind: OrganizationKind
    legal_form: str
    full_name: str
    short_name: str | None
    subdivision: str | None
    inn: str | None
    kpp: str | None
    tax_id: str | None
    requisites: Requisites

    @property
    def name(self) -> str:
        return self.short_name or self.full_name


class ContactDraft(BaseModel):
    """The contact person without the password (only its hash is kept, in its own column)."""

    full_name: str
    phone: str
    email: str
