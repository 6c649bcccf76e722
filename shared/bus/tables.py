"""The outbox and inbox tables, created inside each service's own schema."""

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class BusTables:
    outbox: Table
    inbox: Table


def bus_tables(metadata: MetaData) -> BusTables:
    outbox = Table(
        "outbox",
        metadata,
        # The sequence gives the per-producer publishing order.
        Column("seq", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("event_type", String(200), nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        # pending -> published | unroutable (no queue bound for the type: nobody wants it)
        Column("state", String(20), nullable=False, server_default=text("'pending'")),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("published_at", DateTime(timezone=True)),
        Column("last_error", Text),
        Index(
            "ix_outbox_pending_seq",
            "seq",
            postgresql_where=text("state = 'pending'"),
        ),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False),
    )
    return BusTables(outbox=outbox, inbox=inbox)
