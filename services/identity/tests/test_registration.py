"""Registration step by step (spec 10-identity, rules 1-6 and 9), through the real database,
the real SMTP sink and the real SMS webhook sink.

The database is shared by the whole run, so every organization, e-mail and phone is unique.
"""

import random
import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI, Request
from sqlalchemy import delete, func, select

from services.identity.accounts.passwords import verify_password
from services.identity.app import create_app
from services.identity.models import (
    OneTimeCode,
    Organization,
    PendingRegistration,
    RegistryEntry,
    User,
    bus,
)
from services.identity.tests.conftest import identity_settings
from services.identity.tests.organization_factories import BANK, LEGAL_ADDRESS
from shared.clock import ManualClock
from shared.testing.plugin import eventually, running
from shared.testing.servers import serve

PASSWORD = "Ochen-Dlinny-Parol-7"
SBERBANK_BIK = BANK["bik"]
SBERBANK_CORRESPONDENT = BANK["correspondent_account"]
JOB = "delete_expired_registrations"

# --- valid requisites with real check digits, unique per call --------------------------------


def _digits(count: int) -> str:
    return "".join(str(random.randint(0, 9)) for _ in range(count))


def _inn_check(body: str, weights: tuple[int, ...]) -> str:
    return str(sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11 % 10)


def inn10() -> str:
    body = "77" + _digits(7)
    return body + _inn_check(body, (2, 4, 10, 3, 5, 9, 4, 6, 8))


def inn12() -> str:
    body = "50" + _digits(8)
    body += _inn_check(body, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8))
    return body + _inn_check(body, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8))


def ogrn13() -> str:
    body = "1027700" + _digits(5)
    return body + str(int(body) % 11 % 10)


def ogrnip15() -> str:
    body = "3047700" + _digits(7)
    return body + str(int(body) % 13 % 10)


def okpo(length: int = 8) -> str:
    body = _digits(length - 1)
    for shift in (0, 2):
        remainder = sum(int(d) * ((i + shift) % 10 + 1) for i, d in enumerate(body)) % 11
        if remainder < 10:
            return body + str(remainder)
    return body + "0"


def settlement_account(bik: str = SBERBANK_BIK) -> str:
    """40702810 + control key + 11 digits, the key computed against the BIK (weights 7 1 3)."""
    head, tail = "40702810", _digits(11)
    digits = bik[-3:] + head + "0" + tail
    total = sum(int(d) * (7, 1, 3)[i % 3] for i, d in enumerate(digits))
    key = (-total * 7) % 10  # the key's weight is 3, and 3 * 7 = 21 = 1 (mod 10)
    return head + str(key) + tail


def unique_email(tag: str = "contact") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.ru"


def unique_phone() -> str:
    return f"+7916{_digits(7)}"


def legal_address(**overrides: Any) -> dict[str, Any]:
    return {**LEGAL_ADDRESS, **overrides}


def new_organization(**overrides: Any) -> dict[str, Any]:
    """The documented shape of a new organization (spec "Shapes clients rely on")."""
    return {
        "country": "RU",
        "legal_form": "ООО",
        "full_name": "Общество с ограниченной ответственностью Ромашка",
        "short_name": "ООО Ромашка",
        "inn": inn10(),
        "kpp": "773601001",
        "ogrn": ogrn13(),
        "okved": "62.01",
        "okpo": okpo(),
        "classification": None,
        "director_name": "Иванов Иван Иванович",
        "director_name_genitive": None,
        "director_basis": "Устава",
        "bank": {**BANK, "settlement_account": settlement_account()},
        "legal_address": legal_address(),
        "actual_address": None,
        **overrides,
    }


def sole_proprietor(**overrides: Any) -> dict[str, Any]:
    return new_organization(
        **{
            "legal_form": "ИП",
            "full_name": "Индивидуальный предприниматель Сидоров Сидор Сидорович",
            "short_name": "ИП Сидоров С. С.",
            "inn": inn12(),
            "kpp": None,
            "ogrn": ogrnip15(),
            "okpo": okpo(10),
            "director_name": "Сидоров Сидор Сидорович",
            "director_basis": "Свидетельства о государственной регистрации",
            **overrides,
        }
    )


