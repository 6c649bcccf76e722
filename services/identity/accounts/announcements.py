"""How identity tells the other services about a person: one event, built one way."""

from services.identity.models import User
from shared.events.identity import UserRegistered


def user_registered(user: User) -> UserRegistered:
    """A contact of its organization (announced once its membership is active), or staff."""
    return UserRegistered(
        user_id=user.id,
        organization_id=user.organization_id,
        email=user.email,
        full_name=user.full_name,
        phone=user.phone,
        roles=list(user.roles),
    )
