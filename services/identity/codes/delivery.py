"""How codes and notices reach people: e-mail through the platform's mailer, SMS through a
provider."""

from typing import Protocol

import httpx
import structlog

from services.identity.config import Settings
from shared.mail import Mailer, MailNotSent
from shared.problems import ProblemError

log = structlog.get_logger(__name__)


class DeliveryFailed(ProblemError):
    status, type_name, title = 503, "delivery-failed", "The message could not be sent"


class SmsProvider(Protocol):
    async def send(self, to: str, text: str) -> None: ...


class LogSmsProvider:
    """Development provider: the SMS text goes to the log."""

    async def send(self, to: str, text: str) -> None:
        log.info("sms_sent", to=to, text=text)


class WebhookSmsProvider:
    """POSTs `{"to": "+7…", "text": "…"}` to the configured URL."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    async def send(self, to: str, text: str) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self.url, json={"to": to, "text": text})
            response.raise_for_status()


class Delivery:
    def __init__(self, settings: Settings) -> None:
        self.mailer = Mailer(settings)
        self.sms: SmsProvider
        if settings.sms_provider == "webhook":
            if not settings.sms_webhook_url:
                raise ValueError("KABINET_SMS_WEBHOOK_URL is required with the webhook provider")
            self.sms = WebhookSmsProvider(settings.sms_webhook_url)
        else:
            self.sms = LogSmsProvider()

    async def send_email(self, to: str, subject: str, text: str) -> None:
        try:
            await self.mailer.send(self.mailer.compose(to, subject, text))
        except MailNotSent as exc:
            log.error("email_not_sent", error=str(exc))
            raise DeliveryFailed("The e-mail could not be sent; try again shortly") from exc

    async def send_sms(self, to: str, text: str) -> None:
        try:
            await self.sms.send(to, text)
        except (httpx.HTTPError, OSError) as exc:
            log.error("sms_not_sent", error=repr(exc))
            raise DeliveryFailed("The SMS could not be sent; try again shortly") from exc
