"""A customer's support story through the gateway: a suggestion while writing, a ticket with a
screenshot, the agent's answer by e-mail, a call-back request."""

import uuid

from shared.testing.plugin import eventually
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack
from tests.stories import QUESTION, open_ticket, register_company, sign_in, suggest

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 256


async def test_a_ticket_from_suggestion_to_the_agents_answer_by_mail(stack: Stack):
    company = await register_company(stack)
    customer = await sign_in(stack, company["email"])
    suggested = await suggest(stack)
    assert suggested.status_code == 200, suggested.text
    assert suggested.json()["items"][0]["title"].startswith(QUESTION["subject"])

    opened = await open_ticket(stack, customer, suggestion_id=suggested.json()["suggestion_id"])
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    assert (ticket["tier"], ticket["status"]) == ("none", "new")

    uploaded = await stack.gateway.post(
        f"/api/v1/tickets/{ticket['id']}/attachments",
        params={"filename": "ошибка.png"},
        content=PNG,
        headers={**customer, "Content-Type": "image/png"},
    )
    assert uploaded.status_code == 201, uploaded.text
    downloaded = await stack.gateway.get(
        f"/api/v1/tickets/{ticket['id']}/attachments/{uploaded.json()['id']}", headers=customer
    )
    assert downloaded.status_code == 200 and downloaded.content == PNG

    # Another company sees nothing of it.
    stranger = await sign_in(stack, (await register_company(stack))["email"])
    hidden = await stack.gateway.get(f"/api/v1/tickets/{ticket['id']}", headers=stranger)
    assert hidden.status_code == 404

    staff = await sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    answered = await stack.gateway.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "Введите код без пробелов, буква O и цифра 0 различаются."},
        headers=staff,
    )
    assert answered.status_code == 201, answered.text

    # The author's address came to helpdesk from identity's event; the mail from the outbox.
    def mailed() -> list:
        return [
            mail for mail in stack.mail.to(company["email"]) if ticket["number"] in mail.subject
        ]

    await eventually(lambda: len(mailed()) >= 2, timeout=60)
    texts = " ".join(mail.text for mail in mailed())
    assert "буква O и цифра 0 различаются" in texts
    assert "в работе" in " ".join(mail.subject for mail in mailed())


async def test_a_visitor_asks_to_be_called_back(stack: Stack):
    asked = await stack.gateway.post(
        "/api/v1/callbacks",
        json={"name": "Иван", "phone": f"+7916{uuid.uuid4().int % 10**7:07d}", "topic": "Ключ"},
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["scheduled_for"]
