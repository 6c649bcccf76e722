"""The whole system for end-to-end stories: four real services and the gateway, each served by
uvicorn on a free port, with real local SMTP and SMS-webhook servers."""

import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app as gateway_app
from gateway.config import GatewaySettings
from services.dongle.app import create_app as dongle_app
from services.helpdesk.app import create_app as helpdesk_app
from services.helpdesk.config import Settings as HelpdeskSettings
from services.identity.app import create_app as identity_app
from services.identity.config import Settings as IdentitySettings
from services.licensing.app import create_app as licensing_app
from shared.config import PlatformSettings
from shared.testing.servers import serve
from shared.testing.sinks import MailSink, SmsSink

ADMIN_EMAIL, ADMIN_PASSWORD = "e2e-admin@kabinet.test", "E2e-Admin-Pass-1"


@dataclass
class Stack:
    gateway: httpx.AsyncClient
    urls: dict[str, str]
    mail: MailSink
    sms: SmsSink
    settings: PlatformSettings


@pytest.fixture(scope="session")
async def stack(platform_settings, mail_sink, sms_sink) -> AsyncIterator[Stack]:
    sink, smtp_port = mail_sink
    common: dict[str, Any] = {
        **platform_settings.model_dump(),
        "smtp_port": smtp_port,
        "outbox_poll_seconds": 0.1,
        "log_level": "WARNING",
    }
    identity_settings = IdentitySettings(
        **common,
        sms_provider="webhook",
        sms_webhook_url=sms_sink.url,
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
    )
    apps = {
        "identity": identity_app(identity_settings),
        "licensing": licensing_app(),
        # helpdesk mails the sink and keeps attachments in a directory of the run.
        "helpdesk": helpdesk_app(
            HelpdeskSettings(
                **common, attachments_dir=Path(tempfile.mkdtemp(prefix="kabinet-e2e-"))
            )
        ),
        "dongle": dongle_app(),
    }
    async with contextlib.AsyncExitStack() as exit_stack:
        urls = {
            name: await exit_stack.enter_async_context(serve(app)) for name, app in apps.items()
        }
        gateway_settings = GatewaySettings(
            **{**common, **{f"{name}_url": url for name, url in urls.items()}},
            anon_rate_per_minute=10_000,
        )
        urls["gateway"] = await exit_stack.enter_async_context(serve(gateway_app(gateway_settings)))
        client = await exit_stack.enter_async_context(
            httpx.AsyncClient(base_url=urls["gateway"], timeout=30)
        )
        yield Stack(client, urls, sink, sms_sink, platform_settings)
