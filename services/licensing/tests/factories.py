"""Building blocks of licensing tests: organizations and contacts known from identity's events,
contracts imported through the API, and the events licensing staged in its outbox."""

import base64
import uuid
from typing import Any

from sqlalchemy import select

from services.licensing.models import bus
from services.licensing.organizations.service import organization_read_model
from shared.auth import Principal
from shared.events.dongle import KeyReportedLost
from shared.events.identity import OrganizationRegistered, UserRegistered

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def unique_number(prefix: str = "ЛД") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def known_organization(
    licensing: Any, *, inn: str = "7707083893", resident: bool = True
) -> uuid.UUID:
    """An organization as `identity.organization.registered` makes it known (same code path)."""
    organization_id = uuid.uuid4()
    event = OrganizationRegistered(
        organization_id=organization_id,
        customer_number="100001",
        kind="legal_entity",
        legal_form="ООО",
        name="ООО Ромашка",
        full_name="Общество с ограниченной ответственностью Ромашка",
        country="RU" if resident else "KZ",
        resident=resident,
        inn=inn if resident else None,
        kpp="773601001" if resident else None,
        foreign_tax_id=None if resident else inn,
    )
    async with licensing.app.state.sessionmaker() as session, session.begin():
        await organization_read_model.registered(session, event, licensing.clock.now())
    return organization_id


async def known_contact(licensing: Any, organization_id: uuid.UUID, email: str) -> dict[str, str]:
    """A contact of the organization with this e-mail (as `identity.user.registered` tells),
    and the headers the gateway sends for them."""
    user_id = uuid.uuid4()
    event = UserRegistered(
        user_id=user_id,
        organization_id=organization_id,
        email=email,
        full_name="Петров Пётр Петрович",
        roles=["responsible"],
    )
    async with licensing.app.state.sessionmaker() as session, session.begin():
        await organization_read_model.user_registered(session, event, licensing.clock.now())
    return licensing.as_(
        Principal(kind="user", user_id=user_id, organization_id=organization_id, roles=["contact"])
    )


def act_body(number: str | None = None, date: str = "2026-10-20") -> dict[str, Any]:
    """An act of a year's paid support, 12 000 roubles."""
    return {
        "number": number or unique_number("А"),
        "date": date,
        "issued_by": "vendor",
        "items": [
            {
                "code": "SUPPORT_PAID_12M",
                "name": "Техподдержка 12 мес.",
                "quantity": 1,
                "amount": "12000.00",
            }
        ],
    }


def contract_body(**overrides: Any) -> dict[str, Any]:
    """A contract to import with a license, an act and a PDF; `overrides` replace whole parts."""
    body: dict[str, Any] = {
        "number": unique_number(),
        "date": "2026-10-20",
        "licensee": {
            "inn": "7707083893",
            "kpp": "773601001",
            "name": "ООО Ромашка",
            "email": "it@romashka.ru",
        },
        "end_user_email": None,
        "licenses": [
            {
                "product_code": "BAZIS_FURNITURE",
                "edition": "Профессионал",
                "seats": 2,
                "starts_at": "2026-10-20",
                "expires_at": "2027-10-19",
                "key_serial": f"3-{uuid.uuid4().int % 10**7:07d}",
            }
        ],
        "acts": [act_body()],
        "documents": [
            {
                "name": "contract.pdf",
                "content_type": "application/pdf",
                "content_base64": base64.b64encode(PDF).decode(),
            }
        ],
    }
    body.update(overrides)
    return body


async def import_contract(licensing: Any, **overrides: Any) -> dict[str, Any]:
    response = await licensing.client.post(
        "/api/v1/contracts", json=contract_body(**overrides), headers=licensing.as_admin()
    )
    assert response.status_code == 201, response.text
    imported: dict[str, Any] = response.json()
    return imported


async def upload(licensing: Any, contact: dict[str, str], *numbers: str) -> Any:
    terms = (await licensing.client.get("/api/v1/upload-requests/terms")).json()
    return await licensing.client.post(
        "/api/v1/upload-requests",
        json={"numbers": list(numbers), "terms_version": terms["version"], "accept_terms": True},
        headers=contact,
    )


async def attached_contract(
    licensing: Any, *, inn: str = "7707083893", **overrides: Any
) -> tuple[uuid.UUID, dict[str, str], dict[str, Any]]:
    """A contract uploaded into a fresh organization's account (approved automatically)."""
    organization_id = await known_organization(licensing, inn=inn)
    contact = await known_contact(licensing, organization_id, "it@romashka.ru")
    licensee = {"inn": inn, "kpp": "773601001", "name": "ООО Ромашка", "email": "it@romashka.ru"}
    contract = await import_contract(licensing, licensee=licensee, **overrides)
    response = await upload(licensing, contact, contract["number"])
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "approved", response.text
    return organization_id, contact, contract


async def staged(licensing: Any, event_type: str) -> list[dict]:
    """The `data` of every event of this type licensing wrote into its outbox."""
    outbox = bus.outbox
    async with licensing.app.state.sessionmaker() as session:
        rows = await session.execute(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == event_type)
            .order_by(outbox.c.seq)
        )
        return [row.envelope["data"] for row in rows]


async def events_about(licensing: Any, event_type: str, key: str, value: Any) -> list[dict]:
    return [data for data in await staged(licensing, event_type) if data.get(key) == str(value)]


def key_reported_lost(organization_id: uuid.UUID, **overrides: Any) -> KeyReportedLost:
    """dongle's report of a lost key (covered by a protection subscription unless told)."""
    values: dict[str, Any] = {
        "report_id": uuid.uuid4(),
        "key_serial": "3-1234567",
        "key_kind": "codemeter",
        "kind": "lost",
        "organization_id": organization_id,
        "license_ids": [],
        "programmed_until": None,
        "restoration_covered": True,
        "replacement_price_codes": ["CODEMETER_KEY", "DELIVERY"],
    }
    return KeyReportedLost(**{**values, **overrides})
