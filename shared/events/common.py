"""Field types every event shares, and the bases of event payloads and their nested parts.

Conventions on the wire (`50-platform.md`): times are ISO 8601 in UTC with `Z`, money is a
decimal string in roubles, calendar dates are `YYYY-MM-DD`.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from stdnum.ru import inn as stdnum_inn

from shared.bus.envelope import EventPayload

Service = Literal["identity", "licensing", "dongle", "helpdesk"]
"""The services that produce and consume events."""

SERVICES: tuple[Service, ...] = ("identity", "licensing", "dongle", "helpdesk")


class Event(EventPayload):
    """Base of every Kabinet event payload: frozen, ignores unknown fields (from `EventPayload`).

    A subclass sets `event_type` (which registers it), `event_version` when its schema changes
    incompatibly, and `consumers`, the services whose queues bind its type (used for the
    AsyncAPI document; the bindings themselves come from each service's handlers).
    """

    consumers: ClassVar[tuple[Service, ...]] = ()

    @classmethod
    def producer(cls) -> Service:
        """The service that publishes this event: the first part of its type."""
        name = cls.event_type.split(".", 1)[0]
        for service in SERVICES:
            if service == name:
                return service
        raise ValueError(f"event type {cls.event_type!r} does not start with a service name")


class EventPart(BaseModel):
    """Base of a nested object inside an event: frozen and tolerant like the payload itself."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An aware moment; naive times are refused, any offset is converted to UTC (sent with `Z`)."""

_KOPECK = Decimal("0.01")


def _to_kopecks(value: Decimal) -> Decimal:
    return value.quantize(_KOPECK)


Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=15, decimal_places=2, allow_inf_nan=False),
    AfterValidator(_to_kopecks),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{1,13}\.\d{2}$",
            "examples": ["4900.00"],
            "description": "Roubles as a decimal string with two fraction digits.",
        }
    ),
]
"""A non-negative amount in roubles, exact to the kopeck, sent as a string like `"4900.00"`."""

Currency = Literal["RUB"]


def _valid_inn(value: str) -> str:
    if not stdnum_inn.is_valid(value):
        raise ValueError("INN check digits do not match")
    return value


Inn = Annotated[
    str,
    StringConstraints(pattern=r"^(\d{10}|\d{12})$"),
    AfterValidator(_valid_inn),
]
"""Russian INN: 10 digits (legal entity) or 12 (sole proprietor), with valid check digits."""

Kpp = Annotated[str, StringConstraints(pattern=r"^\d{4}[0-9A-Z]{2}\d{3}$")]
"""Russian KPP: `NNNN` + 2 of `[0-9A-Z]` + `NNN`."""

TaxId = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z\-/]+$")]
"""A tax identifier as written in a document: an INN, or a non-resident's own tax id."""

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2 country code, e.g. `RU`."""

CustomerNumber = Annotated[str, StringConstraints(pattern=r"^\d{6,}$")]
"""An organization's short human-readable customer number (6+ digits, never reused)."""

Email = Annotated[
    str,
    StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$"),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]
"""An e-mail address identity accepted (checked fully there; the bus only checks its shape)."""

Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{6,14}$")]
"""A phone number in E.164 form, e.g. `+79161234567`."""

KeySerial = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^\S+$")]
"""A protection key's serial as printed on it, e.g. CodeMeter `3-1234567`."""

ProductCode = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^\S+$")]
"""A product's code in the licensing catalogue."""

PriceCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,63}$")]
"""A price-list item code: a product code or a service such as `KEY_PROTECTION`."""

DocumentNumber = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""The number of a contract, act, invoice or certificate as printed on it."""

TicketNumber = Annotated[str, StringConstraints(pattern=r"^HD-\d+$")]
"""A helpdesk ticket number, `HD-` + digits."""

ReferenceKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
"""The kind of a referenced object, snake_case (e.g. `protection_subscription`, `ticket`)."""

LicenseStatus = Literal["active", "suspended", "expired", "revoked"]
"""A license's status in licensing."""

SupportTier = Literal["free", "paid", "partner"]
"""A support certificate's tier."""

KeyKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
"""A protection key's kind: `codemeter`, `guardant`, `sentinel`, … (open list)."""


class Reference(EventPart):
    """The object in another service that asked for something (an invoice, a renewal)."""

    service: Service = Field(description="The service that owns the referenced object.")
    kind: ReferenceKind = Field(
        description=(
            "What the object is: `protection_subscription` and `loss_report` (dongle), "
            "`ticket` (helpdesk), `data_change_request` (identity)."
        )
    )
    id: UUID = Field(description="The object's id in its service.")
