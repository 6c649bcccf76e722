"""A partner's customers: an organization becomes one when it receives a contract or license
the partner imported, or a certificate the partner issued; `licensing.partner.customer_linked`
says so once per pair, and links older than the link table are published at start."""

import uuid

from sqlalchemy import update

from services.licensing.models import License
from services.licensing.partners.service import partner_service
from services.licensing.tests.factories import (
    contract_body,
    known_contact,
    known_organization,
    staged,
    unique_number,
    upload,
)
from shared.testing.events import unique_inn

LINKED = "licensing.partner.customer_linked"
PARTNER_KEY = ("contracts:write", "licenses:write")


async def links_of(licensing, partner_id: uuid.UUID) -> list[tuple[str, str, str]]:
    return [
        (data["organization_id"], data["source"], data["source_id"])
        for data in await staged(licensing, LINKED)
        if data["partner_id"] == str(partner_id)
    ]


async def partner_contract(licensing, partner_id: uuid.UUID, inn: str = "7707083893"):
    licensee = {"inn": inn, "kpp": "773601001", "name": "ООО Ромашка", "email": "it@romashka.ru"}
    response = await licensing.client.post(
        "/api/v1/contracts",
        json=contract_body(licensee=licensee),
        headers=licensing.as_api_key(partner_id, PARTNER_KEY),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def issue_certificate(licensing, headers, **body):
    payload = {
        "tier": "partner",
        "products": ["BAZIS_FURNITURE"],
        "key_serials": [],
        "starts_at": "2026-11-01T00:00:00Z",
        "ends_at": "2099-11-01T00:00:00Z",
        "number": unique_number("ТП"),
        **body,
    }
    response = await licensing.client.post(
        "/api/v1/support-certificates", json=payload, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_partners_contract_uploaded_into_an_account_links_its_organization_once(
    licensing,
):
    partner = await known_organization(licensing)
    customer = await known_organization(licensing)
    contact = await known_contact(licensing, customer, "it@romashka.ru")
    first = await partner_contract(licensing, partner)
    second = await partner_contract(licensing, partner)
    assert await links_of(licensing, partner) == []  # imported: nobody's yet

    response = await upload(licensing, contact, first["number"], second["number"])

    assert response.json()["status"] == "approved", response.text
    # Two contracts with a license each reach the customer: one link, credited to a contract.
    [(organization_id, source, source_id)] = await links_of(licensing, partner)
    assert (organization_id, source) == (str(customer), "contract")
    assert source_id in (first["id"], second["id"])


async def a_partners_license_and_a_customer(licensing):
    """A partner's imported contract with one license, and a contact of another organization
    holding its activation code: (partner, customer, contact headers, license)."""
    partner = await known_organization(licensing)
    customer = await known_organization(licensing)
    contact = await known_contact(licensing, customer, "someone@else.ru")
    contract = await partner_contract(licensing, partner)
    [license_] = contract["licenses"]
    return partner, customer, contact, license_


async def register_license(licensing, contact, license_):
    """The contact registers the license by its activation code."""
    return await licensing.client.post(
        "/api/v1/licenses/register",
        json={"activation_code": license_["activation_code"]},
        headers=contact,
    )


async def test_a_partners_activation_code_registered_by_a_customer_links_it(licensing):
    partner, customer, contact, license_ = await a_partners_license_and_a_customer(licensing)

    response = await register_license(licensing, contact, license_)

    assert response.status_code == 200, response.text
    assert await links_of(licensing, partner) == [(str(customer), "license", license_["id"])]


async def test_a_partners_certificate_links_its_organization_when_it_becomes_theirs(licensing):
    partner = await known_organization(licensing)
    by_id = await known_organization(licensing, inn=unique_inn())
    known_inn = unique_inn()
    by_inn = await known_organization(licensing, inn=known_inn)
    key = licensing.as_api_key(partner, PARTNER_KEY)

    direct = await issue_certificate(licensing, key, organization_id=str(by_id))
    await issue_certificate(licensing, key, organization_id=str(by_id))  # linked already
    # The INN of one registered organization: that organization's at once.
    at_once = await issue_certificate(licensing, key, organization_inn=known_inn)
    # An INN nobody has registered yet: the certificate waits for registration by number.
    later_inn = unique_inn()
    waiting = await issue_certificate(licensing, key, organization_inn=later_inn)
    assert await links_of(licensing, partner) == [
        (str(by_id), "support_certificate", direct["id"]),
        (str(by_inn), "support_certificate", at_once["id"]),
    ]
    registers = await known_organization(licensing, inn=later_inn)
    contact = await known_contact(licensing, registers, "a@romashka.ru")
    registered = await licensing.client.post(
        "/api/v1/support-certificates/register",
        json={"number": waiting["number"]},
        headers=contact,
    )

    assert registered.status_code == 200, registered.text
    assert await links_of(licensing, partner) == [
        (str(by_id), "support_certificate", direct["id"]),
        (str(by_inn), "support_certificate", at_once["id"]),
        (str(registers), "support_certificate", waiting["id"]),
    ]


async def test_the_vendors_documents_and_a_partners_own_link_nobody(licensing):
    partner = await known_organization(licensing)
    customer = await known_organization(licensing)
    before = len(await staged(licensing, LINKED))

    await issue_certificate(licensing, licensing.as_admin(), organization_id=str(customer))
    await issue_certificate(
        licensing, licensing.as_api_key(partner, PARTNER_KEY), organization_id=str(partner)
    )

    assert len(await staged(licensing, LINKED)) == before


async def test_links_older_than_the_link_table_are_published_once_at_start(licensing):
    partner, customer, contact, license_ = await a_partners_license_and_a_customer(licensing)
    async with licensing.app.state.sessionmaker() as session, session.begin():
        # A license registered by an earlier version: it kept no partner on the row then.
        await session.execute(
            update(License).where(License.id == uuid.UUID(license_["id"])).values(partner_id=None)
        )
    response = await register_license(licensing, contact, license_)
    assert response.status_code == 200, response.text
    async with licensing.app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(License)
            .where(License.id == uuid.UUID(license_["id"]))
            .values(partner_id=partner)
        )
    assert await links_of(licensing, partner) == []

    for _ in range(2):  # two starts: the second finds nothing left
        async with licensing.app.state.sessionmaker() as session, session.begin():
            await partner_service.link_earlier(
                session, licensing.app.state.runtime.outbox, licensing.clock.now()
            )

    assert await links_of(licensing, partner) == [(str(customer), "license", license_["id"])]
