"""dongle's tables, all in the `dongle` PostgreSQL schema.

Keys, the licenses they carry and the support certificates that maintain them are read models
of licensing's events; subscriptions, their history, update files and loss reports are dongle's
own. Several tables keep `applied_at`: the `occurred_at` of the newest event applied to the row,
so that an older event arriving late is recognised and ignored.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from uuid6 import uuid7

from shared.db import schema_metadata
from shared.partners import PartnerCustomers
from shared.tables import Timestamp, platform_tables

SCHEMA = "dongle"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


bus, idempotency = platform_tables(Base.metadata)
# licensing's partner ↔ customer links: the organizations a partner imports keys for.
partner_customers = PartnerCustomers(Base.metadata)

Money = Numeric(15, 2)
# A subscription that still holds its key: waiting for payment, in force, or lapsed but
# resumable. The partial unique index below allows one such per key.
LIVE_STATUSES = ("pending_payment", "active", "lapsed")


class ProtectionKey(Base):
    """A hardware protection key (rule 1), owned by one organization."""

    __tablename__ = "protection_keys"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'lost', 'stolen', 'carrier', 'retired')", name="status"
        ),
        # A contact's list: its organization's keys by serial.
        Index("ix_protection_keys_organization_id_serial", "organization_id", "serial"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    # Unique across kinds: the serial alone names a key in every URL and event.
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # codemeter | guardant | sentinel | …
    organization_id: Mapped[uuid.UUID] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    # End of the key's maintenance, from support-certificate events (rules 2 and 6).
    maintenance_ends_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # The admin who imported it (identity's user id); none for a key that came by event.
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    # The last update file's sequence number (rule 3: per key, only grows).
    update_sequence: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Validity end of the newest update file: how long the key stays programmed.
    programmed_until: Mapped[datetime | None] = mapped_column(Timestamp)


class KeyLicense(Base):
    """A license as licensing last described it, and the key that carries it (if any)."""

    __tablename__ = "licenses"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'expired', 'revoked')", name="status"),
        Index("ix_licenses_key_id", "key_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # licensing's license id
    key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("protection_keys.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column()
    product_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[date | None] = mapped_column(Date)
    applied_at: Mapped[datetime] = mapped_column(Timestamp)


class MaintenanceCertificate(Base):
    """A support certificate as far as key maintenance goes: the serials it covers, its end."""

    __tablename__ = "maintenance_certificates"
    __table_args__ = (
        Index("ix_maintenance_certificates_key_serials", "key_serials", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # licensing's certificate id
    organization_id: Mapped[uuid.UUID] = mapped_column()
    key_serials: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    ends_at: Mapped[datetime] = mapped_column(Timestamp)
    # Set by `licensing.support.expired`: the certificate ended without renewal.
    ended: Mapped[bool] = mapped_column(server_default=text("false"))
    applied_at: Mapped[datetime] = mapped_column(Timestamp)


class Organization(Base):
    """Organizations by INN, for a partner that names its customer by INN when importing."""

    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # identity's organization id
    inn: Mapped[str | None] = mapped_column(String(12), index=True)


class ProtectionSubscription(Base):
    """The key protection service on one key (rules 2, 6, 7)."""

    __tablename__ = "protection_subscriptions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending_payment', 'active', 'lapsed', 'cancelled')", name="status"
        ),
        # Rule 2: at most one live subscription per key, decided by the database.
        Index(
            "uq_protection_subscriptions_live_key_id",
            "key_id",
            unique=True,
            postgresql_where=text("status IN ('pending_payment', 'active', 'lapsed')"),
        ),
        Index("ix_protection_subscriptions_invoice_id", "invoice_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("protection_keys.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    # The invoiced price, known once licensing has issued the invoice.
    price: Mapped[Decimal | None] = mapped_column(Money)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column()
    requested_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    activated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Rule 6: when maintenance ended, and the last moment a renewal still resumes it.
    maintenance_ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    resumable_until: Mapped[datetime | None] = mapped_column(Timestamp)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    cancel_reason: Mapped[str | None] = mapped_column(String(40))


class SubscriptionChange(Base):
    """Rule 8: every state change of a subscription — who, when, why."""

    __tablename__ = "subscription_changes"
    __table_args__ = (Index("ix_subscription_changes_subscription_id", "subscription_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("protection_subscriptions.id"))
    at: Mapped[datetime] = mapped_column(Timestamp)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    # `user:<id>` for a person, `system` for a change an event or the clock caused.
    actor: Mapped[str] = mapped_column(String(60))


class UpdateFile(Base):
    """A signed prolongation update file (rule 3), kept as issued for download."""

    __tablename__ = "update_files"
    __table_args__ = (
        CheckConstraint(
            "trigger IN ('activation', 'resumption', 'monthly', 'replacement')", name="trigger"
        ),
        Index("uq_update_files_key_id_sequence", "key_id", "sequence", unique=True),
        # One file per key per month, however often the monthly run goes.
        Index("ix_update_files_key_id_month", "key_id", "month"),
        Index(
            "uq_update_files_monthly_key_id_month",
            "key_id",
            "month",
            unique=True,
            postgresql_where=text("trigger = 'monthly'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("protection_keys.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    # The business month it was made in (`YYYY-MM`).
    month: Mapped[str] = mapped_column(String(7))
    trigger: Mapped[str] = mapped_column(String(20))
    generated_at: Mapped[datetime] = mapped_column(Timestamp)
    valid_until: Mapped[datetime] = mapped_column(Timestamp)
    signing_key_id: Mapped[str] = mapped_column(String(64))
    jws: Mapped[str] = mapped_column(Text)


class SigningKey(Base):
    """Ed25519 keys of update files; the public part of each stays published in the JWKS."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Null for a key configured outside the database (KABINET_UPDATE_FILE_SIGNING_KEY_FILE).
    private_pem: Mapped[str | None] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class LossReport(Base):
    """Rule 4: a key reported lost or stolen, and its restoration onto a new key."""

    __tablename__ = "loss_reports"
    __table_args__ = (
        CheckConstraint("kind IN ('lost', 'stolen')", name="kind"),
        CheckConstraint("restoration IN ('invoiced', 'not_covered')", name="restoration"),
        Index("ix_loss_reports_key_id", "key_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("protection_keys.id"))
    organization_id: Mapped[uuid.UUID] = mapped_column()
    kind: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(Timestamp)
    reported_by: Mapped[uuid.UUID | None] = mapped_column()
    restoration: Mapped[str] = mapped_column(String(20))
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("protection_subscriptions.id")
    )
    # The licenses the key carried when reported: what a replacement restores.
    license_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    replaced_by_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("protection_keys.id"))
    replaced_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Invoice(Base):
    """An invoice licensing issued for something dongle asked for (a subscription, a lost key's
    replacement), and its payment; either event may arrive first."""

    __tablename__ = "invoices"
    __table_args__ = (Index("ix_invoices_reference", "reference_kind", "reference_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # licensing's invoice id
    reference_kind: Mapped[str] = mapped_column(String(64))
    reference_id: Mapped[uuid.UUID] = mapped_column()
    organization_id: Mapped[uuid.UUID] = mapped_column()
    price_codes: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)))
    total: Mapped[Decimal | None] = mapped_column(Money)
    issued_at: Mapped[datetime | None] = mapped_column(Timestamp)
    paid_at: Mapped[datetime | None] = mapped_column(Timestamp)
