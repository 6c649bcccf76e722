"""identity's tables, all in the `identity` PostgreSQL schema."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from uuid6 import uuid7

from shared.db import schema_metadata
from shared.tables import Timestamp, platform_tables

SCHEMA = "identity"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


bus, idempotency = platform_tables(Base.metadata)

# Customer numbers: short, human-readable, never reused (a sequence never goes back).
customer_number_seq = Sequence("customer_number_seq", start=100001, metadata=Base.metadata)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    customer_number: Mapped[int] = mapped_column(
        BigInteger,
        customer_number_seq,
        server_default=customer_number_seq.next_value(),
        unique=True,
    )
    country: Mapped[str] = mapped_column(String(2))
    resident: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(20))  # legal_entity | sole_proprietor
    legal_form: Mapped[str] = mapped_column(String(60))
    full_name: Mapped[str] = mapped_column(String(500))
    short_name: Mapped[str | None] = mapped_column(String(300))
    inn: Mapped[str | None] = mapped_column(String(12), index=True)
    kpp: Mapped[str | None] = mapped_column(String(9))
    tax_id: Mapped[str | None] = mapped_column(String(40), index=True)
    subdivision: Mapped[str | None] = mapped_column(String(300))
    # Requisites as registered: ogrn, okved, okpo, classification, director, bank, addresses.
    requisites: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class User(Base):
    """A contact person of an organization, or vendor staff (no organization)."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("organization_id", "email"),
        Index(
            "uq_users_staff_email",
            "email",
            unique=True,
            postgresql_where=text("organization_id IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    password_changed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Rule 3: a contact who joined an existing organization is `pending` until its responsible
    # person or an admin approves (`active`) or declines (`declined`); only `active` sees it.
    membership: Mapped[str] = mapped_column(String(10), default="active", server_default="active")


class MembershipRequest(Base):
    """A contact's request to join an existing organization, and how it was decided."""

    __tablename__ = "membership_requests"
    __table_args__ = (
        CheckConstraint("decided_via IN ('link', 'responsible', 'admin')", name="decided_via"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(Timestamp)
    # SHA-256 of the link e-mailed to the responsible person; dropped once anything decided.
    link_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_via: Mapped[str | None] = mapped_column(String(12))


class OutgoingMessage(Base):
    """An e-mail or SMS written in the transaction of what it tells (a code, a login, a link),
    handed to the mail server or SMS provider after commit, retried while they are down.
    `text` may hold a code or a link in plain text: it is wiped once sent or expired."""

    __tablename__ = "outgoing_messages"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms')", name="channel"),
        CheckConstraint("status IN ('pending', 'sent', 'expired')", name="status"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    channel: Mapped[str] = mapped_column(String(5))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp)
    # A code is not worth sending after it stopped working, nor once a newer one replaced it.
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    code_id: Mapped[uuid.UUID | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)


class PendingRegistration(Base):
    __tablename__ = "pending_registrations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    # join: organization_id set; new: the validated organization in `organization`.
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    organization: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    contact: Mapped[dict[str, Any]] = mapped_column(JSONB)  # without the password
    password_hash: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str] = mapped_column(String(20))
    email_verified_at: Mapped[datetime | None] = mapped_column(Timestamp)
    phone_verified_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    user_id: Mapped[uuid.UUID | None] = mapped_column()


class OneTimeCode(Base):
    """A 6-digit code sent to an e-mail or phone; only its hash is kept."""

    __tablename__ = "one_time_codes"
    __table_args__ = (
        Index("ix_one_time_codes_subject", "purpose", "subject"),
        Index("ix_one_time_codes_destination", "destination", "sent_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    purpose: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(400))  # what the code proves, e.g. reg id + channel
    # Where it went (lower-cased e-mail or E.164 phone), for the limits per destination.
    destination: Mapped[str | None] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)


class SignInFailure(Base):
    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    login_key: Mapped[str] = mapped_column(String(400), index=True)
    failed_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class RefreshToken(Base):
    """One link of a rotating refresh-token family; only the token's hash is kept."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Accountant sessions belong to an organization, not to a user.
    organization_id: Mapped[uuid.UUID | None] = mapped_column()
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class SigningKey(Base):
    """Asymmetric keys for access tokens; shared by every replica through the database."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    retired_at: Mapped[datetime | None] = mapped_column(Timestamp)


class RecoveryToken(Base):
    __tablename__ = "recovery_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ContractLink(Base):
    """INN + contract number -> organization, from `licensing.contract.attached`."""

    __tablename__ = "contract_links"
    __table_args__ = (Index("ix_contract_links_inn_number", "licensee_inn", "number"),)

    contract_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(100))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    licensee_inn: Mapped[str] = mapped_column(String(12))
    attached_at: Mapped[datetime] = mapped_column(Timestamp)


class ChangeRequest(Base):
    """A requested change of locked data; an admin approves or rejects it (a paid service)."""

    __tablename__ = "change_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    target: Mapped[str] = mapped_column(String(20))  # organization | user
    target_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    price_code: Mapped[str] = mapped_column(String(40), default="DATA_CHANGE")
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    decision_reason: Mapped[str | None] = mapped_column(Text)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(60)))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Bank(Base):
    """Bank of Russia BIK directory entry (autofill by BIK)."""

    __tablename__ = "banks"

    bik: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    correspondent_account: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(200))
    locality: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    imported_at: Mapped[datetime] = mapped_column(Timestamp)


class PostalCode(Base):
    """Russian Post index directory entry (autofill of region / locality)."""

    __tablename__ = "postal_codes"

    index: Mapped[str] = mapped_column(String(6), primary_key=True)
    office: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(200))
    locality: Mapped[str | None] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(Timestamp)


class RegistryEntry(Base):
    """Company registry record (prefill by INN) from the offline directory."""

    __tablename__ = "registry_entries"
    __table_args__ = (Index("ix_registry_entries_inn_kpp", "inn", "kpp"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    inn: Mapped[str] = mapped_column(String(12))
    kpp: Mapped[str | None] = mapped_column(String(9))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    imported_at: Mapped[datetime] = mapped_column(Timestamp)
