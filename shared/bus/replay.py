"""Moves dead-lettered events back onto their service's queue, after the cause has been fixed."""

import asyncio

import aio_pika
import structlog

from shared.bus.topology import Topology

log = structlog.get_logger(__name__)


async def replay_dead_letters(amqp_url: str, topology: Topology, limit: int | None = None) -> int:
    """Republishes up to `limit` messages from `<service>.events.dlq` to `<service>.events`.

    Each is published with a confirm before it is acked in the DLQ, so a crash replays
    at most a duplicate (which the inbox absorbs), never loses one.
    """
    connection = await aio_pika.connect_robust(amqp_url)
    moved = 0
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        dlq = await channel.declare_queue(topology.dead_letter_queue, passive=True)
        # Only what is dead now: a message that fails again comes back behind these.
        waiting = dlq.declaration_result.message_count or 0
        limit = waiting if limit is None else min(limit, waiting)
        while moved < limit:
            message = await dlq.get(no_ack=False, fail=False, timeout=5)
            if message is None:
                break
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
                routing_key=topology.queue,
                mandatory=True,
            )
            await message.ack()
            moved += 1
    finally:
        await connection.close()
    log.info("dead_letters_replayed", queue=topology.dead_letter_queue, count=moved)
    return moved


def replay_command(amqp_url: str, topology: Topology, limit: int | None) -> int:
    return asyncio.run(replay_dead_letters(amqp_url, topology, limit))