def non_resident(**overrides: Any) -> dict[str, Any]:
    return {
        "country": "DE",
        "legal_form": "GmbH",
        "full_name": "Blumen Software GmbH",
        "short_name": "Blumen GmbH",
        "tax_id": f"DE{_digits(9)}",
        "inn": None,
        "kpp": None,
        "ogrn": None,
        "okved": None,
        "okpo": None,
        "classification": None,
        "director_name": "Müller Hans",
        "director_name_genitive": "Müller Hans",
        "director_basis": "Gesellschaftsvertrag",
        "bank": None,
        "legal_address": {
            "postal_code": "10115",
            "region": "Berlin",
            "district": None,
            "locality": "Berlin",
            "street": "Invalidenstraße",
            "line": "Invalidenstraße 117, 10115 Berlin",
        },
        "actual_address": None,
        **overrides,
    }


def contact(**overrides: Any) -> dict[str, Any]:
    return {
        "full_name": "Петров Пётр Петрович",
        "phone": unique_phone(),
        "email": unique_email(),
        "password": PASSWORD,
        **overrides,
    }


# --- steps -----------------------------------------------------------------------------------


async def start(identity, body: dict[str, Any]) -> dict[str, Any]:
    response = await identity.client.post("/api/v1/registration", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def verify(identity, registration_id: str, channel: str, code: str):
    return await identity.client.post(
        f"/api/v1/registration/{registration_id}/verify", json={"channel": channel, "code": code}
    )


async def verify_both(identity, registration_id: str, person: dict[str, Any]):
    email_code = identity.mail.last_code(person["email"])
    phone_code = identity.sms.last_code(person["phone"])
    first = await verify(identity, registration_id, "email", email_code)
    assert first.status_code == 200, first.text
    return await verify(identity, registration_id, "phone", phone_code)


async def register(identity, organization: dict[str, Any] | None = None, **body: Any):
    """A completed registration: (completion answer, the contact that registered)."""
    person = body.pop("contact", None) or contact()
    payload = {"contact": person, **body}
    if organization is not None:
        payload["organization"] = organization
    started = await start(identity, payload)
    completed = await verify_both(identity, started["registration_id"], person)
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "completed"
    return completed.json(), person


async def fetch(identity, model: Any, *conditions: Any) -> list[Any]:
    async with identity.app.state.sessionmaker() as session:
        return list((await session.scalars(select(model).where(*conditions))).all())


async def staged_events(identity, event_type: str, **data: Any) -> list[dict[str, Any]]:
    """`data` of the outbox rows of one type whose fields match (ids compared as strings)."""
    async with identity.app.state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(bus.outbox.c.envelope).where(bus.outbox.c.event_type == event_type)
            )
        ).scalars()
        found = [row["data"] for row in rows]
    return [e for e in found if all(e.get(k) == str(v) for k, v in data.items())]


def field_errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["message"] for e in response.json()["errors"]}


# --- rule 3: the whole path of a new organization --------------------------------------------


