"""The envelope every event travels in, and the base of every event payload."""

import builtins
from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from uuid import UUID

import aio_pika
from pydantic import BaseModel, ConfigDict, Field, field_serializer
from uuid6 import uuid7


class EventPayload(BaseModel):
    """Base of every event's `data`; a subclass names its type and schema version."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1

    _registry: ClassVar[dict[str, type["EventPayload"]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type:
            EventPayload._registry[event_type] = cls

    @classmethod
    def for_type(cls, event_type: str) -> type["EventPayload"] | None:
        return cls._registry.get(event_type)

    @classmethod
    def all_types(cls) -> dict[str, type["EventPayload"]]:
        return dict(cls._registry)


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: UUID = Field(default_factory=uuid7)
    type: str
    version: int = 1
    occurred_at: datetime
    producer: str
    correlation_id: str | None = None
    data: dict[str, Any]

    @field_serializer("occurred_at")
    def _utc_z(self, value: datetime) -> str:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    @classmethod
    def wrap(
        cls,
        payload: EventPayload,
        *,
        producer: str,
        occurred_at: datetime,
        correlation_id: str | None = None,
    ) -> Self:
        return cls(
            type=payload.event_type,
            version=payload.event_version,
            occurred_at=occurred_at,
            producer=producer,
            correlation_id=correlation_id,
            data=payload.model_dump(mode="json"),
        )

    def payload(self, model: builtins.type[EventPayload]) -> EventPayload:
        return model.model_validate(self.data)

    def message(self) -> aio_pika.Message:
        """The envelope as a producer publishes it: persistent JSON with its id and type."""
        return aio_pika.Message(
            body=self.model_dump_json().encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(self.id),
            type=self.type,
        )
