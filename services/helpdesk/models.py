"""helpdesk's tables, all in the `helpdesk` PostgreSQL schema."""

from shared.bus.tables import bus_tables
from shared.db import declarative_base

SCHEMA = "helpdesk"

Base = declarative_base(SCHEMA)
bus = bus_tables(Base.metadata)
