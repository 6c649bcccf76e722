"""Rule 1: protection keys imported by an admin, or by a partner for itself and its customers;
a contact sees only its organization's keys, staff see every key, and another organization's
key is a 404, never a 403."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from services.dongle.models import ProtectionKey, partner_customers
from services.dongle.tests.bus import handled, organization_registered
from shared.bus.envelope import Envelope
from shared.events.licensing import PartnerCustomerLinked
from shared.testing.bus import envelope_of
from shared.testing.events import unique_inn


def codemeter_serial() -> str:
    return f"3-{uuid.uuid4().int % 10**9:09d}"


async def import_key(dongle, organization_id, serial=None, kind="codemeter", headers=None):
    return await dongle.client.post(
        "/api/v1/keys",
        json={
            "serial": serial or codemeter_serial(),
            "kind": kind,
            "organization_id": str(organization_id),
        },
        headers=dongle.as_admin() if headers is None else headers,
    )


async def imported(dongle, organization_id, count):
    serials = []
    for _ in range(count):
        response = await import_key(dongle, organization_id)
        assert response.status_code == 201, response.text
        serials.append(response.json()["serial"])
    return sorted(serials)


async def all_keys(dongle, headers, **params):
    """Every key the caller may list, walking the pages."""
    keys, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await dongle.client.get("/api/v1/keys", params=query, headers=headers)
        assert response.status_code == 200, response.text
        keys += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return keys


async def test_admin_imports_a_key_for_an_organization(dongle):
    organization_id = uuid.uuid4()

    response = await import_key(dongle, organization_id, serial=" 3-1234567 ")

    assert response.status_code == 201, response.text
    assert response.json() == {
        "serial": "3-1234567",
        "kind": "codemeter",
        "organization_id": str(organization_id),
        "status": "active",
        "licenses": [],
        "maintenance_ends_at": None,
        "protection": None,
        "created_at": "2026-11-02T09:00:00Z",
    }
    async with dongle.app.state.sessionmaker() as session:
        stored = await session.scalar(
            select(ProtectionKey).where(ProtectionKey.serial == "3-1234567")
        )
    assert stored.organization_id == organization_id and stored.created_by is not None


async def test_keys_of_other_kinds_keep_their_own_serials(dongle):
    serial = f"G{uuid.uuid4().hex[:9].upper()}"
    response = await import_key(dongle, uuid.uuid4(), serial=serial, kind="guardant")
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "guardant"


async def test_a_serial_imported_already_is_409_whoever_owns_it(dongle):
    serial = codemeter_serial()
    assert (await import_key(dongle, uuid.uuid4(), serial=serial)).status_code == 201

    for organization_id in (uuid.uuid4(), uuid.uuid4()):
        again = await import_key(dongle, organization_id, serial=serial)
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"


async def test_invalid_imports_are_422_naming_the_field(dongle):
    for body, field in (
        ({"serial": "ABC-1"}, "serial"),  # not a CodeMeter serial
        ({"serial": "3 1234567"}, "serial"),
        ({"serial": "3/1234567"}, "serial"),
        ({"serial": ""}, "serial"),
        ({"kind": "CodeMeter"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"organization_id": "acme"}, "organization_id"),
        ({"organization_id": None, "organization_inn": "7707083890"}, "organization_inn"),
        ({"status": "lost"}, "status"),
    ):
        response = await dongle.client.post(
            "/api/v1/keys",
            json={
                "serial": codemeter_serial(),
                "kind": "codemeter",
                "organization_id": str(uuid.uuid4()),
                **body,
            },
            headers=dongle.as_admin(),
        )
        assert response.status_code == 422, body
        assert [error["field"] for error in response.json()["errors"]] == [field], body


async def test_only_an_admin_or_a_partner_with_licenses_write_imports_keys(dongle):
    organization_id = uuid.uuid4()
    for headers, status in (
        ({}, 401),
        (dongle.as_contact(organization_id), 403),
        (dongle.as_agent(), 403),
        (dongle.as_api_key(organization_id), 403),
        (dongle.as_api_key(organization_id, scopes=("read", "orders:write")), 403),
    ):
        response = await import_key(dongle, organization_id, headers=headers)
        assert response.status_code == status
    assert await all_keys(dongle, dongle.as_admin(), organization_id=str(organization_id)) == []


async def test_a_contact_lists_only_its_own_organizations_keys(dongle):
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    our_serials = await imported(dongle, ours, 3)
    their_serials = await imported(dongle, theirs, 2)

    listed = await all_keys(dongle, dongle.as_contact(ours))
    their_listing = await all_keys(dongle, dongle.as_contact(theirs))

    assert [key["serial"] for key in listed] == our_serials
    assert {key["organization_id"] for key in listed} == {str(ours)}
    assert [key["serial"] for key in their_listing] == their_serials
    # Asking for another organization's keys finds nothing.
    assert await all_keys(dongle, dongle.as_contact(ours), organization_id=str(theirs)) == []
    assert len(await all_keys(dongle, dongle.as_contact(ours), organization_id=str(ours))) == 3


async def test_a_contacts_keys_come_page_by_page_by_serial(dongle):
    ours = uuid.uuid4()
    serials = await imported(dongle, ours, 5)

    first = await dongle.client.get(
        "/api/v1/keys", params={"limit": 2}, headers=dongle.as_contact(ours)
    )
    paged = await all_keys(dongle, dongle.as_contact(ours), limit=2)

    assert len(first.json()["items"]) == 2 and first.json()["next_cursor"]
    assert [key["serial"] for key in paged] == serials


async def test_staff_list_every_key_or_one_organizations(dongle):
    first, second = uuid.uuid4(), uuid.uuid4()
    first_serials = await imported(dongle, first, 2)
    second_serials = await imported(dongle, second, 1)

    for staff in (dongle.as_admin(), dongle.as_agent()):
        everything = {key["serial"] for key in await all_keys(dongle, staff, limit=200)}
        one = await all_keys(dongle, staff, organization_id=str(first))
        assert set(first_serials + second_serials) <= everything
        assert [key["serial"] for key in one] == first_serials


async def test_a_key_of_another_organization_is_404_like_a_missing_one(dongle):
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    [our_serial] = await imported(dongle, ours, 1)
    [their_serial] = await imported(dongle, theirs, 1)
    contact = dongle.as_contact(ours)

    own = await dongle.client.get(f"/api/v1/keys/{our_serial}", headers=contact)
    foreign = await dongle.client.get(f"/api/v1/keys/{their_serial}", headers=contact)
    missing = await dongle.client.get(f"/api/v1/keys/{codemeter_serial()}", headers=contact)

    assert own.status_code == 200 and own.json()["serial"] == our_serial
    assert foreign.status_code == 404 and missing.status_code == 404
    assert foreign.headers["content-type"] == "application/problem+json"
    strip = {"instance"}
    assert {k: v for k, v in foreign.json().items() if k not in strip} == {
        k: v for k, v in missing.json().items() if k not in strip
    }
    for staff in (dongle.as_admin(), dongle.as_agent()):
        seen = await dongle.client.get(f"/api/v1/keys/{their_serial}", headers=staff)
        assert seen.status_code == 200 and seen.json()["organization_id"] == str(theirs)


async def test_accountants_partners_and_strangers_see_no_keys(dongle):
    ours = uuid.uuid4()
    [serial] = await imported(dongle, ours, 1)
    for headers, status in (
        ({}, 401),
        (dongle.as_accountant(ours), 403),
        (dongle.as_api_key(ours), 403),
    ):
        listed = await dongle.client.get("/api/v1/keys", headers=headers)
        one = await dongle.client.get(f"/api/v1/keys/{serial}", headers=headers)
        assert (listed.status_code, one.status_code) == (status, status)


def customer_linked(partner: uuid.UUID, customer: uuid.UUID) -> Envelope:
    return envelope_of(
        PartnerCustomerLinked(
            partner_id=partner,
            organization_id=customer,
            source="contract",
            source_id=uuid.uuid4(),
            linked_at=datetime.now(UTC),
        )
    )


async def test_a_partner_imports_a_key_by_its_customers_inn(dongle):
    customer, partner_org = uuid.uuid4(), uuid.uuid4()
    registered = envelope_of(organization_registered(customer, "5001007329"))
    await handled(dongle, registered, registered, customer_linked(partner_org, customer))
    partner = dongle.as_api_key(partner_org, scopes=("licenses:write",))
    body = {"serial": codemeter_serial(), "kind": "codemeter", "organization_inn": "5001007329"}
    retry = {**partner, "Idempotency-Key": f"import-{body['serial']}"}

    first = await dongle.client.post("/api/v1/keys", json=body, headers=retry)
    fresh = await dongle.client.post("/api/v1/keys", json=body, headers=partner)

    assert first.status_code == 201, first.text
    assert first.json()["organization_id"] == str(customer)
    assert fresh.status_code == 409  # without the header a retry is a second import


async def test_a_partner_imports_keys_only_for_itself_and_its_customers(dongle):
    partner_org, rival = uuid.uuid4(), uuid.uuid4()
    customer, rivals_customer, bystander = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    linked = customer_linked(partner_org, customer)
    customers_inn, rivals_inn, bystanders_inn = unique_inn(), unique_inn(), unique_inn()
    await handled(
        dongle,
        envelope_of(organization_registered(customer, customers_inn)),
        envelope_of(organization_registered(rivals_customer, rivals_inn)),
        envelope_of(organization_registered(bystander, bystanders_inn)),
        customer_linked(rival, rivals_customer),
        linked,
        linked,  # delivered twice
        customer_linked(partner_org, customer),  # stated again: still one link
    )
    partner = dongle.as_api_key(partner_org, scopes=("licenses:write",))

    async def imports(**owner):
        body = {"serial": codemeter_serial(), "kind": "codemeter", **owner}
        return await dongle.client.post("/api/v1/keys", json=body, headers=partner)

    by_id = [
        await imports(organization_id=str(o)) for o in (rivals_customer, bystander, uuid.uuid4())
    ]
    by_inn = [
        await imports(organization_inn=inn) for inn in (rivals_inn, bystanders_inn, unique_inn())
    ]
    accepted = [
        await imports(organization_id=str(customer)),
        await imports(organization_inn=customers_inn),
        await imports(organization_id=str(partner_org)),  # its own key
    ]

    # Another partner's customer, an organization with nothing of this partner's and one that
    # does not exist read the same, by id and by INN.
    assert [r.status_code for r in by_id + by_inn] == [422] * 6
    assert len({r.text for r in by_id}) == 1 and len({r.text for r in by_inn}) == 1
    assert [r.status_code for r in accepted] == [201, 201, 201]
    assert [r.json()["organization_id"] for r in accepted] == [str(customer)] * 2 + [
        str(partner_org)
    ]
    # An admin imports for any organization.
    assert (await import_key(dongle, bystander)).status_code == 201
    async with dongle.app.state.sessionmaker() as session:
        links = await session.scalars(partner_customers.of(partner_org))
        assert list(links) == [customer]


async def test_a_retried_partner_import_with_the_same_idempotency_key_is_replayed(dongle):
    customer, partner_org = uuid.uuid4(), uuid.uuid4()
    await handled(dongle, customer_linked(partner_org, customer))
    headers = {
        **dongle.as_api_key(partner_org, scopes=("licenses:write",)),
        "Idempotency-Key": str(uuid.uuid4()),
    }
    body = {"serial": codemeter_serial(), "kind": "codemeter", "organization_id": str(customer)}

    first = await dongle.client.post("/api/v1/keys", json=body, headers=headers)
    replay = await dongle.client.post("/api/v1/keys", json=body, headers=headers)

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    listed = await all_keys(dongle, dongle.as_admin(), organization_id=str(customer))
    assert [key["serial"] for key in listed] == [body["serial"]]


async def test_an_inn_no_organization_has_is_422_naming_the_field(dongle):
    response = await dongle.client.post(
        "/api/v1/keys",
        json={"serial": codemeter_serial(), "kind": "codemeter", "organization_inn": "7811009871"},
        headers=dongle.as_api_key(uuid.uuid4(), scopes=("licenses:write",)),
    )
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["organization_inn"]


async def test_an_inn_shared_by_several_organizations_asks_for_the_id(dongle):
    head, branch, partner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await handled(
        dongle,
        envelope_of(organization_registered(head, "7707083893")),
        envelope_of(organization_registered(branch, "7707083893")),
        customer_linked(partner, head),
        customer_linked(partner, branch),
    )
    response = await dongle.client.post(
        "/api/v1/keys",
        json={"serial": codemeter_serial(), "kind": "codemeter", "organization_inn": "7707083893"},
        headers=dongle.as_api_key(partner, scopes=("licenses:write",)),
    )
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["organization_inn"]
