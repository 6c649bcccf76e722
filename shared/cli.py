"""Operator commands: `python -m shared.cli migrate | declare-bus | resend-unroutable | …`."""

import argparse
import asyncio
import importlib
import sys
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import update

from shared.bus.broker import BrokerConnection
from shared.bus.replay import replay_command
from shared.bus.tables import bus_tables
from shared.bus.topology import Topology, catalogue_bindings, declare_catalogue
from shared.config import SERVICES, PlatformSettings
from shared.db import create_engine, ensure_database, schema_metadata
from shared.migrations import upgrade


async def declare_bus(settings: PlatformSettings, services: Sequence[str] | None = None) -> None:
    """Declares every consumer's queue and bindings (or those of `services`), so no event is
    unroutable at first start, and removes the bindings the catalogue no longer has (this is
    the version being deployed; a running process only ever adds)."""
    broker = BrokerConnection(settings.amqp_url, "kabinet-cli")
    try:
        channel = await (await broker.get()).channel()
        await declare_catalogue(channel, Topology.of("cli", settings), services, prune=True)
        await channel.close()
    finally:
        await broker.close()


async def resend_unroutable(settings: PlatformSettings, services: list[str]) -> dict[str, int]:
    """Puts events an earlier version marked `unroutable` back to pending, once.

    Those were returned by the broker before their consumers' queues existed and were then
    given up; the relay now sends them in their original order. Only types the catalogue routes
    somewhere are re-sent. Nothing is marked unroutable any more, so a second run finds none.
    """
    routed = {t for types in catalogue_bindings().values() for t in types}
    engine = create_engine(settings.database_url, pool_size=1)
    resent: dict[str, int] = {}
    try:
        async with engine.begin() as conn:
            for name in services:
                outbox = bus_tables(schema_metadata(name)).outbox
                result = await conn.execute(
                    update(outbox)
                    .where(outbox.c.state == "unroutable", outbox.c.event_type.in_(routed))
                    .values(state="pending", published_at=None, last_error="re-sent by operator")
                )
                resent[name] = result.rowcount
    finally:
        await engine.dispose()
    return resent


def handled_types(service: str) -> list[str]:
    """The event types the service's definition has handlers for."""
    definition = importlib.import_module(f"services.{service}.app").definition
    return list(definition.handlers.event_types)


def _by_type(counts: Counter[str]) -> str:
    listed = ", ".join(f"{event_type} ×{n}" for event_type, n in sorted(counts.items()))
    return f"{sum(counts.values())} event(s) ({listed})"


def _print_resent(resent: dict[str, int]) -> None:
    for name, count in resent.items():
        if count:
            print(f"re-sending {count} event(s) of {name} that were marked unroutable")


def migrate(settings: PlatformSettings, services: list[str], bus: bool = True) -> None:
    if asyncio.run(ensure_database(settings.database_url)):
        print(f"created database {settings.database_name}")
    for name in services:
        upgrade(name, settings.database_url)
        print(f"migrated schema {name}")
    if bus:
        asyncio.run(declare_bus(settings))
        print("declared the event bus topology")
        _print_resent(asyncio.run(resend_unroutable(settings, services)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("migrate", help="create the database if missing, migrate, declare the bus")
    m.add_argument("services", nargs="*", metavar="SERVICE", help=f"any of {', '.join(SERVICES)}")
    m.add_argument("--no-bus", action="store_true", help="skip declaring queues")
    sub.add_parser(
        "declare-bus",
        help="declare every consumer's queue and bindings, removing those the catalogue dropped",
    )
    u = sub.add_parser(
        "resend-unroutable", help="send again the events an earlier version gave up as unroutable"
    )
    u.add_argument("services", nargs="*", metavar="SERVICE", help=f"any of {', '.join(SERVICES)}")
    r = sub.add_parser(
        "replay-dlq",
        help="move dead-lettered events the service handles back to its queue (others are kept "
        "for a handler still to come, or dropped if no longer routed to it)",
    )
    r.add_argument("service", choices=SERVICES)
    r.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    settings = PlatformSettings()
    if args.command in ("migrate", "resend-unroutable"):
        unknown = sorted(set(args.services) - set(SERVICES))
        if unknown:
            parser.error(
                f"unknown service(s): {', '.join(unknown)}; choose from {', '.join(SERVICES)}"
            )
    if args.command == "migrate":
        migrate(settings, args.services or list(SERVICES), bus=not args.no_bus)
    elif args.command == "declare-bus":
        asyncio.run(declare_bus(settings))
        print("declared the event bus topology")
    elif args.command == "resend-unroutable":
        asyncio.run(declare_bus(settings))
        resent = asyncio.run(resend_unroutable(settings, args.services or list(SERVICES)))
        _print_resent(resent)
        print(f"{sum(resent.values())} event(s) put back to pending")
    elif args.command == "replay-dlq":
        topology = Topology.of(args.service, settings)
        handled = handled_types(args.service)
        awaited = set(catalogue_bindings().get(args.service, ())) - set(handled)
        result = replay_command(settings.amqp_url, topology, args.limit, handled, awaited)
        print(f"replayed {result.moved} event(s) to {topology.queue}")
        if result.kept:
            print(
                f"kept {_by_type(result.kept)} in {topology.dead_letter_queue}: routed to "
                f"{args.service}, which has no handler for them yet"
            )
        if result.dropped:
            print(
                f"dropped {_by_type(result.dropped)}: {args.service} has no handler for them "
                "and the catalogue no longer routes them to it"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