async def test_new_organization_is_created_only_after_both_codes(identity):
    organization = new_organization()
    person = contact()

    looked_up = await identity.client.post(
        "/api/v1/registration/lookup",
        json={"country": "RU", "inn": organization["inn"], "kpp": organization["kpp"]},
    )
    assert looked_up.status_code == 200, looked_up.text
    assert looked_up.json() == {"status": "new", "organizations": [], "prefill": None}

    started = await start(identity, {"organization": organization, "contact": person})
    assert set(started) == {"registration_id", "status", "pending"}
    assert started["status"] == "pending_verification"
    assert started["pending"] == ["email", "phone"]
    registration_id = started["registration_id"]

    # Both codes went out at once, as text holding the 6 digits.
    email_code = identity.mail.last_code(person["email"])
    phone_code = identity.sms.last_code(person["phone"])
    assert re.fullmatch(r"\d{6}", email_code) and re.fullmatch(r"\d{6}", phone_code)

    async def nothing_created() -> None:
        assert await fetch(identity, Organization, Organization.inn == organization["inn"]) == []
        assert await fetch(identity, User, User.email == person["email"]) == []

    await nothing_created()
    halfway = await verify(identity, registration_id, "email", email_code)
    assert halfway.status_code == 200, halfway.text
    assert halfway.json() == {
        "registration_id": registration_id,
        "status": "pending_verification",
        "pending": ["phone"],
    }
    await nothing_created()

    done = await verify(identity, registration_id, "phone", phone_code)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "completed" and body["pending"] == []
    assert body["login"] == person["email"]
    assert re.fullmatch(r"\d{6,}", body["customer_number"])

    [org] = await fetch(identity, Organization, Organization.inn == organization["inn"])
    assert str(org.id) == body["organization_id"]
    assert str(org.customer_number) == body["customer_number"]
    assert (org.country, org.resident, org.kind, org.legal_form) == (
        "RU",
        True,
        "legal_entity",
        "ООО",
    )
    assert org.kpp == "773601001" and org.tax_id is None
    assert org.full_name == organization["full_name"] and org.short_name == "ООО Ромашка"
    requisites = org.requisites
    assert requisites["ogrn"] == organization["ogrn"] and requisites["okpo"] == organization["okpo"]
    # Derived: the OKVED section and the director's name in the genitive case.
    assert requisites["classification"].startswith("J — ")
    assert requisites["director_name_genitive"] == "Иванова Ивана Ивановича"
    assert requisites["director_basis"] == "Устава"
    assert requisites["bank"] == organization["bank"]
    # Same as legal when not given.
    assert (
        requisites["actual_address"] == requisites["legal_address"] == organization["legal_address"]
    )

    [user] = await fetch(identity, User, User.email == person["email"])
    assert str(user.id) == body["user_id"] and user.organization_id == org.id
    # Rule 5: the first contact of a new organization is its responsible person.
    assert user.roles == ["contact", "responsible"]
    assert user.phone == person["phone"] and user.full_name == person["full_name"]
    assert verify_password(user.password_hash, PASSWORD) and user.password_hash != PASSWORD

    # Now the lookup finds it, and the person only joins it.
    again = await identity.client.post(
        "/api/v1/registration/lookup",
        json={"country": "RU", "inn": organization["inn"], "kpp": organization["kpp"]},
    )
    assert again.json()["status"] == "existing"
    assert again.json()["organizations"] == [
        {
            "id": str(org.id),
            "name": "ООО Ромашка",
            "kpp": "773601001",
            "subdivision": None,
            "customer_number": body["customer_number"],
        }
    ]


async def test_completion_mail_carries_the_login(identity):
    completed, person = await register(identity, new_organization())

    def completion_mails() -> list[Any]:
        return [m for m in identity.mail.to(person["email"]) if "завершена" in m.subject]

    # Sent after the commit, so it may arrive a moment after the answer.
    mails = await eventually(completion_mails, timeout=10)
    assert len(mails) == 1
    assert f"логин: {person['email']}" in mails[0].text
    assert completed["customer_number"] in mails[0].text


async def test_registered_events_are_staged_in_the_outbox(identity):
    organization = new_organization()
    completed, person = await register(identity, organization)

    [registered] = await staged_events(
        identity,
        "identity.organization.registered",
        organization_id=completed["organization_id"],
    )
    assert registered["customer_number"] == completed["customer_number"]
    assert registered["inn"] == organization["inn"] and registered["kpp"] == organization["kpp"]
    assert registered["kind"] == "legal_entity" and registered["legal_form"] == "ООО"
    assert registered["name"] == "ООО Ромашка"
    assert registered["full_name"] == organization["full_name"]
    assert registered["country"] == "RU" and registered["resident"] is True
    assert registered["foreign_tax_id"] is None

    [user] = await staged_events(identity, "identity.user.registered", user_id=completed["user_id"])
    assert user["organization_id"] == completed["organization_id"]
    assert user["email"] == person["email"] and user["phone"] == person["phone"]
    assert user["full_name"] == person["full_name"]
    assert user["roles"] == ["contact", "responsible"]


async def test_nothing_is_staged_before_completion(identity):
    person = contact()
    started = await start(identity, {"organization": new_organization(), "contact": person})
    code = identity.mail.last_code(person["email"])
    assert (await verify(identity, started["registration_id"], "email", code)).status_code == 200
    assert await staged_events(identity, "identity.user.registered", email=person["email"]) == []


async def test_verifying_again_repeats_the_completed_answer(identity):
    person = contact()
    started = await start(identity, {"organization": new_organization(), "contact": person})
    completed = await verify_both(identity, started["registration_id"], person)
    repeated = await verify(identity, started["registration_id"], "phone", "000000")
    assert repeated.status_code == 200
    assert repeated.json() == completed.json()
    assert len(await fetch(identity, User, User.email == person["email"])) == 1


# --- rule 6: customer numbers ----------------------------------------------------------------


