"""What every service's `models.py` declares alike: the plumbing tables in its schema and the
timestamp column type."""

from typing import NamedTuple

from sqlalchemy import DateTime, MetaData, Table

from shared.bus.tables import BusTables, bus_tables
from shared.idempotency import idempotency_table

# Every moment is stored with its time zone.
Timestamp = DateTime(timezone=True)


class PlatformTables(NamedTuple):
    """The outbox and inbox (`shared.bus`) and the Idempotency-Key answers
    (`shared.idempotency`), for the service's `ServiceDefinition`."""

    bus: BusTables
    idempotency: Table


def platform_tables(metadata: MetaData) -> PlatformTables:
    return PlatformTables(bus_tables(metadata), idempotency_table(metadata))
