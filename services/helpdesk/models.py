"""helpdesk's tables, all in the `helpdesk` PostgreSQL schema."""

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, SmallInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus.tables import bus_tables
from shared.db import schema_metadata
from shared.idempotency import idempotency_table

SCHEMA = "helpdesk"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


bus = bus_tables(Base.metadata)
idempotency = idempotency_table(Base.metadata)

Timestamp = DateTime(timezone=True)


class CalendarDay(Base):
    """One day of the production calendar (rule 1): seeded from the official calendar, or set
    by an admin. A day without a row is read from the official calendar."""

    __tablename__ = "calendar_days"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'working' AND hours = 9) OR (kind = 'holiday' AND hours = 0) "
            "OR (kind = 'shortened' AND hours BETWEEN 1 AND 8)",
            name="hours_fit_kind",
        ),
        CheckConstraint("source IN ('official', 'admin')", name="source"),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # working | holiday | shortened
    hours: Mapped[int] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10))  # official | admin
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    # The admin's user id (identity's); none for a seeded day.
    updated_by: Mapped[uuid.UUID | None] = mapped_column()
