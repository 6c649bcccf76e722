"""The key protection service as a contact sees it: a subscription and its history."""

import uuid
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from services.dongle.keys.schemas import ProtectionRead, ProtectionStatus
from services.dongle.models import ProtectionKey, ProtectionSubscription, SubscriptionChange


class SubscriptionRead(ProtectionRead):
    key_serial: str
    created_at: datetime

    @classmethod
    def of_key(cls, subscription: ProtectionSubscription, key: ProtectionKey) -> Self:
        return cls(
            **ProtectionRead.of(subscription, key).model_dump(),
            key_serial=key.serial,
            created_at=subscription.created_at,
        )


class HistoryItem(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    at: datetime
    from_: ProtectionStatus | None = Field(
        alias="from", description="The status before; null when the subscription was made."
    )
    to: ProtectionStatus
    reason: str = Field(
        description="`requested`, `payment_received`, `maintenance_ended`, "
        "`maintenance_renewed`, `maintenance_not_renewed`, `customer_refused`, "
        "`license_lapsed`, `key_replaced`."
    )
    actor: str = Field(description="`user:<id>` for a person, `system` for events and the clock.")
    subscription_id: uuid.UUID

    @classmethod
    def of(cls, change: SubscriptionChange) -> Self:
        return cls.model_validate(
            {
                "at": change.at,
                "from": change.from_status,
                "to": change.to_status,
                "reason": change.reason,
                "actor": change.actor,
                "subscription_id": change.subscription_id,
            }
        )


class History(BaseModel):
    items: list[HistoryItem]
