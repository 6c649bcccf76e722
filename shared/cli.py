"""Operator commands: `python -m shared.cli migrate | replay-dlq | declare-bus`."""

import argparse
import asyncio
import importlib
import sys

from shared.bus.broker import BrokerConnection
from shared.bus.replay import replay_command
from shared.bus.topology import Topology, declare_service_queue
from shared.config import SERVICES, PlatformSettings
from shared.db import ensure_database
from shared.migrations import upgrade
from shared.service import ServiceDefinition


def service_definition(name: str) -> ServiceDefinition:
    definition: ServiceDefinition = importlib.import_module(f"services.{name}.app").definition
    return definition


async def declare_bus(settings: PlatformSettings, services: list[str]) -> None:
    """Declares every service's queue and bindings, so no event is unroutable at first start."""
    broker = BrokerConnection(settings.amqp_url, "kabinet-cli")
    try:
        channel = await (await broker.get()).channel()
        for name in services:
            definition = service_definition(name)
            await declare_service_queue(
                channel, Topology.of(name, settings), definition.handlers.event_types
            )
        await channel.close()
    finally:
        await broker.close()


def migrate(settings: PlatformSettings, services: list[str], bus: bool = True) -> None:
    if asyncio.run(ensure_database(settings.database_url)):
        print(f"created database {settings.database_name}")
    for name in services:
        upgrade(name, settings.database_url)
        print(f"migrated schema {name}")
    if bus:
        asyncio.run(declare_bus(settings, services))
        print("declared the event bus topology")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("migrate", help="create the database if missing, migrate, declare the bus")
    m.add_argument("services", nargs="*", metavar="SERVICE", help=f"any of {', '.join(SERVICES)}")
    m.add_argument("--no-bus", action="store_true", help="skip declaring queues")
    r = sub.add_parser("replay-dlq", help="move dead-lettered events back to a service's queue")
    r.add_argument("service", choices=SERVICES)
    r.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    settings = PlatformSettings()
    if args.command == "migrate":
        unknown = sorted(set(args.services) - set(SERVICES))
        if unknown:
            parser.error(
                f"unknown service(s): {', '.join(unknown)}; choose from {', '.join(SERVICES)}"
            )
        migrate(settings, args.services or list(SERVICES), bus=not args.no_bus)
    elif args.command == "replay-dlq":
        moved = replay_command(settings.amqp_url, Topology.of(args.service, settings), args.limit)
        print(f"replayed {moved} event(s) to {Topology.of(args.service, settings).queue}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
