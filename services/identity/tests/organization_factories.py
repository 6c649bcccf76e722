"""Organizations, contacts and staff written straight into the database, unique per test.

The database is shared by every test of a run, so each row gets fresh e-mails and ids; the
requisites are real (valid check digits) so that events built from them validate.
"""

import uuid
from typing import Any

from sqlalchemy import select

from services.identity.accounts.passwords import hash_password
from services.identity.models import Organization, User, bus
from services.identity.tests.conftest import IdentityHarness
from shared.auth import Principal

PASSWORD = "Correct-Horse-42"
_PASSWORD_HASH = hash_password(PASSWORD)

BANK = {
    "bik": "044525225",
    "name": "ПАО Сбербанк",
    "settlement_account": "40702810400000000005",
    "correspondent_account": "30101810400000000225",
}
LEGAL_ADDRESS = {
    "postal_code": "117997",
    "region": "г. Москва",
    "district": None,
    "locality": "Москва",
    "street": "ул. Вавилова",
    "line": "117997, г. Москва, ул. Вавилова, д. 19",
}


def requisites(**overrides: Any) -> dict[str, Any]:
    return {
        "ogrn": "1027700132195",
        "okved": "62.01",
        "okpo": "00032537",
        "classification": "J — Деятельность в области информации и связи",
        "director_name": "Иванов Иван Иванович",
        "director_name_genitive": "Иванова Ивана Ивановича",
        "director_basis": "Устава",
        "bank": dict(BANK),
        "legal_address": dict(LEGAL_ADDRESS),
        "actual_address": None,
        **overrides,
    }


async def add_organization(identity: IdentityHarness, **overrides: Any) -> Organization:
    """A Russian ООО unless told otherwise; the customer number comes from the sequence."""
    now = identity.clock.now()
    values: dict[str, Any] = {
        "country": "RU",
        "resident": True,
        "kind": "legal_entity",
        "legal_form": "ООО",
        "full_name": f"Общество с ограниченной ответственностью Ромашка {uuid.uuid4().hex[:6]}",
        "short_name": "ООО Ромашка",
        "inn": "7707083893",
        "kpp": "773601001",
        "tax_id": None,
        "subdivision": None,
        "requisites": requisites(),
        "created_at": now,
        "updated_at": now,
        **overrides,
    }
    async with identity.app.state.sessionmaker() as session, session.begin():
        organization = Organization(**values)
        session.add(organization)
    return organization


async def add_sole_proprietor(identity: IdentityHarness) -> Organization:
    return await add_organization(
        identity,
        kind="sole_proprietor",
        legal_form="ИП",
        full_name="Индивидуальный предприниматель Сидоров Сидор Сидорович",
        short_name="ИП Сидоров",
        inn="500100732259",
        kpp=None,
        requisites=requisites(ogrn="304500116000157", okpo=None),
    )


async def add_contact(
    identity: IdentityHarness,
    organization: Organization,
    *,
    responsible: bool = False,
    **overrides: Any,
) -> User:
    values: dict[str, Any] = {
        "organization_id": organization.id,
        "full_name": "Петров Пётр Петрович",
        "email": f"contact-{uuid.uuid4().hex[:12]}@example.ru",
        "phone": "+79161234567",
        "password_hash": _PASSWORD_HASH,
        "roles": ["contact", "responsible"] if responsible else ["contact"],
        "created_at": identity.clock.now(),
        **overrides,
    }
    async with identity.app.state.sessionmaker() as session, session.begin():
        user = User(**values)
        session.add(user)
    return user


async def add_staff(identity: IdentityHarness, role: str = "admin") -> User:
    async with identity.app.state.sessionmaker() as session, session.begin():
        user = User(
            organization_id=None,
            full_name=f"Staff {role}",
            email=f"{role}-{uuid.uuid4().hex[:12]}@kabinet.test",
            phone=None,
            password_hash=_PASSWORD_HASH,
            roles=[role],
            created_at=identity.clock.now(),
        )
        session.add(user)
    return user


def as_user(identity: IdentityHarness, user: User) -> dict[str, str]:
    """The headers the gateway sends for this signed-in user (contact or staff)."""
    return identity.as_(
        Principal(
            kind="user",
            user_id=user.id,
            organization_id=user.organization_id,
            roles=list(user.roles),
        )
    )


async def as_new_admin(identity: IdentityHarness) -> dict[str, str]:
    """A real admin: decisions and keys record who made them (a foreign key to users)."""
    return as_user(identity, await add_staff(identity, "admin"))


def as_accountant(identity: IdentityHarness, organization: Organization) -> dict[str, str]:
    return identity.as_(
        Principal(kind="accountant", organization_id=organization.id, roles=["accountant"])
    )


def as_api_key(identity: IdentityHarness, organization: Organization) -> dict[str, str]:
    return identity.as_(
        Principal(
            kind="api_key",
            organization_id=organization.id,
            api_key_id=uuid.uuid4(),
            scopes=["read"],
        )
    )


async def reload(identity: IdentityHarness, model: type[Any], row_id: uuid.UUID) -> Any:
    async with identity.app.state.sessionmaker() as session:
        return await session.get(model, row_id)


async def staged_events(identity: IdentityHarness, event_type: str) -> list[dict[str, Any]]:
    """Envelopes of `event_type` in identity's outbox, oldest first."""
    outbox = bus.outbox
    async with identity.app.state.sessionmaker() as session:
        rows = await session.execute(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == event_type)
            .order_by(outbox.c.seq)
        )
        return [row.envelope for row in rows]
