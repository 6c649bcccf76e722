"""Codes, logins and links go out only after the request that made them committed, from
`outgoing_messages`: a provider that is down delays them and fails nothing, a request that fails
sends nothing, and two senders never send one message twice."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta

from aiosmtpd.controller import Controller
from fastapi import BackgroundTasks, FastAPI, Request
from sqlalchemy import select

from services.identity.codes.delivery import Delivery
from services.identity.messages.service import Outgoing, message_service
from services.identity.models import OneTimeCode, OutgoingMessage
from services.identity.tests.conftest import IdentityHarness, identity_settings, started_identity
from services.identity.tests.organization_factories import add_staff
from services.identity.tests.test_registration import (
    contact,
    fetch,
    new_organization,
    start,
    unique_email,
    unique_phone,
    verify,
)
from shared.testing.plugin import eventually, idle_transactions_locking
from shared.testing.servers import free_port, serve
from shared.testing.sinks import MailSink, SmsSink

PER_HOUR = 5


async def messages_to(identity, recipient: str) -> list[OutgoingMessage]:
    return await fetch(identity, OutgoingMessage, OutgoingMessage.recipient == recipient)


@contextlib.asynccontextmanager
async def identity_without_sms(
    platform_settings, mail_sink
) -> AsyncIterator[tuple[IdentityHarness, SmsSink, int]]:
    """identity whose SMS provider is down: nothing listens on its port until the test serves
    `sms.webhook()` there."""
    mail, smtp_port = mail_sink
    sms = SmsSink()
    sms_port = free_port()
    settings = identity_settings(platform_settings, smtp_port, f"http://127.0.0.1:{sms_port}/sms")
    async with started_identity(settings, mail, sms) as identity:
        yield identity, sms, sms_port


async def send_until(identity, arrived) -> None:
    """Runs the sending job until `arrived()` holds (a bounded poll, no sleeping on time)."""
    jobs = identity.app.state.runtime.jobs

    async def sent() -> bool:
        await jobs.run_once("send_messages")
        result = arrived()
        return bool(await result if asyncio.iscoroutine(result) else result)

    await eventually(sent)


async def test_a_code_waits_for_a_stopped_sms_provider_and_arrives_once_it_is_back(
    platform_settings, mail_sink
):
    # The SMS provider is down while the person registers.
    async with identity_without_sms(platform_settings, mail_sink) as (identity, sms, sms_port):
        mail = identity.mail
        person = contact()
        answer = await identity.client.post(
            "/api/v1/registration", json={"organization": new_organization(), "contact": person}
        )
        assert answer.status_code == 201, answer.text
        registration_id = answer.json()["registration_id"]
        # The e-mail code went at once; the SMS waits, its code kept hashed where it is checked.
        await verify(identity, registration_id, "email", mail.last_code(person["email"]))
        [waiting] = await messages_to(identity, person["phone"])
        assert waiting.status == "pending" and waiting.attempts == 1 and waiting.last_error
        [code] = await fetch(
            identity, OneTimeCode, OneTimeCode.subject == f"{registration_id}:phone"
        )
        assert re.fullmatch(r"\d{6}", code.code_hash) is None
        assert sms.messages == []

        # Back after a pause: the next try waits for its back-off, then delivers it, once.
        async with serve(sms.webhook(), port=sms_port):
            assert await identity.app.state.runtime.jobs.run_once("send_messages")
            assert sms.messages == []
            identity.clock.advance(timedelta(seconds=11))
            await send_until(identity, lambda: sms.messages)
            await identity.app.state.runtime.jobs.run_once("send_messages")
        assert [m["to"] for m in sms.messages] == [person["phone"]]
        [sent] = await messages_to(identity, person["phone"])
        # The plain code lived in the row only until it was sent.
        assert sent.status == "sent" and sent.text is None and sent.sent_at is not None
        done = await verify(identity, registration_id, "phone", sms.last_code(person["phone"]))
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed"


async def test_a_recovery_code_waits_for_a_stopped_mail_server(platform_settings, sms_sink):
    mail = MailSink()
    smtp_port = free_port()
    server = Controller(mail, hostname="127.0.0.1", port=smtp_port)
    settings = identity_settings(platform_settings, smtp_port, sms_sink.url)
    async with started_identity(settings, mail, sms_sink) as identity:
        email = (await add_staff(identity, "agent")).email
        answer = await identity.client.post("/api/v1/auth/password-recovery", json={"email": email})
        assert answer.status_code == 202, answer.text
        [waiting] = await messages_to(identity, email)
        assert waiting.status == "pending" and waiting.attempts == 1
        server.start()
        try:
            identity.clock.advance(timedelta(seconds=11))
            await send_until(identity, lambda: mail.to(email))
        finally:
            server.stop()
        verified = await identity.client.post(
            "/api/v1/auth/password-recovery/verify",
            json={"email": email, "code": mail.last_code(email)},
        )
        assert verified.status_code == 200, verified.text


async def test_a_code_not_sent_before_it_expired_is_never_sent_and_its_text_is_wiped(
    platform_settings, mail_sink
):
    async with identity_without_sms(platform_settings, mail_sink) as (identity, sms, sms_port):
        person = contact()
        await start(identity, {"organization": new_organization(), "contact": person})
        identity.clock.advance(timedelta(seconds=identity.settings.code_ttl_seconds + 1))
        async with serve(sms.webhook(), port=sms_port):

            async def expired() -> bool:
                [row] = await messages_to(identity, person["phone"])
                return row.status == "expired" and row.text is None

            await send_until(identity, expired)
        assert sms.messages == []


async def test_a_registration_that_fails_sends_nothing(identity):
    """The e-mail code is queued first; the phone then refuses (its hourly limit), the request
    fails and rolls back: the e-mail code must not reach anyone."""
    phone = unique_phone()
    for _ in range(PER_HOUR):
        await start(identity, {"organization": new_organization(), "contact": contact(phone=phone)})
    email = unique_email("refused")
    refused = await identity.client.post(
        "/api/v1/registration",
        json={"organization": new_organization(), "contact": contact(phone=phone, email=email)},
    )
    assert refused.status_code == 429, refused.text
    identity.clock.advance(timedelta(minutes=1))
    await identity.app.state.runtime.jobs.run_once("send_messages")
    assert identity.mail.to(email) == []
    assert await messages_to(identity, email) == []


async def test_two_senders_never_send_one_message_twice(identity):
    people = [contact() for _ in range(6)]
    delivery = Delivery(identity.settings)
    sessionmaker = identity.app.state.sessionmaker
    # Queued without a request, so nothing sends them right after it.
    outgoing = Outgoing(identity.clock, sessionmaker, delivery, BackgroundTasks())
    async with sessionmaker() as session, session.begin():
        for person in people:
            await outgoing.queue(session, channel="sms", to=person["phone"], text="Kabinet: 123456")

    async def sender() -> int:
        return await message_service.send_due(sessionmaker, identity.clock, delivery)

    counts = await asyncio.gather(*(sender() for _ in range(4)))
    # The job may have taken some of them meanwhile: a third sender, the same rule.
    assert sum(counts) <= len(people)
    phones = {person["phone"] for person in people}
    await eventually(lambda: phones <= {m["to"] for m in identity.sms.messages})
    for person in people:
        assert [m["to"] for m in identity.sms.messages].count(person["phone"]) == 1


async def test_the_login_mail_is_queued_with_the_registration(identity):
    person = contact()
    started = await start(identity, {"organization": new_organization(), "contact": person})
    await verify(
        identity, started["registration_id"], "email", identity.mail.last_code(person["email"])
    )
    await verify(
        identity, started["registration_id"], "phone", identity.sms.last_code(person["phone"])
    )
    subjects = [m.subject for m in identity.mail.to(person["email"])]
    assert subjects.count("Регистрация в Kabinet завершена") == 1
    rows = await messages_to(identity, person["email"])
    assert {row.status for row in rows} == {"sent"} and all(row.text is None for row in rows)


async def test_a_code_replaced_before_it_went_out_is_never_sent(platform_settings, mail_sink):
    async with identity_without_sms(platform_settings, mail_sink) as (identity, sms, sms_port):
        person = contact()
        started = await start(identity, {"organization": new_organization(), "contact": person})
        identity.clock.advance(timedelta(seconds=61))
        resent = await identity.client.post(
            f"/api/v1/registration/{started['registration_id']}/resend", json={"channel": "phone"}
        )
        assert resent.status_code == 200, resent.text
        old, new = sorted(await messages_to(identity, person["phone"]), key=lambda m: m.created_at)
        assert (old.status, old.text) == ("expired", None)
        assert new.status == "pending"
        async with serve(sms.webhook(), port=sms_port):
            identity.clock.advance(timedelta(minutes=1))
            await send_until(identity, lambda: sms.messages)
        assert len(sms.messages) == 1
        done = await verify(
            identity, started["registration_id"], "phone", sms.last_code(person["phone"])
        )
        assert done.status_code == 200, done.text


async def test_sent_messages_are_dropped_a_day_later(identity):
    person = contact()
    await start(identity, {"organization": new_organization(), "contact": person})
    assert {m.status for m in await messages_to(identity, person["email"])} == {"sent"}
    identity.clock.advance(timedelta(hours=23))
    await identity.app.state.runtime.jobs.run_once("delete_sent_messages")
    assert len(await messages_to(identity, person["email"])) == 1
    identity.clock.advance(timedelta(hours=2))
    await eventually(lambda: identity.app.state.runtime.jobs.run_once("delete_sent_messages"))
    assert await messages_to(identity, person["email"]) == []


async def test_no_transaction_is_open_while_a_provider_keeps_the_sender_waiting(
    platform_settings, mail_sink
):
    """A slow provider costs the sender its time, never a pooled connection and a row lock: the
    message is claimed, the claim committed, and only then is the provider asked."""
    async with identity_without_sms(platform_settings, mail_sink) as (identity, sms, sms_port):
        asked, answer = asyncio.Event(), asyncio.Event()
        provider = FastAPI()

        @provider.post("/sms")
        async def slow(request: Request) -> dict[str, str]:
            asked.set()
            await answer.wait()
            sms.messages.append(await request.json())
            return {"status": "queued"}

        sessionmaker = identity.app.state.sessionmaker
        delivery = Delivery(identity.settings)
        async with sessionmaker() as session, session.begin():
            await Outgoing(identity.clock, sessionmaker, delivery, BackgroundTasks()).queue(
                session, channel="sms", to=unique_phone(), text="Kabinet: 123456"
            )
        async with serve(provider, port=sms_port):
            sending = asyncio.create_task(  # the provider keeps it waiting
                message_service.send_due(sessionmaker, identity.clock, delivery)
            )
            await asyncio.wait_for(asked.wait(), timeout=10)
            async with sessionmaker() as session, session.begin():
                # No transaction that touched the messages waits open for the provider.
                held = await idle_transactions_locking(session, "outgoing_messages")
                # Not locked by the sender: another one could take it, but the claim says no.
                [claimed] = await session.scalars(
                    select(OutgoingMessage)
                    .where(OutgoingMessage.status == "pending")
                    .with_for_update(nowait=True)
                )
                claimed_until = claimed.next_attempt_at
            assert held == 0
            assert claimed_until > identity.clock.now()
            assert await message_service.send_due(sessionmaker, identity.clock, delivery) == 0
            answer.set()
            # This sender, or the service's own job if it claimed the message first.
            assert await sending in (0, 1)

            async def sent() -> OutgoingMessage | None:
                [row] = await messages_to(identity, claimed.recipient)
                return row if row.status == "sent" else None

            row = await eventually(sent)
        assert row.text is None and [m["to"] for m in sms.messages] == [claimed.recipient]
