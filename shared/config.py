"""Settings every Kabinet process reads from `KABINET_*` environment variables."""

from functools import cached_property
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

# The four services, each with its local port; the one place that lists them.
SERVICE_PORTS = {"identity": 8001, "licensing": 8002, "helpdesk": 8003, "dongle": 8004}
SERVICES = tuple(SERVICE_PORTS)

# The caller-header key a local run uses; a production process refuses to start with it.
DEVELOPMENT_INTERNAL_SECRET = "kabinet-local-internal-secret"  # noqa: S105 - local default
MIN_PRODUCTION_SECRET_LENGTH = 32


class PlatformSettings(BaseSettings):
    """What every service and the gateway share; services subclass it for their own names."""

    model_config = SettingsConfigDict(env_prefix="KABINET_", env_file=".env", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/kabinet"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prefix for every exchange and queue name, so that test runs never share the broker's names.
    bus_namespace: str = ""
    # Tries of a failing handler before its message goes to the dead-letter queue.
    bus_delivery_limit: int = Field(default=5, ge=1)
    # First pause before a failed handler is tried again; it doubles with each try.
    bus_retry_delay_seconds: float = Field(default=0.5, ge=0)
    # The longest a failing message holds back its producer's later events before it is
    # dead-lettered (other producers' events never wait for it).
    bus_max_stall_seconds: float = Field(default=10.0, gt=0)
    # Sent outbox rows and remembered inbox ids are deleted after this many days.
    bus_retention_days: int = Field(default=30, ge=1)
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_batch_size: int = Field(default=200, ge=1)
    # Run the outbox relay, the event consumer and the scheduled jobs inside the web process.
    run_workers: bool = True
    log_level: str = "INFO"
    log_json: bool = True
    db_pool_size: int = Field(default=10, ge=1)
    # Hot reads outside a transaction (`shared.db.Reader`) have a small asyncpg pool of their own.
    db_reader_pool_size: int = Field(default=5, ge=1)

    # `production` refuses development secrets at start (deploy/ sets it).
    env: Literal["local", "production"] = "local"
    # HMAC key of the caller header between the gateway and the services; set it in production.
    internal_secret: str = DEVELOPMENT_INTERNAL_SECRET

    # The zone in which business calendar dates are read (expiries, price list versions,
    # working hours, the 1st of the month); an IANA name for `zoneinfo`.
    business_timezone: str = "Europe/Moscow"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    # Login and transport security of a real relay (shared.mail); the local sink needs neither.
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    # A CA bundle for a relay whose certificate the system's CAs do not vouch for.
    smtp_ca_file: str | None = None
    smtp_timeout_seconds: float = Field(default=10, gt=0)
    mail_from: str = "Kabinet <no-reply@kabinet.local>"
    gateway_port: int = 8000
    cors_origins: list[str] = []

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Self:
        if self.env != "production":
            return self
        secret = self.internal_secret
        if secret == DEVELOPMENT_INTERNAL_SECRET or "change-me" in secret:
            reason = "is the built-in development value or a change-me placeholder"
        elif len(secret) < MIN_PRODUCTION_SECRET_LENGTH:
            reason = f"is shorter than {MIN_PRODUCTION_SECRET_LENGTH} characters"
        else:
            return self
        raise ValueError(
            f"KABINET_ENV=production, but KABINET_INTERNAL_SECRET {reason}: anyone who knows it "
            "can pose as any caller to the services. Set the same random value (e.g. "
            "`openssl rand -hex 32`) for the gateway and every service."
        )

    @cached_property
    def database_name(self) -> str:
        return make_url(self.database_url).database or "kabinet"

    def bus_name(self, name: str) -> str:
        return f"{self.bus_namespace}{name}"
