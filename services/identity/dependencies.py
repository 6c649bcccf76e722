"""FastAPI dependencies identity's endpoints share: its settings, and how messages are sent."""

from typing import Annotated

from fastapi import BackgroundTasks, Depends

from services.identity.codes.delivery import Delivery
from services.identity.config import Settings
from services.identity.messages.service import Outgoing
from services.identity.models import User
from shared.auth import AdminPrincipal, Principal
from shared.db import SessionDep
from shared.problems import Unauthorized
from shared.service import ClockDep, SessionmakerDep, settings_of

SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]


async def get_delivery(settings: SettingsDep) -> Delivery:
    # Holds no connection: each message opens its own, so one per request costs nothing.
    return Delivery(settings)


DeliveryDep = Annotated[Delivery, Depends(get_delivery)]


async def get_outgoing(
    clock: ClockDep,
    sessionmaker: SessionmakerDep,
    delivery: DeliveryDep,
    after_response: BackgroundTasks,
) -> Outgoing:
    return Outgoing(clock, sessionmaker, delivery, after_response)


# Codes, logins and links: queued in the request's transaction, sent once it committed.
OutgoingDep = Annotated[Outgoing, Depends(get_outgoing)]


async def existing_admin(admin: AdminPrincipal, session: SessionDep) -> Principal:
    """An admin whose account exists: what it decides names it, so a principal for a user
    that is gone (or never was) is a 401, not a broken reference."""
    if admin.user_id is None or await session.get(User, admin.user_id) is None:
        raise Unauthorized("The account no longer exists; sign in again")
    return admin


IdentityAdmin = Annotated[Principal, Depends(existing_admin)]
