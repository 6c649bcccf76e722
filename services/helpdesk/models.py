"""helpdesk's tables, all in the `helpdesk` PostgreSQL schema."""

from sqlalchemy.orm import DeclarativeBase

from shared.bus.tables import bus_tables
from shared.db import schema_metadata

SCHEMA = "helpdesk"


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


bus = bus_tables(Base.metadata)
