"""Publishing events onto a run's real exchange, as another service's relay would, for tests.

`publish(settings, payload, occurred_at)` wraps a payload in an envelope from its producer and
sends it; `publish_envelopes` sends envelopes already built (the same one twice to redeliver
it); `publish_messages` sends any message at all (a malformed body, a foreign `app_id`). Every
message is persistent and confirmed by the broker before the call returns. Like the tests'
messages always were, they carry no `app_id`, so a consumer handles them in one lane, in the
order they were sent.
"""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import aio_pika

from shared.bus.envelope import Envelope, EventPayload
from shared.bus.topology import EVENTS_EXCHANGE
from shared.config import PlatformSettings


def envelope_of(
    payload: EventPayload,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope:
    """`payload` in an envelope from its producer (now, unless `occurred_at` says otherwise)."""
    envelope = Envelope.wrap(
        payload,
        producer=payload.event_type.split(".", 1)[0],
        occurred_at=occurred_at or datetime.now(UTC),
    )
    if event_id is not None:
        envelope.id = event_id
    return envelope


async def publish_messages(
    settings: PlatformSettings, messages: Iterable[tuple[str, aio_pika.Message]]
) -> None:
    """Sends `(routing key, message)` pairs in order on the run's events exchange."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(settings.bus_name(EVENTS_EXCHANGE))
        for routing_key, message in messages:
            await exchange.publish(message, routing_key=routing_key)


async def publish_envelopes(settings: PlatformSettings, *envelopes: Envelope) -> None:
    """Sends the envelopes in order, each routed by its type."""
    await publish_messages(
        settings, ((envelope.type, envelope.message()) for envelope in envelopes)
    )


async def publish(
    settings: PlatformSettings,
    payload: EventPayload,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope:
    """Publishes `payload` as its producer would (`event_id` again to redeliver the same event)."""
    envelope = envelope_of(payload, occurred_at, event_id)
    await publish_envelopes(settings, envelope)
    return envelope
