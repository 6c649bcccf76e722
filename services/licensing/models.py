"""licensing's tables, all in the `licensing` PostgreSQL schema."""

from shared.bus.tables import bus_tables
from shared.db import declarative_base

SCHEMA = "licensing"

Base = declarative_base(SCHEMA)
bus = bus_tables(Base.metadata)
