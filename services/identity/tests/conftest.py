"""identity test fixtures: the service with real local SMTP and SMS-webhook servers."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from services.identity.app import create_app
from services.identity.config import Settings
from services.identity.models import User
from shared.auth import Principal
from shared.clock import ManualClock
from shared.config import PlatformSettings
from shared.testing.harness import ServiceHarness
from shared.testing.plugin import running
from shared.testing.sinks import MailSink, SmsSink


@dataclass
class IdentityHarness(ServiceHarness[Settings]):
    mail: MailSink
    sms: SmsSink
    admin_id: uuid.UUID

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


@contextlib.asynccontextmanager
async def started_identity(
    settings: Settings, mail: MailSink, sms: SmsSink
) -> AsyncIterator[IdentityHarness]:
    """identity running with `settings` (its lifespan, workers and jobs), on a manual clock."""
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
        yield IdentityHarness(client, app, settings, clock, mail, sms, admin_id)


@pytest.fixture
async def identity(platform_settings, mail_sink, sms_sink) -> AsyncIterator[IdentityHarness]:
    sink, port = mail_sink
    settings = identity_settings(platform_settings, port, sms_sink.url)
    async with started_identity(settings, sink, sms_sink) as harness:
        yield harness
