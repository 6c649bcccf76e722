"""Publishing other services' events onto the run's real exchange, as their relays would."""

import uuid
from datetime import datetime

import aio_pika

from shared.bus.envelope import Envelope
from shared.bus.topology import Topology
from shared.config import PlatformSettings
from shared.events.common import Event


async def publish(
    settings: PlatformSettings,
    payload: Event,
    occurred_at: datetime,
    event_id: uuid.UUID | None = None,
) -> Envelope:
    """Publishes `payload` in an envelope (`event_id` again to redeliver the same event)."""
    envelope = Envelope.wrap(payload, producer=payload.producer(), occurred_at=occurred_at)
    if event_id is not None:
        envelope.id = event_id
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(Topology.of("licensing", settings).exchange)
        await exchange.publish(
            aio_pika.Message(
                envelope.model_dump_json().encode(),
                message_id=str(envelope.id),
                type=envelope.type,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=envelope.type,
        )
    return envelope
