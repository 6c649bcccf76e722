"""Rule 10: callback requests scheduled for the next opening, rate-limited per phone and address."""

import asyncio
import uuid
from datetime import datetime

from services.helpdesk.tests.conftest import agent, msk


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def phone() -> str:
    return f"+7916{uuid.uuid4().int % 10**7:07d}"


async def test_scheduled_for_the_next_opening_from_the_calendar(helpdesk):
    cases = [
        (msk(2026, 11, 27, 19, 30), msk(2026, 11, 30, 10, 0)),  # Friday evening → Monday
        (msk(2026, 11, 24, 3, 0), msk(2026, 11, 24, 10, 0)),  # night → the same morning
        (msk(2026, 12, 31, 12, 0), msk(2027, 1, 11, 10, 0)),  # New Year holidays
        (msk(2026, 11, 24, 12, 0), msk(2026, 11, 24, 12, 0)),  # open now → now
    ]
    for now, expected in cases:
        helpdesk.clock.set(now)
        response = await helpdesk.client.post(
            "/api/v1/callbacks",
            json={"name": "Иван Петров", "phone": phone(), "topic": "Не активируется лицензия"},
            headers={"X-Forwarded-For": f"10.0.{uuid.uuid4().int % 250}.1"},
        )
        assert response.status_code == 201, response.text
        assert when(response.json()["scheduled_for"]) == expected, now


async def test_agents_see_the_list_and_mark_done(helpdesk):
    number = "8 (916) 555-12-34"
    created = await helpdesk.client.post(
        "/api/v1/callbacks",
        json={"name": "Анна", "phone": number, "topic": "Продление техподдержки"},
        headers={"X-Forwarded-For": "10.1.1.1"},
    )
    callback_id = created.json()["id"]
    assert (await helpdesk.client.get("/api/v1/callbacks")).status_code == 401
    staff = agent(helpdesk)
    listed = (
        await helpdesk.client.get("/api/v1/callbacks", params={"limit": 200}, headers=staff)
    ).json()
    mine = next(item for item in listed["items"] if item["id"] == callback_id)
    assert (mine["phone"], mine["status"]) == ("+79165551234", "scheduled")
    done = await helpdesk.client.post(f"/api/v1/callbacks/{callback_id}/done", headers=staff)
    assert done.status_code == 200 and done.json()["status"] == "done"
    again = await helpdesk.client.post(f"/api/v1/callbacks/{callback_id}/done", headers=staff)
    assert again.status_code == 409
    left = (
        await helpdesk.client.get("/api/v1/callbacks", params={"limit": 200}, headers=staff)
    ).json()
    assert callback_id not in [item["id"] for item in left["items"]]
    bad = await helpdesk.client.post(
        "/api/v1/callbacks", json={"name": "Анна", "phone": "12", "topic": "x"}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "phone"


async def test_rate_limited_per_phone_even_with_requests_at_once(start_helpdesk):
    async with start_helpdesk(callbacks_per_phone_per_day=3) as helpdesk:
        number = phone()

        async def ask(n: int):
            return await helpdesk.client.post(
                "/api/v1/callbacks",
                json={"name": "Пётр", "phone": number, "topic": "Ключ"},
                headers={"X-Forwarded-For": f"10.2.0.{n}"},
            )

        answers = await asyncio.gather(*(ask(n) for n in range(6)))
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [201, 201, 201, 429, 429, 429]
        refused = next(a for a in answers if a.status_code == 429)
        assert int(refused.headers["Retry-After"]) > 0
        helpdesk.clock.advance(hours=24, seconds=1)
        assert (await ask(9)).status_code == 201


async def test_rate_limited_per_address(start_helpdesk):
    async with start_helpdesk(callbacks_per_address_per_hour=2) as helpdesk:
        address = {"X-Forwarded-For": f"10.3.{uuid.uuid4().int % 250}.7"}
        body = {"name": "Олег", "topic": "Оплата"}
        for expected in (201, 201, 429):
            answer = await helpdesk.client.post(
                "/api/v1/callbacks", json={**body, "phone": phone()}, headers=address
            )
            assert answer.status_code == expected
        helpdesk.clock.advance(hours=1, seconds=1)
        answer = await helpdesk.client.post(
            "/api/v1/callbacks", json={**body, "phone": phone()}, headers=address
        )
        assert answer.status_code == 201
