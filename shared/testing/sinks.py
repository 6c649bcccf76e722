"""Real local stand-ins for external parties: an SMTP server and an SMS-provider webhook."""

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

from fastapi import FastAPI, Request

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

    def last_code(self, address: str, about: str = "") -> str:
        """The code in the newest mail to `address` whose text contains `about`."""
        for mail in reversed(self.to(address)):
            if about in mail.text and (found := CODE.search(mail.text)):
                return found.group(1)
        raise AssertionError(f"no code was mailed to {address}")


@dataclass
class SmsSink:
    """The SMS provider's side of the webhook: a real HTTP server keeping every POST."""

    messages: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def webhook(self) -> FastAPI:
        """The provider's HTTP side: `POST /sms` keeps the message here."""
        app = FastAPI()

        @app.post("/sms")
        async def receive(request: Request) -> dict[str, str]:
            self.messages.append(await request.json())
            return {"status": "queued"}

        return app

    def last_code(self, phone: str) -> str:
        for sms in reversed(self.messages):
            if sms["to"] == phone and (found := CODE.search(sms["text"])):
                return found.group(1)
        raise AssertionError(f"no code was texted to {phone}")