async def test_customer_numbers_are_unique_and_have_six_digits(identity):
    first, _ = await register(identity, new_organization())
    second, _ = await register(identity, new_organization())
    numbers = [first["customer_number"], second["customer_number"]]
    assert all(re.fullmatch(r"\d{6,}", number) for number in numbers)
    assert numbers[0] != numbers[1]
    # Never reused: a sequence only moves forward.
    assert int(numbers[1]) > int(numbers[0])


# --- rule 3: joining an existing organization ------------------------------------------------


async def test_contact_joins_an_existing_organization_chosen_among_its_subdivisions(identity):
    organization = new_organization()
    head, _ = await register(identity, organization)
    branch, _ = await register(
        identity,
        {**organization, "subdivision": "Филиал в Казани", "short_name": "ООО Ромашка Казань"},
    )

    looked_up = await identity.client.post(
        "/api/v1/registration/lookup",
        json={"country": "RU", "inn": organization["inn"], "kpp": organization["kpp"]},
    )
    assert looked_up.status_code == 200
    assert looked_up.json()["status"] == "existing"
    assert looked_up.json()["prefill"] is None
    listed = {o["id"]: o for o in looked_up.json()["organizations"]}
    assert set(listed) == {head["organization_id"], branch["organization_id"]}
    assert listed[branch["organization_id"]]["subdivision"] == "Филиал в Казани"
    assert listed[head["organization_id"]]["subdivision"] is None

    joined, person = await register(identity, organization_id=branch["organization_id"])
    assert joined["organization_id"] == branch["organization_id"]
    assert joined["customer_number"] == branch["customer_number"]
    [user] = await fetch(identity, User, User.email == person["email"])
    assert str(user.organization_id) == branch["organization_id"]
    assert user.roles == ["contact"]
    # Rule 3: the joiner waits for the responsible person; announced only once approved.
    assert joined["membership"] == "pending" and user.membership == "pending"
    assert (
        await staged_events(identity, "identity.user.registered", user_id=joined["user_id"]) == []
    )
    # Joining creates no organization.
    assert (
        len(
            await staged_events(
                identity, "identity.organization.registered", inn=organization["inn"]
            )
        )
        == 2
    )


async def test_join_of_unknown_organization_is_refused(identity):
    response = await identity.client.post(
        "/api/v1/registration", json={"organization_id": str(uuid.uuid4()), "contact": contact()}
    )
    assert "organization_id" in field_errors(response)


async def test_new_registration_of_a_registered_organization_is_a_conflict(identity):
    organization = new_organization()
    first, _ = await register(identity, organization)
    response = await identity.client.post(
        "/api/v1/registration", json={"organization": organization, "contact": contact()}
    )
    assert response.status_code == 409, response.text
    assert [o["id"] for o in response.json()["organizations"]] == [first["organization_id"]]


async def test_one_email_in_several_organizations_but_not_twice_in_one(identity):
    first, person = await register(identity, new_organization())
    second, _ = await register(identity, new_organization())

    # The same person becomes a contact of a second organization.
    again = {**person, "phone": unique_phone()}
    await register(identity, organization_id=second["organization_id"], contact=again)
    users = await fetch(identity, User, User.email == person["email"])
    assert {str(u.organization_id) for u in users} == {
        first["organization_id"],
        second["organization_id"],
    }

    # Twice in one organization: the start answers as for anyone (it reveals nothing) ...
    twice = {**person, "phone": unique_phone()}
    started = await start(identity, {"organization_id": first["organization_id"], "contact": twice})
    assert started["status"] == "pending_verification"
    # ... and only once both codes prove the e-mail is the answer a conflict.
    refused = await verify_both(identity, started["registration_id"], twice)
    assert refused.status_code == 409, refused.text
    assert len(await fetch(identity, User, User.email == person["email"])) == 2


async def test_start_does_not_reveal_a_registered_email(identity):
    _, person = await register(identity, new_organization())
    known = await identity.client.post(
        "/api/v1/registration",
        json={"organization": new_organization(), "contact": {**person, "phone": unique_phone()}},
    )
    unknown = await identity.client.post(
        "/api/v1/registration", json={"organization": new_organization(), "contact": contact()}
    )
    assert known.status_code == unknown.status_code == 201
    assert set(known.json()) == set(unknown.json())
    assert known.json()["pending"] == unknown.json()["pending"]


# --- rule 2: requisites checked for real, each wrong one named -------------------------------


def _broken_bank(**bank: str) -> dict[str, Any]:
    return {"bank": {**new_organization()["bank"], **bank}}


