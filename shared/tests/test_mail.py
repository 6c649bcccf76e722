"""The mailer against real local relays (aiosmtpd): one that demands AUTH over STARTTLS, one
that speaks TLS from the first byte, each with a self-signed certificate made here."""

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.config import PlatformSettings
from shared.mail import Mailer, MailNotSent
from shared.testing.servers import free_port

USER, PASSWORD = "kabinet", "relay-secret"


@dataclass
class Relay:
    """What a real relay saw: each accepted message with the session's TLS and login."""

    received: list[dict[str, Any]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(
            {
                "to": envelope.rcpt_tos,
                "from": str(message["From"]),
                "subject": str(message["Subject"]),
                "tls": server.transport.get_extra_info("ssl_object") is not None,
                "login": session.auth_data,
            }
        )
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=USER if ok else None)


@dataclass
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, which the client is told to trust."""
    folder = tmp_path_factory.mktemp("relay-tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kabinet test relay")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(folder / "relay.pem", folder / "relay.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def starttls_relay(certificate: Certificate) -> Iterator[tuple[Relay, int]]:
    """A relay that accepts nothing before STARTTLS and no mail without a login."""
    relay = Relay()
    controller = Controller(
        relay,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=certificate.server_context(),
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticate,
    )
    controller.start()
    yield relay, controller.port
    controller.stop()


def mailer(port: int, **settings: Any) -> Mailer:
    return Mailer(PlatformSettings(smtp_host="127.0.0.1", smtp_port=port, **settings))


def relay_login(certificate: Certificate) -> dict[str, Any]:
    return {
        "smtp_tls": "starttls",
        "smtp_username": USER,
        "smtp_password": PASSWORD,
        "smtp_ca_file": str(certificate.cert),
    }


async def test_a_message_reaches_a_relay_that_requires_login_over_starttls(
    starttls_relay: tuple[Relay, int], certificate: Certificate
) -> None:
    relay, port = starttls_relay
    client = mailer(port, **relay_login(certificate), mail_from="Kabinet <portal@vendor.test>")
    await client.send(client.compose("anna@customer.test", "Код подтверждения", "123456"))
    assert relay.received == [
        {
            "to": ["anna@customer.test"],
            "from": "Kabinet <portal@vendor.test>",
            "subject": "Код подтверждения",
            "tls": True,
            "login": USER,
        }
    ]


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("no TLS at all", {"smtp_tls": "none"}),
        ("no login", {"smtp_username": None, "smtp_password": None}),
        ("a wrong password", {"smtp_password": "guess"}),
        # The certificate is not vouched for by the system's CAs: verification stays on.
        ("an unverified certificate", {"smtp_ca_file": None}),
    ],
)
async def test_the_relay_refuses_and_the_error_says_where_and_why(
    starttls_relay: tuple[Relay, int],
    certificate: Certificate,
    what: str,
    change: dict[str, Any],
) -> None:
    relay, port = starttls_relay
    client = mailer(port, **{**relay_login(certificate), **change})
    with pytest.raises(MailNotSent, match=rf"anna@customer\.test .* 127\.0\.0\.1:{port}"):
        await client.send(client.compose("anna@customer.test", "Код", "123456"))
    assert relay.received == []


async def test_implicit_tls_reaches_an_smtps_relay(certificate: Certificate) -> None:
    relay = Relay()
    controller = Controller(
        relay, hostname="127.0.0.1", port=free_port(), ssl_context=certificate.server_context()
    )
    controller.start()
    try:
        client = mailer(controller.port, smtp_tls="tls", smtp_ca_file=str(certificate.cert))
        await client.send(client.compose("boris@customer.test", "Notice", "text"))
        plain = mailer(controller.port, smtp_tls="none", smtp_timeout_seconds=2)
        with pytest.raises(MailNotSent):
            await plain.send(plain.compose("boris@customer.test", "Notice", "text"))
    finally:
        controller.stop()
    assert [(m["to"], m["tls"]) for m in relay.received] == [(["boris@customer.test"], True)]


async def test_an_unreachable_relay_is_a_clear_error() -> None:
    client = mailer(free_port())
    with pytest.raises(MailNotSent, match=r"ConnectionRefusedError|SMTPConnectError"):
        await client.send(client.compose("anna@customer.test", "Код", "123456"))
