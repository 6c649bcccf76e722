"""licensing's tables, all in the `licensing` PostgreSQL schema."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from uuid6 import uuid7

from shared.db import schema_metadata
from shared.tables import Timestamp, platform_tables

SCHEMA = "licensing"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


bus, idempotency = platform_tables(Base.metadata)

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


class User(Base):
    """identity's contact person as licensing needs it: whose e-mail asks for an upload."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column()
    email: Mapped[str] = mapped_column(String(254))
    as_of: Mapped[datetime] = mapped_column(Timestamp)


class Contract(Base):
    """A license contract (or an invoice-offer) as imported (rule 2); in an organization's
    account only once an upload request attached it (rule 3)."""

    __tablename__ = "contracts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    contract_date: Mapped[date] = mapped_column(Date)
    licensee_inn: Mapped[str] = mapped_column(String(32), index=True)
    licensee_kpp: Mapped[str | None] = mapped_column(String(9))
    licensee_name: Mapped[str] = mapped_column(String(500))
    licensee_email: Mapped[str] = mapped_column(String(254))
    end_user_email: Mapped[str | None] = mapped_column(String(254))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    attached_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The partner whose API key imported it: its customers' licenses are the partner's to manage.
    partner_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    imported_at: Mapped[datetime] = mapped_column(Timestamp)

    licenses: Mapped[list["License"]] = relationship(
        back_populates="contract", order_by="License.id"
    )
    acts: Mapped[list["Act"]] = relationship(back_populates="contract", order_by="Act.id")
    documents: Mapped[list["Document"]] = relationship(
        back_populates="contract", order_by="Document.id"
    )