def _flip_last_digit(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


BROKEN = {
    "organization.inn": lambda: {"organization": new_organization(inn=_flip_last_digit(inn10()))},
    "organization.kpp": lambda: {"organization": new_organization(kpp="7736010")},
    "organization.ogrn": lambda: {
        "organization": new_organization(ogrn=_flip_last_digit(ogrn13()))
    },
    "organization.okpo": lambda: {"organization": new_organization(okpo=_flip_last_digit(okpo()))},
    "organization.okved": lambda: {"organization": new_organization(okved="6201")},
    "organization.bank.bik": lambda: {
        "organization": new_organization(**_broken_bank(bik="04452522"))
    },
    "organization.bank.settlement_account": lambda: {
        "organization": new_organization(
            **_broken_bank(settlement_account=_flip_last_digit(settlement_account()))
        )
    },
    "organization.bank.correspondent_account": lambda: {
        "organization": new_organization(
            **_broken_bank(correspondent_account="30101810400000000226")
        )
    },
    "organization.legal_address.postal_code": lambda: {
        "organization": new_organization(legal_address=legal_address(postal_code="11799"))
    },
    "organization.actual_address.postal_code": lambda: {
        "organization": new_organization(actual_address=legal_address(postal_code="1179970"))
    },
    "organization.full_name": lambda: {"organization": new_organization(full_name='ООО "Ромашка"')},
    "contact.phone": lambda: {"contact": contact(phone="+7 12")},
    "contact.email": lambda: {"contact": contact(email="petrov.example.ru")},
    "contact.password": lambda: {"contact": contact(password="short")},
}


@pytest.mark.parametrize("field", sorted(BROKEN))
async def test_a_wrong_requisite_is_a_422_naming_its_field(identity, field):
    body = {"organization": new_organization(), "contact": contact(), **BROKEN[field]()}
    response = await identity.client.post("/api/v1/registration", json=body)
    assert list(field_errors(response)) == [field]
    # Nothing was started: no code went to the person.
    assert identity.mail.to(body["contact"]["email"]) == []


async def test_common_password_is_refused(identity):
    response = await identity.client.post(
        "/api/v1/registration",
        json={"organization": new_organization(), "contact": contact(password="password123")},
    )
    assert list(field_errors(response)) == ["contact.password"]


async def test_inn_length_must_agree_with_the_legal_form(identity):
    response = await identity.client.post(
        "/api/v1/registration",
        json={"organization": new_organization(inn=inn12()), "contact": contact()},
    )
    assert field_errors(response) == {"organization.inn": "a legal entity's INN has 10 digits"}


async def test_every_wrong_field_is_reported_at_once(identity):
    organization = new_organization(
        inn=_flip_last_digit(inn10()),
        ogrn="123",
        **_broken_bank(settlement_account="4070281000000000000"),
        legal_address=legal_address(postal_code="abc"),
    )
    response = await identity.client.post(
        "/api/v1/registration",
        json={"organization": organization, "contact": contact(phone="0", email="@")},
    )
    assert set(field_errors(response)) == {
        "organization.inn",
        "organization.ogrn",
        "organization.bank.settlement_account",
        "organization.legal_address.postal_code",
        "contact.phone",
        "contact.email",
    }


# --- rule 1: only organizations are customers ------------------------------------------------


@pytest.mark.parametrize("legal_form", ["Физическое лицо", "физ. лицо", "самозанятый"])
async def test_natural_person_is_refused(identity, legal_form):
    person = contact()
    response = await identity.client.post(
        "/api/v1/registration",
        json={"organization": sole_proprietor(legal_form=legal_form), "contact": person},
    )
    errors = field_errors(response)
    assert list(errors) == ["organization.legal_form"]
    assert "natural persons cannot register" in response.json()["detail"]
    assert identity.mail.to(person["email"]) == []
    assert (
        await fetch(identity, PendingRegistration, PendingRegistration.email == person["email"])
        == []
    )


async def test_sole_proprietor_registers_without_kpp(identity):
    organization = sole_proprietor()
    completed, _ = await register(identity, organization)
    [org] = await fetch(identity, Organization, Organization.inn == organization["inn"])
    assert org.kind == "sole_proprietor" and org.legal_form == "ИП" and org.kpp is None
    assert org.requisites["ogrn"] == organization["ogrn"]
    [event] = await staged_events(
        identity, "identity.organization.registered", organization_id=completed["organization_id"]
    )
    assert event["kind"] == "sole_proprietor" and event["kpp"] is None


async def test_sole_proprietor_with_kpp_is_refused(identity):
    response = await identity.client.post(
        "/api/v1/registration",
        json={"organization": sole_proprietor(kpp="773601001"), "contact": contact()},
    )
    assert field_errors(response)["organization.kpp"] == "a sole proprietor has no KPP"


async def test_legal_entity_without_kpp_is_refused(identity):
    response = await identity.client.post(
        "/api/v1/registration",
        json={"organization": new_organization(kpp=None), "contact": contact()},
    )
    assert list(field_errors(response)) == ["organization.kpp"]


# --- rule 2: non-residents -------------------------------------------------------------------


async def test_non_resident_gives_its_own_tax_id_and_is_marked_non_resident(identity):
    organization = non_resident()
    completed, _ = await register(identity, organization)
    [org] = await fetch(identity, Organization, Organization.tax_id == organization["tax_id"])
    assert (org.country, org.resident, org.inn, org.kpp) == ("DE", False, None, None)
    assert org.kind == "legal_entity" and org.legal_form == "GmbH"
    [event] = await staged_events(
        identity, "identity.organization.registered", organization_id=completed["organization_id"]
    )
    assert event["resident"] is False and event["country"] == "DE"
    assert event["inn"] is None and event["foreign_tax_id"] == organization["tax_id"]

    looked_up = await identity.client.post(
        "/api/v1/registration/lookup", json={"country": "DE", "inn": organization["tax_id"]}
    )
    assert looked_up.json()["status"] == "existing"
    assert [o["id"] for o in looked_up.json()["organizations"]] == [completed["organization_id"]]


async def test_non_resident_without_tax_id_is_refused(identity):
    response = await identity.client.post(
        "/api/v1/registration",
        json={"organization": non_resident(tax_id=None), "contact": contact()},
    )
    assert list(field_errors(response)) == ["organization.tax_id"]


# --- rule 4: autofill from the directories ---------------------------------------------------


async def test_bank_and_address_are_completed_from_the_directories(identity):
    account = settlement_account()
    organization = new_organization(
        bank={"bik": SBERBANK_BIK, "settlement_account": account},
        legal_address=legal_address(region=None, locality=None),
        director_name="Смирнова Анна Сергеевна",
        classification="Разработка программ по заказу",
    )
    await register(identity, organization)
    [org] = await fetch(identity, Organization, Organization.inn == organization["inn"])
    assert org.requisites["bank"] == {
        "bik": SBERBANK_BIK,
        "name": "ПАО Сбербанк",
        "settlement_account": account,
        "correspondent_account": SBERBANK_CORRESPONDENT,
    }
    assert org.requisites["legal_address"]["region"] == "МОСКВА"
    assert org.requisites["legal_address"]["locality"] == "МОСКВА"
    assert org.requisites["director_name_genitive"] == "Смирновой Анны Сергеевны"
    # Set by hand, the classification is kept.
    assert org.requisites["classification"] == "Разработка программ по заказу"


async def test_corrected_genitive_is_kept(identity):
    organization = new_organization(director_name_genitive="Иванова-Петрова Ивана Ивановича")
    await register(identity, organization)
    [org] = await fetch(identity, Organization, Organization.inn == organization["inn"])
    assert org.requisites["director_name_genitive"] == "Иванова-Петрова Ивана Ивановича"


async def test_lookup_prefills_from_the_offline_registry(identity):
    inn = inn10()
    async with identity.app.state.sessionmaker() as session, session.begin():
        session.add(
            RegistryEntry(
                inn=inn,
                kpp="773601001",
                data={
                    "inn": inn,
                    "kpp": "773601001",
                    "ogrn": "1027700132195",
                    "okpo": "00032537",
                    "okved": "62.01",
                    "legal_form": "ООО",
                    "full_name": 'ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ "ВАСИЛЁК"',
                    "short_name": 'ООО "ВАСИЛЁК"',
                    "director_name": "Кузнецов Олег Петрович",
                    "legal_address": legal_address(),
                },
                imported_at=identity.clock.now(),
            )
        )
    try:
        response = await identity.client.post(
            "/api/v1/registration/lookup", json={"country": "RU", "inn": inn, "kpp": "773601001"}
        )
    finally:
        async with identity.app.state.sessionmaker() as session, session.begin():
            await session.execute(delete(RegistryEntry).where(RegistryEntry.inn == inn))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "new"
    prefill = response.json()["prefill"]
    assert prefill["inn"] == inn and prefill["kpp"] == "773601001"
    assert prefill["legal_form"] == "ООО"
    assert prefill["full_name"] == "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ ВАСИЛЁК"
    assert prefill["classification"].startswith("J — ")
    assert prefill["director_name_genitive"] == "Кузнецова Олега Петровича"
    assert prefill["legal_address"] == legal_address()


async def test_lookup_prefills_from_an_http_registry(platform_settings, mail_sink, sms_sink):
    inn = inn10()
    seen: list[tuple[str | None, dict[str, Any]]] = []
    registry = FastAPI()

    @registry.post("/suggestions/api/4_1/rs/findById/party")
    async def find_party(request: Request) -> dict[str, Any]:
        seen.append((request.headers.get("authorization"), await request.json()))
        return {
            "suggestions": [
                {
                    "value": "ООО ЛЮТИК",
                    "data": {
                        "inn": inn,
                        "kpp": "773601001",
                        "ogrn": "1027700132195",
                        "okved": "62.02",
                        "type": "LEGAL",
                        "opf": {"short": "ООО"},
                        "name": {
                            "full_with_opf": 'ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ "ЛЮТИК"',
                            "short_with_opf": 'ООО "ЛЮТИК"',
                        },
                        "management": {"name": "Орлов Павел Андреевич"},
                        "address": {
                            "value": "г Москва, ул Вавилова, д 19",
                            "data": {"postal_code": "117997", "region_with_type": "г Москва"},
                        },
                    },
                }
            ]
        }

    async with serve(registry) as registry_url:
        settings = identity_settings(
            platform_settings,
            mail_sink[1],
            sms_sink.url,
            registry_provider="http",
            registry_url=f"{registry_url}/suggestions/api/4_1/rs",
            registry_token="secret-token",
        )
        async with running(create_app(settings, clock=ManualClock())) as client:
            response = await client.post(
                "/api/v1/registration/lookup",
                json={"country": "RU", "inn": inn, "kpp": "773601001"},
            )
    assert response.status_code == 200, response.text
    assert seen == [("Token secret-token", {"query": inn, "kpp": "773601001"})]
    prefill = response.json()["prefill"]
    assert prefill["full_name"] == "ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ ЛЮТИК"
    assert prefill["director_name"] == "Орлов Павел Андреевич"
    assert prefill["legal_address"]["line"] == "г Москва, ул Вавилова, д 19"


async def test_lookup_without_a_reachable_registry_still_answers(
    platform_settings, mail_sink, sms_sink
):
    settings = identity_settings(
        platform_settings,
        mail_sink[1],
        sms_sink.url,
        registry_provider="http",
        registry_url="http://127.0.0.1:9/nothing-listens-here",
    )
    async with running(create_app(settings, clock=ManualClock())) as client:
        response = await client.post(
            "/api/v1/registration/lookup", json={"inn": inn10(), "kpp": "773601001"}
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "new", "organizations": [], "prefill": None}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"inn": "7707083894", "kpp": "773601001"}, "inn"),
        ({"inn": "77070838", "kpp": "773601001"}, "inn"),
        ({"inn": "7707083893", "kpp": "77360100"}, "kpp"),
        ({"inn": "7707083893"}, "kpp"),
        ({"inn": "500100732259", "kpp": "773601001"}, "kpp"),
    ],
)
async def test_lookup_names_a_wrong_inn_or_kpp(identity, body, field):
    response = await identity.client.post("/api/v1/registration/lookup", json=body)
    assert list(field_errors(response)) == [field]


