"""dongle's tables, all in the `dongle` PostgreSQL schema."""

from sqlalchemy.orm import DeclarativeBase

from shared.bus.tables import bus_tables
from shared.db import schema_metadata

SCHEMA = "dongle"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


bus = bus_tables(Base.metadata)
