"""Catalogue and price list (rule 1): products, price-list versions and their items."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.licensing.catalogue.price_codes import PRICE_CODE_PATTERN, SERVICE_NAMES
from services.licensing.models import PriceListItem, PriceListVersion, Product
from shared.clock import business_date
from shared.events.common import Money
from shared.problems import InvalidInput

ProtectionKind = Literal["codemeter", "software", "none"]
ItemKind = Literal["product", "service"]


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        pattern=PRICE_CODE_PATTERN,
        description="Upper-case code, also the product's price-list item code: `BAZIS_CUTTING`.",
    )
    name: str = Field(min_length=1, max_length=300)
    protection_kind: ProtectionKind


class ProductRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    protection_kind: ProtectionKind
    created_at: datetime

    @classmethod
    def of(cls, product: Product) -> "ProductRead":
        return cls(
            id=product.id,
            code=product.code,
            name=product.name,
            protection_kind=product.protection_kind,
            created_at=product.created_at,
        )


class PriceItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        pattern=PRICE_CODE_PATTERN,
        description=f"A product code, or a service: {', '.join(SERVICE_NAMES)}.",
    )
    resident_price: Money
    non_resident_price: Money


class PriceListVersionCreate(BaseModel):
    """A whole price list: an item left out has no price from `effective_from` on."""

    model_config = ConfigDict(extra="forbid")

    effective_from: date = Field(
        description="First day (Moscow time) the version is in force; must be after today."
    )
    items: list[PriceItemCreate] = Field(min_length=1, max_length=1000)


class PriceItemRead(BaseModel):
    code: str
    kind: ItemKind
    name: str
    resident_price: Money
    non_resident_price: Money

    @classmethod
    def of(cls, item: PriceListItem) -> "PriceItemRead":
        if item.product is not None:
            kind: ItemKind = "product"
            name = item.product.name
        else:
            kind, name = "service", SERVICE_NAMES.get(item.code, item.code)
        return cls(
            code=item.code,
            kind=kind,
            name=name,
            resident_price=item.resident_price,
            non_resident_price=item.non_resident_price,
        )


class PriceListVersionRead(BaseModel):
    id: uuid.UUID
    effective_from: date
    currency: Literal["RUB"] = "RUB"
    created_at: datetime
    items: list[PriceItemRead]

    @classmethod
    def of(cls, version: PriceListVersion) -> "PriceListVersionRead":
        return cls(
            id=version.id,
            effective_from=version.effective_from,
            created_at=version.created_at,
            items=[PriceItemRead.of(item) for item in version.items],
        )


def day_asked(at: str | None, now: datetime) -> date:
    """The Moscow date `?at=` names: a date as it is, a moment (with its zone) converted."""
    if at is None:
        return business_date(now)
    try:
        return date.fromisoformat(at)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(at)
    except ValueError as error:
        raise InvalidInput("at", "is not an ISO 8601 date or date-time") from error
    if moment.tzinfo is None:
        raise InvalidInput("at", "needs a time zone, e.g. 2026-05-01T10:00:00Z")
    return business_date(moment)
