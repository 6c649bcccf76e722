"""Rule 4: public replies and internal notes; attachments checked, stored outside the row and
readable only by the ticket's organization and staff."""

import uuid

from sqlalchemy import select

from services.helpdesk.models import TicketAttachment
from services.helpdesk.tests.conftest import agent, contact, open_ticket

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LOG = "2026-11-23 12:00:01 CodeMeter: лицензия не найдена\n".encode()


async def upload(helpdesk, ticket_id, headers, content, content_type, filename="screen.png"):
    return await helpdesk.client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        params={"filename": filename},
        content=content,
        headers={**headers, "Content-Type": content_type},
    )


async def test_notes_are_never_shown_to_the_customer(helpdesk):
    org = uuid.uuid4()
    customer, staff = contact(helpdesk, org), agent(helpdesk)
    ticket = await open_ticket(helpdesk, customer)
    secret = "Клиент задолжал за прошлый год"
    note = await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": secret, "internal": True},
        headers=staff,
    )
    assert note.status_code == 201
    shot = await upload(helpdesk, ticket["id"], staff, PNG, "image/png", "internal.png")
    await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "Скриншот для коллег", "internal": True, "attachments": [shot.json()["id"]]},
        headers=staff,
    )
    for headers in (customer, contact(helpdesk, org)):
        shown = await helpdesk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)
        assert secret not in shown.text and "Скриншот для коллег" not in shown.text
        assert shown.json()["attachments"] == []
        hidden = await helpdesk.client.get(
            f"/api/v1/tickets/{ticket['id']}/attachments/{shot.json()['id']}", headers=headers
        )
        assert hidden.status_code == 404
        listed = await helpdesk.client.get("/api/v1/tickets", headers=headers)
        assert secret not in listed.text
    for_staff = await helpdesk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=staff)
    assert secret in for_staff.text
    assert [a["id"] for a in for_staff.json()["attachments"]] == [shot.json()["id"]]


async def test_attachments_are_checked_stored_outside_and_read_only_by_their_owners(helpdesk):
    org = uuid.uuid4()
    customer = contact(helpdesk, org)
    ticket = await open_ticket(helpdesk, customer)
    uploaded = await upload(helpdesk, ticket["id"], customer, PNG, "image/png")
    assert uploaded.status_code == 201, uploaded.text
    log = await upload(helpdesk, ticket["id"], customer, LOG, "text/plain; charset=utf-8", "cm.log")
    assert log.status_code == 201
    reply = await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={
            "body": "Скриншот и журнал",
            "attachments": [uploaded.json()["id"], log.json()["id"]],
        },
        headers=customer,
    )
    assert reply.status_code == 201
    assert set(reply.json()["attachments"]) == {uploaded.json()["id"], log.json()["id"]}

    async with helpdesk.app.state.sessionmaker() as session:
        row = await session.scalar(
            select(TicketAttachment).where(TicketAttachment.id == uuid.UUID(uploaded.json()["id"]))
        )
    assert row is not None and row.size == len(PNG)
    assert (helpdesk.settings.attachments_dir / row.storage_key).read_bytes() == PNG

    path = f"/api/v1/tickets/{ticket['id']}/attachments/{uploaded.json()['id']}"
    for headers in (customer, contact(helpdesk, org), agent(helpdesk)):
        got = await helpdesk.client.get(path, headers=headers)
        assert got.status_code == 200 and got.content == PNG
        assert got.headers["content-type"] == "image/png"
    for headers in (
        contact(helpdesk, uuid.uuid4()),
        helpdesk.as_api_key(uuid.uuid4(), ("tickets:write",)),
    ):
        assert (await helpdesk.client.get(path, headers=headers)).status_code == 404
    stranger = await upload(
        helpdesk, ticket["id"], contact(helpdesk, uuid.uuid4()), PNG, "image/png"
    )
    assert stranger.status_code == 404


async def test_wrong_types_disguised_files_and_oversized_files_are_refused(start_helpdesk):
    async with start_helpdesk(attachment_max_bytes=1024) as helpdesk:
        customer = contact(helpdesk, uuid.uuid4())
        ticket = await open_ticket(helpdesk, customer)
        exe = await upload(
            helpdesk, ticket["id"], customer, b"MZ\x90\x00", "application/x-msdownload"
        )
        assert exe.status_code == 422
        assert exe.json()["errors"][0]["field"] == "content_type"
        disguised = await upload(helpdesk, ticket["id"], customer, b"MZ\x90\x00", "image/png")
        assert disguised.status_code == 422
        assert "not image/png" in disguised.json()["errors"][0]["message"]
        too_big = await upload(helpdesk, ticket["id"], customer, PNG + b"\x00" * 1024, "image/png")
        assert too_big.status_code == 413
        assert too_big.json()["errors"][0]["field"] == "body"
        async with helpdesk.app.state.sessionmaker() as session:
            assert (
                list(
                    await session.scalars(
                        select(TicketAttachment.id).where(
                            TicketAttachment.ticket_id == uuid.UUID(ticket["id"])
                        )
                    )
                )
                == []
            )
        assert not any(helpdesk.settings.attachments_dir.rglob("*"))
        # Only the author's own unattached uploads go on a message.
        foreign = await helpdesk.client.post(
            f"/api/v1/tickets/{ticket['id']}/messages",
            json={"body": "Смотрите вложение", "attachments": [str(uuid.uuid4())]},
            headers=customer,
        )
        assert foreign.status_code == 422
        assert foreign.json()["errors"][0]["field"] == "attachments[0]"