# --- rule 9: one-time codes ------------------------------------------------------------------


async def _started(identity) -> tuple[str, dict[str, Any]]:
    person = contact()
    started = await start(identity, {"organization": new_organization(), "contact": person})
    return started["registration_id"], person


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_wrong_codes_are_counted_and_the_fifth_try_still_counts(identity):
    registration_id, person = await _started(identity)
    code = identity.sms.last_code(person["phone"])
    for left in (4, 3, 2, 1):
        response = await verify(identity, registration_id, "phone", _wrong(code))
        assert field_errors(response) == {"code": f"wrong code; {left} tries left"}
    right = await verify(identity, registration_id, "phone", code)
    assert right.status_code == 200, right.text
    assert right.json()["pending"] == ["email"]


async def test_five_wrong_codes_spend_the_code(identity):
    registration_id, person = await _started(identity)
    code = identity.mail.last_code(person["email"])
    for _ in range(5):
        assert "code" in field_errors(
            await verify(identity, registration_id, "email", _wrong(code))
        )
    # Even the right code no longer works; a new one does.
    assert "code" in field_errors(await verify(identity, registration_id, "email", code))
    identity.clock.advance(seconds=61)
    resent = await identity.client.post(
        f"/api/v1/registration/{registration_id}/resend", json={"channel": "email"}
    )
    assert resent.status_code == 200, resent.text
    fresh = identity.mail.last_code(person["email"])
    assert (await verify(identity, registration_id, "email", fresh)).status_code == 200


