"""identity test fixtures: the service with real local SMTP and SMS-webhook servers."""

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request
from sqlalchemy import select

from services.identity.app import create_app
from services.identity.config import Settings
from services.identity.models import User
from shared.auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.clock import ManualClock
from shared.config import PlatformSettings
from shared.testing.plugin import running
from shared.testing.servers import free_port, serve

CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class Mail:
    to: list[str]
    subject: str
    text: str


class MailSink:
    """A real SMTP server (aiosmtpd) keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        self.messages.append(
            Mail(
                list(envelope.rcpt_tos), str(message["Subject"]), body.get_content() if body else ""
            )
        )
        return "250 OK"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.messages if address in m.to]

    def last_code(self, address: str) -> str:
        for mail in reversed(self.to(address)):
            if found := CODE.search(mail.text):
                return found.group(1)
        raise AssertionError(f"no code was mailed to {address}")


@dataclass
class SmsSink:
    """The SMS provider's side of the webhook: a real HTTP server keeping every POST."""

    messages: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def last_code(self, phone: str) -> str:
        for sms in reversed(self.messages):
            if sms["to"] == phone and (found := CODE.search(sms["text"])):
                return found.group(1)
        raise AssertionError(f"no code was texted to {phone}")


@pytest.fixture(scope="session")
def mail_sink() -> Any:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


@pytest.fixture(scope="session")
async def sms_sink() -> AsyncIterator[SmsSink]:
    sink = SmsSink()
    app = FastAPI()

    @app.post("/sms")
    async def receive(request: Request) -> dict[str, str]:
        sink.messages.append(await request.json())
        return {"status": "queued"}

    async with serve(app) as base_url:
        sink.url = f"{base_url}/sms"
        yield sink


@dataclass
class IdentityHarness:
    client: httpx.AsyncClient
    app: FastAPI
    settings: Settings
    clock: ManualClock
    mail: MailSink
    sms: SmsSink
    admin_id: uuid.UUID

    def as_(self, principal: Principal) -> dict[str, str]:
        """Headers the gateway would send for this caller."""
        return {PRINCIPAL_HEADER: sign_principal(principal, self.settings.internal_secret)}

    def as_admin(self) -> dict[str, str]:
        """The first admin (a real user row, so what it decides can name it)."""
        return self.as_(Principal(kind="user", user_id=self.admin_id, roles=["admin"]))


def identity_settings(
    platform_settings: PlatformSettings, smtp_port: int, sms_url: str, **overrides: Any
) -> Settings:
    return Settings(
        **{
            **platform_settings.model_dump(),
            "smtp_port": smtp_port,
            "sms_provider": "webhook",
            "sms_webhook_url": sms_url,
            "admin_email": "admin@kabinet.test",
            "admin_password": "Adm1n-Secret-Pass",
            "outbox_poll_seconds": 0.1,
            **overrides,
        }
    )


@pytest.fixture
async def identity(platform_settings, mail_sink, sms_sink) -> AsyncIterator[IdentityHarness]:
    sink, port = mail_sink
    settings = identity_settings(platform_settings, port, sms_sink.url)
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    async with running(app) as client:
        async with app.state.sessionmaker() as session:
            admin_id = await session.scalar(
                select(User.id).where(
                    User.organization_id.is_(None), User.email == settings.admin_email
                )
            )
        assert admin_id is not None
        yield IdentityHarness(client, app, settings, clock, sink, sms_sink, admin_id)
