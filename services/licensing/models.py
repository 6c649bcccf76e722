"""licensing's tables, all in the `licensing` PostgreSQL schema."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from uuid6 import uuid7

from shared.bus.tables import bus_tables
from shared.db import schema_metadata
from shared.idempotency import idempotency_table

SCHEMA = "licensing"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


bus = bus_tables(Base.metadata)
idempotency = idempotency_table(Base.metadata)

Timestamp = DateTime(timezone=True)
# Roubles exact to the kopeck, never a float.
Roubles = Numeric(15, 2)


class Product(Base):
    """A product of the catalogue (rule 1); its code is also its price-list item code."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint(
            "protection_kind IN ('codemeter', 'software', 'none')", name="protection_kind"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    protection_kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class PriceListVersion(Base):
    """The whole price list as it is in force from `effective_from` (Moscow date) onwards."""

    __tablename__ = "price_list_versions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    # Unique: on any day exactly one version is in force.
    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # The admin's user id (identity's); none for the default list seeded at start.
    created_by: Mapped[uuid.UUID | None] = mapped_column()

    items: Mapped[list["PriceListItem"]] = relationship(
        back_populates="version", order_by="PriceListItem.code"
    )


class PriceListItem(Base):
    """One price of a version: a product (`product_id` set) or a service code such as
    `KEY_PROTECTION`, with the resident and the non-resident price."""

    __tablename__ = "price_list_items"
    __table_args__ = (
        UniqueConstraint("version_id", "code"),
        CheckConstraint(
            "resident_price >= 0 AND non_resident_price >= 0", name="prices_not_negative"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("price_list_versions.id", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"), index=True)
    resident_price: Mapped[Decimal] = mapped_column(Roubles)
    non_resident_price: Mapped[Decimal] = mapped_column(Roubles)

    version: Mapped[PriceListVersion] = relationship(back_populates="items")
    product: Mapped[Product | None] = relationship()


class Organization(Base):
    """identity's organization as licensing needs it (read model from identity's events):
    residency decides the price column, the INN matches contracts for uploads."""

    __tablename__ = "organizations"

    # identity's id: the read model never invents organizations.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Known from `organization.registered` only; null while only an update has arrived.
    customer_number: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(500))
    full_name: Mapped[str] = mapped_column(String(1000))
    country: Mapped[str] = mapped_column(String(2))
    resident: Mapped[bool] = mapped_column()
    inn: Mapped[str | None] = mapped_column(String(12), index=True)
    kpp: Mapped[str | None] = mapped_column(String(9))
    foreign_tax_id: Mapped[str | None] = mapped_column(String(32))
    # When the event whose values the row holds happened: an older event never overwrites them.
    as_of: Mapped[datetime] = mapped_column(Timestamp)