async def test_a_code_expires_after_ten_minutes(identity):
    registration_id, person = await _started(identity)
    code = identity.mail.last_code(person["email"])
    identity.clock.advance(minutes=11)
    assert "expired" in field_errors(await verify(identity, registration_id, "email", code))["code"]
    resent = await identity.client.post(
        f"/api/v1/registration/{registration_id}/resend", json={"channel": "email"}
    )
    assert resent.status_code == 200
    fresh = identity.mail.last_code(person["email"])
    assert (await verify(identity, registration_id, "email", fresh)).status_code == 200


async def test_resend_within_a_minute_is_429_with_retry_after(identity):
    registration_id, person = await _started(identity)
    identity.clock.advance(seconds=20)
    response = await identity.client.post(
        f"/api/v1/registration/{registration_id}/resend", json={"channel": "phone"}
    )
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 41
    identity.clock.advance(seconds=41)
    first = identity.sms.last_code(person["phone"])
    again = await identity.client.post(
        f"/api/v1/registration/{registration_id}/resend", json={"channel": "phone"}
    )
    assert again.status_code == 200
    assert again.json()["pending"] == ["email", "phone"]
    # The first code stopped working when the new one was sent.
    fresh = identity.sms.last_code(person["phone"])
    if fresh != first:
        assert "code" in field_errors(await verify(identity, registration_id, "phone", first))
    assert (await verify(identity, registration_id, "phone", fresh)).status_code == 200


