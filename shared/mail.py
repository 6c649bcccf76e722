"""Outgoing e-mail for every service: one SMTP client (aiosmtplib) set by `KABINET_SMTP_*`.

`Mailer(settings).send(message)` delivers one message to the configured relay, with login and
TLS as configured, and raises `MailNotSent` naming the relay and the reason when it cannot.
What the message says, and what to do when it is not sent, is the calling domain's business.
"""

import ssl
from email.message import EmailMessage

import aiosmtplib
import structlog

from shared.config import PlatformSettings

log = structlog.get_logger(__name__)


class MailNotSent(Exception):
    """The relay could not be reached, refused the login or TLS, or refused the message."""


class Mailer:
    def __init__(self, settings: PlatformSettings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.tls = settings.smtp_tls
        self.username = settings.smtp_username
        self.password = (
            settings.smtp_password.get_secret_value() if settings.smtp_password else None
        )
        self.timeout = settings.smtp_timeout_seconds
        self.sender = settings.mail_from
        # Certificates are always verified: against the system's CAs, or the relay's own CA.
        self.tls_context = (
            ssl.create_default_context(cafile=settings.smtp_ca_file)
            if settings.smtp_tls != "none"
            else None
        )

    def compose(self, to: str, subject: str, text: str) -> EmailMessage:
        """A plain-text message from the configured sender."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        return message

    async def send(self, message: EmailMessage) -> None:
        if message["From"] is None:
            message["From"] = self.sender
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.tls == "tls",
                # False, not None: with `none` aiosmtplib would otherwise upgrade when offered.
                start_tls=self.tls == "starttls",
                tls_context=self.tls_context,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("mail_not_sent", relay=f"{self.host}:{self.port}", error=reason)
            raise MailNotSent(
                f"mail to {message['To']} not sent through {self.host}:{self.port} "
                f"(tls={self.tls}): {reason}"
            ) from exc
