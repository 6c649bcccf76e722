"""identity's tables, all in the `identity` PostgreSQL schema."""

from shared.bus.tables import bus_tables
from shared.db import declarative_base

SCHEMA = "identity"

Base = declarative_base(SCHEMA)
bus = bus_tables(Base.metadata)