class License(Base):
    """A license (rule 4): its activation code, status and expiry (a Moscow calendar date)."""

    __tablename__ = "licenses"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'suspended', 'expired', 'revoked')", name="status_known"
        ),
        CheckConstraint("seats >= 1", name="seats_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    edition: Mapped[str | None] = mapped_column(String(100))
    seats: Mapped[int] = mapped_column(Integer)
    activation_code: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[date] = mapped_column(Date)
    # Valid through this day, Moscow time; none for a perpetual license.
    expires_at: Mapped[date | None] = mapped_column(Date, index=True)
    key_serial: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # When its product key was registered into an account (rule 6: free support once).
    registered_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # When `licensing.license.lapsed` went out; set once, so it goes out once.
    lapsed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The loss report (`LostKey.id`) whose suspension holds the license: its key was lost and
    # its last update file ran out. Restoring the licenses lifts only this suspension.
    suspended_for_loss: Mapped[uuid.UUID | None] = mapped_column()

    contract: Mapped[Contract | None] = relationship(back_populates="licenses")
    product: Mapped[Product] = relationship(lazy="joined")


class Act(Base):
    """An act of services rendered: a financial document; may carry a support subscription."""

    __tablename__ = "acts"
    __table_args__ = (
        CheckConstraint("issued_by IN ('vendor', 'partner')", name="issued_by_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"), index=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    act_date: Mapped[date] = mapped_column(Date)
    # `partner`: produced by a partner's own accounting program (rule 8 refuses it).
    issued_by: Mapped[str] = mapped_column(String(10))
    total: Mapped[Decimal] = mapped_column(Roubles)

    contract: Mapped[Contract] = relationship(back_populates="acts")
    items: Mapped[list["ActItem"]] = relationship(
        back_populates="act", order_by="ActItem.position", lazy="selectin"
    )


class ActItem(Base):
    __tablename__ = "act_items"
    __table_args__ = (
        UniqueConstraint("act_id", "position"),
        CheckConstraint("quantity >= 1 AND amount >= 0", name="quantity_and_amount"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    act_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("acts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Roubles)

    act: Mapped[Act] = relationship(back_populates="items")


class Document(Base):
    """A file of a contract; its bytes live in the document store, named by the id."""

    __tablename__ = "documents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp)

    contract: Mapped[Contract] = relationship(back_populates="documents")


class UploadRequest(Base):
    """A request to upload contracts into an organization's account (rule 3)."""

    __tablename__ = "upload_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    requested_by: Mapped[uuid.UUID] = mapped_column()
    numbers: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    terms_version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(Timestamp)
    status: Mapped[str] = mapped_column(String(10), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The admin who decided; none when approved automatically.
    decided_by: Mapped[uuid.UUID | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)


class SupportCertificate(Base):
    """A support certificate (rule 7): tier, what it covers, its term."""

    __tablename__ = "support_certificates"
    __table_args__ = (
        CheckConstraint("tier IN ('free', 'paid', 'partner')", name="tier_known"),
        CheckConstraint("status IN ('active', 'ended')", name="status_known"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    tier: Mapped[str] = mapped_column(String(10))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # Issued for an INN no organization has registered yet: registering it by number attaches it.
    organization_inn: Mapped[str | None] = mapped_column(String(32))
    products: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    key_serials: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    starts_at: Mapped[datetime] = mapped_column(Timestamp)
    ends_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    status: Mapped[str] = mapped_column(String(10))
    # The license whose product key registration started it: free support once per license.
    license_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("licenses.id"), unique=True)
    partner_id: Mapped[uuid.UUID | None] = mapped_column()
    registered_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class ActRenewal(Base):
    """An act used to renew paid support (rule 8): the unique act id makes "used once" a fact
    the database keeps, whatever two concurrent renewals do."""

    __tablename__ = "act_renewals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    act_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("acts.id"), unique=True)
    certificate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("support_certificates.id"))
    renewed_at: Mapped[datetime] = mapped_column(Timestamp)
    previous_ends_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ends_at: Mapped[datetime] = mapped_column(Timestamp)


class Invoice(Base):
    """An invoice for a service another service (or a person) asked for (rule 9), priced from
    the price list in force at the request and the organization's residency."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("status IN ('issued', 'paid')", name="status_known"),
        # One request, one invoice: a request delivered twice never bills twice.
        UniqueConstraint("reference_service", "reference_kind", "reference_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    reference_service: Mapped[str | None] = mapped_column(String(20))
    reference_kind: Mapped[str | None] = mapped_column(String(64))
    reference_id: Mapped[uuid.UUID | None] = mapped_column()
    resident: Mapped[bool] = mapped_column()
    price_list_effective_on: Mapped[date] = mapped_column(Date)
    total: Mapped[Decimal] = mapped_column(Roubles)
    status: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[datetime] = mapped_column(Timestamp)
    paid_at: Mapped[datetime | None] = mapped_column(Timestamp)

    items: Mapped[list["InvoiceLine"]] = relationship(
        order_by="InvoiceLine.position", lazy="selectin"
    )


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    price_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Roubles)
    amount: Mapped[Decimal] = mapped_column(Roubles)


class Payment(Base):
    """A payment recorded against an invoice; the payment document's number is unique per
    invoice, so recording one payment twice records it once."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("invoice_id", "document_number"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    amount: Mapped[Decimal] = mapped_column(Roubles)
    paid_at: Mapped[datetime] = mapped_column(Timestamp)
    document_number: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column()


class AwaitedInvoice(Base):
    """A request to invoice an organization licensing has not heard of yet (its registration
    event is late): issued as soon as the organization is known, so nothing waits in the queue."""

    __tablename__ = "awaited_invoices"
    __table_args__ = (UniqueConstraint("reference_service", "reference_kind", "reference_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    reference_service: Mapped[str] = mapped_column(String(20))
    reference_kind: Mapped[str] = mapped_column(String(64))
    reference_id: Mapped[uuid.UUID] = mapped_column()
    price_codes: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    requested_at: Mapped[datetime] = mapped_column(Timestamp)


class LostKey(Base):
    """A protection key dongle reported lost or stolen (`dongle.key.reported_lost`): the licenses
    bound to it are suspended once its programmed period ends (`suspend_at`), unless
    `dongle.licenses.restored` moved them onto a new key first. Either event may come first."""

    __tablename__ = "lost_keys"

    # dongle's loss report id: one row per report, however often its events arrive.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key_serial: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # The licenses licensing had bound to the key when the loss was reported.
    license_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    # When the report was made (its event's time); null while only the restoration is known.
    reported_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The end of the key's last update file, or the report itself when it never had one.
    suspend_at: Mapped[datetime | None] = mapped_column(Timestamp, index=True)
    # When the sweep suspended the licenses; set once, so they are suspended once.
    suspended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # When dongle moved the licenses onto `new_serial` (its event's time).
    restored_at: Mapped[datetime | None] = mapped_column(Timestamp)
    new_serial: Mapped[str | None] = mapped_column(String(64))


class PartnerCustomer(Base):
    """A partner and one of its customers: an organization that holds a contract or license the
    partner imported, or a support certificate it issued. Written once per pair, with
    `licensing.partner.customer_linked` in the same transaction; never removed."""

    __tablename__ = "partner_customers"

    partner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # What linked them first: `contract`, `license` or `support_certificate`, and its id.
    source: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[uuid.UUID] = mapped_column()
    linked_at: Mapped[datetime] = mapped_column(Timestamp)
