"""dongle's tables, all in the `dongle` PostgreSQL schema."""

from shared.bus.tables import bus_tables
from shared.db import declarative_base

SCHEMA = "dongle"

Base = declarative_base(SCHEMA)
bus = bus_tables(Base.metadata)
