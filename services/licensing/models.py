"""licensing's tables, all in the `licensing` PostgreSQL schema."""

from sqlalchemy.orm import DeclarativeBase

from shared.bus.tables import bus_tables
from shared.db import schema_metadata

SCHEMA = "licensing"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


bus = bus_tables(Base.metadata)
