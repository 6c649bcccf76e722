"""Moves dead-lettered events back onto their service's queue, after the cause has been fixed."""

import asyncio
import json
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage

from shared.bus.topology import Topology

log = structlog.get_logger(__name__)


@dataclass
class Replayed:
    """What a replay did: messages moved back to the queue; left in the DLQ, and dropped, by
    type."""

    moved: int = 0
    kept: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)


def event_type_of(message: AbstractIncomingMessage) -> str | None:
    """The AMQP `type` the relay sets, else the envelope's; None for a body that says nothing."""
    if message.type:
        return message.type
    try:
        body = json.loads(message.body)
    except ValueError:
        return None
    found = body.get("type") if isinstance(body, dict) else None
    return found if isinstance(found, str) else None


async def replay_dead_letters(
    amqp_url: str,
    topology: Topology,
    limit: int | None = None,
    handled: Collection[str] | None = None,
    awaited: Collection[str] = (),
) -> Replayed:
    """Republishes up to `limit` messages from `<service>.events.dlq` to `<service>.events`.

    Each is published with a confirm before it is acked in the DLQ, so a crash replays
    at most a duplicate (which the inbox absorbs), never loses one. With `handled` (the types
    the service has handlers for), an event of another type is not sent back, where the
    consumer would only dead-letter it again at every replay: one of the `awaited` types
    (routed to the service, its handler still to come) goes to the back of the DLQ, to wait
    for it; any other (the catalogue no longer routes it there) is removed. A message whose
    type cannot be told (unparseable) is replayed, and comes back if it still cannot be
    handled.
    """
    connection = await aio_pika.connect_robust(amqp_url)
    result = Replayed()
    taken = 0
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        dlq = await channel.declare_queue(topology.dead_letter_queue, passive=True)
        # Only what is dead now: a message that fails again comes back behind these.
        waiting = dlq.declaration_result.message_count or 0
        limit = waiting if limit is None else min(limit, waiting)
        while taken < limit:
            message = await dlq.get(no_ack=False, fail=False, timeout=5)
            if message is None:
                break
            taken += 1
            event_type = event_type_of(message)
            destination = topology.queue
            if handled is not None and event_type is not None and event_type not in handled:
                if event_type not in awaited:
                    log.warning(
                        "dead_letter_dropped",
                        queue=topology.dead_letter_queue,
                        event_type=event_type,
                        message_id=message.message_id,
                        reason="no handler, not routed to the service",
                    )
                    await message.ack()
                    result.dropped[event_type] += 1
                    continue
                destination = topology.dead_letter_queue
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
            headers["x-replayed-from"] = topology.dead_letter_queue
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body=message.body,
                    headers=headers,
                    content_type=message.content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                    type=message.type,
                    correlation_id=message.correlation_id,
                    app_id=message.app_id,
                ),
                routing_key=destination,
                mandatory=True,
            )
            await message.ack()
            if destination == topology.queue:
                result.moved += 1
            elif event_type is not None:
                result.kept[event_type] += 1
    finally:
        await connection.close()
    log.info(
        "dead_letters_replayed",
        queue=topology.dead_letter_queue,
        count=result.moved,
        kept=sum(result.kept.values()),
        dropped=sum(result.dropped.values()),
    )
    return result


def replay_command(
    amqp_url: str,
    topology: Topology,
    limit: int | None,
    handled: Collection[str] | None,
    awaited: Collection[str] = (),
) -> Replayed:
    return asyncio.run(replay_dead_letters(amqp_url, topology, limit, handled, awaited))
