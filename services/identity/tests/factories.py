"""Rows for tests, written straight through the models (unique per call)."""

import itertools
import random
import uuid

from services.identity.accounts.passwords import hash_password
from services.identity.models import Organization, User
from shared.clock import Clock

_counter = itertools.count(1)


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.ru"


def unique_phone() -> str:
    return f"+7916{random.randint(0, 9_999_999):07d}"


async def make_organization(session, clock: Clock, name: str | None = None, inn: str | None = None):
    n = next(_counter)
    org = Organization(
        country="RU",
        resident=True,
        kind="legal_entity",
        legal_form="ООО",
        full_name=name or f"Общество с ограниченной ответственностью Тест {n}",
        short_name=name or f"ООО Тест {n}",
        inn=inn or f"{random.randint(10**9, 10**10 - 1)}",
        kpp="773601001",
        requisites={},
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(org)
    await session.flush()
    return org


async def make_user(
    session,
    clock: Clock,
    organization: Organization | None,
    *,
    email: str | None = None,
    phone: str | None = None,
    password: str = "Correct-Horse-42",
    roles: list[str] | None = None,
) -> User:
    user = User(
        organization_id=organization.id if organization else None,
        full_name="Петров Пётр Петрович",
        email=email or unique_email(),
        phone=phone,
        password_hash=hash_password(password),
        roles=roles or ["contact"],
        created_at=clock.now(),
    )
    session.add(user)
    await session.flush()
    return user