async def test_resend_of_a_verified_channel_is_a_conflict(identity):
    registration_id, person = await _started(identity)
    code = identity.mail.last_code(person["email"])
    assert (await verify(identity, registration_id, "email", code)).status_code == 200
    identity.clock.advance(seconds=61)
    response = await identity.client.post(
        f"/api/v1/registration/{registration_id}/resend", json={"channel": "email"}
    )
    assert response.status_code == 409


# --- rule 3: a pending registration expires after 24 hours -----------------------------------


async def test_registration_expires_after_24_hours_and_the_job_deletes_it(identity):
    registration_id, person = await _started(identity)
    identity.clock.advance(hours=23, minutes=59)
    fresh_id, _ = await _started(identity)
    code = identity.mail.last_code(person["email"])

    identity.clock.advance(minutes=2)
    expired = await verify(identity, registration_id, "email", code)
    assert expired.status_code == 404, expired.text
    assert expired.headers["content-type"].startswith("application/problem+json")
    resend = await identity.client.post(
        f"/api/v1/registration/{registration_id}/resend", json={"channel": "phone"}
    )
    assert resend.status_code == 404

    assert await identity.app.state.runtime.jobs.run_once(JOB)
    gone = uuid.UUID(registration_id)
    assert await fetch(identity, PendingRegistration, PendingRegistration.id == gone) == []
    assert await fetch(identity, OneTimeCode, OneTimeCode.subject.startswith(registration_id)) == []
    # The one started later has its own 24 hours.
    kept = await fetch(identity, PendingRegistration, PendingRegistration.id == uuid.UUID(fresh_id))
    assert len(kept) == 1


async def test_the_job_keeps_a_registration_younger_than_24_hours(identity):
    registration_id, _ = await _started(identity)
    identity.clock.advance(hours=23)
    assert await identity.app.state.runtime.jobs.run_once(JOB)
    async with identity.app.state.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(PendingRegistration)
            .where(PendingRegistration.id == uuid.UUID(registration_id))
        )
    assert count == 1


async def test_unknown_registration_is_404(identity):
    response = await verify(identity, str(uuid.uuid4()), "email", "123456")
    assert response.status_code == 404
