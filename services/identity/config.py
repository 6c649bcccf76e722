"""identity settings: the platform's, plus what only identity reads."""

from typing import Literal

from pydantic import Field

from shared.config import PlatformSettings


class Settings(PlatformSettings):
    sms_provider: Literal["log", "webhook"] = "log"
    sms_webhook_url: str | None = None
    # The first admin; a password is generated and printed at start when none is given.
    admin_email: str = "admin@kabinet.local"
    admin_password: str | None = None

    password_min_length: int = Field(default=8, ge=4)
    access_token_ttl_seconds: int = Field(default=900, ge=60)
    refresh_token_ttl_days: int = Field(default=30, ge=1)
    jwt_issuer: str = "kabinet"

    registration_ttl_hours: int = 24
    code_ttl_seconds: int = 600
    code_max_attempts: int = 5
    code_resend_seconds: int = 60
    # Codes one e-mail or phone receives in an hour, whatever asked for them.
    code_destination_per_hour: int = Field(default=5, ge=1)
    recovery_token_ttl_seconds: int = 900
    lockout_failures: int = 5
    lockout_minutes: int = 15

    # Company registry for the prefill by INN: the shipped offline directory or an HTTP provider.
    registry_provider: Literal["offline", "http"] = "offline"
    registry_url: str | None = None
    registry_token: str | None = None


def get_settings() -> Settings:
    return Settings()
