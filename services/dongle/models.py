"""dongle's tables, all in the `dongle` PostgreSQL schema."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from uuid6 import uuid7

from shared.bus.tables import bus_tables
from shared.db import schema_metadata
from shared.idempotency import idempotency_table

SCHEMA = "dongle"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


bus = bus_tables(Base.metadata)
idempotency = idempotency_table(Base.metadata)

Timestamp = DateTime(timezone=True)


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
