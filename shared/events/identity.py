"""Events identity publishes: organizations and users registered or changed."""

from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field, JsonValue, model_validator

from shared.events.common import (
    CountryCode,
    CustomerNumber,
    Email,
    Event,
    EventPart,
    Inn,
    Kpp,
    Phone,
    PriceCode,
    Service,
)

OrganizationKind = Literal["legal_entity", "sole_proprietor"]
"""Only organizations are customers: legal entities and sole proprietors."""

Role = Literal["contact", "responsible", "accountant", "agent", "admin"]
"""A user's role (as in `GET /api/v1/me`)."""


def _check_residency(country: str, resident: bool, inn: str | None) -> None:
    if resident != (country == "RU"):
        raise ValueError("resident must be true exactly when country is RU")
    if resident and inn is None:
        raise ValueError("a resident organization has an INN")
    if not resident and inn is not None:
        raise ValueError("a non-resident organization gives its own tax id instead of an INN")


class FieldChange(EventPart):
    """One changed field: its value before and after the change."""

    old: JsonValue = Field(description="The value before the change (JSON form).")
    new: JsonValue = Field(description="The value after the change (JSON form).")


class OrganizationRegistered(Event):
    """A new organization completed registration.

    Consumed by licensing (organization read model: residency decides resident or
    non-resident prices, the INN matches contracts for uploads into the account) and by
    helpdesk (organization names on tickets) and dongle (a partner imports a key naming its
    customer by INN).
    """

    event_type: ClassVar[str] = "identity.organization.registered"
    consumers: ClassVar[tuple[Service, ...]] = ("licensing", "helpdesk", "dongle")

    organization_id: UUID = Field(description="The organization's id in identity.")
    customer_number: CustomerNumber = Field(
        description="Short unique human-readable customer number shown to the user."
    )
    kind: OrganizationKind = Field(description="Legal entity or sole proprietor.")
    legal_form: str = Field(
        min_length=1, max_length=32, description="Legal form as written, e.g. `ООО`, `ИП`."
    )
    name: str = Field(min_length=1, description="Short name shown in lists, e.g. `ООО Ромашка`.")
    full_name: str = Field(min_length=1, description="Full name without quotes, as in the charter.")
    subdivision: str | None = Field(
        default=None, description="Branch or subdivision name when several share an INN/KPP."
    )
    country: CountryCode = Field(description="Country of registration, ISO 3166-1 alpha-2.")
    resident: bool = Field(description="True for a Russian resident (country `RU`).")
    inn: Inn | None = Field(description="Russian INN; null for a non-resident.")
    kpp: Kpp | None = Field(
        description="Russian KPP of a legal entity; null for a sole proprietor or non-resident."
    )
    foreign_tax_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="A non-resident's own tax id, given instead of INN/KPP.",
    )

    @model_validator(mode="after")
    def _residency(self) -> Self:
        _check_residency(self.country, self.resident, self.inn)
        return self


class UserRegistered(Event):
    """A person completed registration (a contact) or was created as staff.

    A contact joining an existing organization is announced only once the organization's
    responsible person or an admin approved its membership; a declined one never is.

    Consumed by helpdesk (author names on tickets and the e-mail address for notifications) and
    licensing (an upload request from the contract's e-mail is approved automatically).
    """

    event_type: ClassVar[str] = "identity.user.registered"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk", "licensing")

    user_id: UUID = Field(description="The user's id in identity.")
    organization_id: UUID | None = Field(
        description="The organization the user is a contact of; null for vendor staff."
    )
    email: Email = Field(description="Verified e-mail address, where notifications go.")
    full_name: str = Field(min_length=1, description="Full name, e.g. `Петров Пётр Петрович`.")
    phone: Phone | None = Field(
        default=None, description="Verified phone in E.164 form; null for staff without one."
    )
    roles: list[Role] = Field(min_length=1, description="The user's roles at registration.")


class OrganizationUpdated(Event):
    """An organization's requisites changed (an approved data-change request or an admin).

    Consumed by licensing and helpdesk to update their organization read models. `changes`
    names every changed field; the current values of the fields they keep are always sent.
    """

    event_type: ClassVar[str] = "identity.organization.updated"
    consumers: ClassVar[tuple[Service, ...]] = ("licensing", "helpdesk")

    organization_id: UUID = Field(description="The organization's id in identity.")
    changes: dict[str, FieldChange] = Field(
        min_length=1,
        description="Changed fields by name (`inn`, `name`, `bank.bik`, …) with old and new value.",
    )
    change_request_id: UUID | None = Field(
        default=None, description="The approved data-change request, if one caused the change."
    )
    name: str = Field(min_length=1, description="Short name after the change.")
    full_name: str = Field(min_length=1, description="Full name after the change.")
    country: CountryCode = Field(description="Country after the change, ISO 3166-1 alpha-2.")
    resident: bool = Field(description="Residency after the change (True for `RU`).")
    inn: Inn | None = Field(description="INN after the change; null for a non-resident.")
    kpp: Kpp | None = Field(description="KPP after the change; null where there is none.")
    foreign_tax_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="A non-resident's own tax id after the change.",
    )

    @model_validator(mode="after")
    def _residency(self) -> Self:
        _check_residency(self.country, self.resident, self.inn)
        return self


class UserUpdated(Event):
    """A user's full name, e-mail or phone changed (an approved data-change request).

    Added to the table's events: helpdesk keeps author names and notification addresses, which
    would go stale without it. Consumed by helpdesk, and by licensing (the contact's e-mail
    decides automatic approval of uploads into the account).
    """

    event_type: ClassVar[str] = "identity.user.updated"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk", "licensing")

    user_id: UUID = Field(description="The user's id in identity.")
    organization_id: UUID | None = Field(
        description="The organization the user is a contact of; null for vendor staff."
    )
    changes: dict[str, FieldChange] = Field(
        min_length=1, description="Changed fields by name with old and new value."
    )
    change_request_id: UUID | None = Field(
        default=None, description="The approved data-change request, if one caused the change."
    )
    email: Email = Field(description="E-mail address after the change.")
    full_name: str = Field(min_length=1, description="Full name after the change.")
    phone: Phone | None = Field(default=None, description="Phone after the change, E.164.")


class DataChangeRequested(Event):
    """A contact asked to change locked data, a paid service (rule 5 of identity).

    A request (`*.requested`): consumed by licensing, which issues the invoice at the
    `price_code` price in force and the organization's residency, with reference
    `{service: identity, kind: data_change_request, id: change_request_id}`.
    """

    event_type: ClassVar[str] = "identity.data_change.requested"
    consumers: ClassVar[tuple[Service, ...]] = ("licensing",)

    change_request_id: UUID = Field(description="The data-change request's id in identity.")
    organization_id: UUID = Field(description="The organization whose data is to change.")
    requested_by: UUID = Field(description="The contact who asked.")
    price_code: PriceCode = Field(
        default="DATA_CHANGE", description="The price-list item to invoice: `DATA_CHANGE`."
    )
