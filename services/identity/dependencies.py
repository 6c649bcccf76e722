"""FastAPI dependencies identity's endpoints share: its settings, and how messages are sent."""

from typing import Annotated

from fastapi import Depends

from services.identity.codes.delivery import Delivery
from services.identity.config import Settings
from shared.service import settings_of

identity_settings = settings_of(Settings)
SettingsDep = Annotated[Settings, Depends(identity_settings)]


def get_delivery(settings: SettingsDep) -> Delivery:
    # Holds no connection: each message opens its own, so one per request costs nothing.
    return Delivery(settings)


DeliveryDep = Annotated[Delivery, Depends(get_delivery)]
