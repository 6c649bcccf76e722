"""identity settings: the platform's, plus what only identity reads."""

from typing import Literal

from pydantic import Field, model_validator

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
    # Codes, logins and links are sent after commit; the job retries refused ones this often.
    message_poll_seconds: float = Field(default=5.0, gt=0)
    # Rule 3: the link that lets a responsible person approve a new contact.
    membership_link_ttl_hours: int = Field(default=72, ge=1)
    portal_url: str = "http://localhost:8000"
    lockout_failures: int = 5
    lockout_minutes: int = 15

    # Company registry for the prefill by INN: the shipped offline directory or an HTTP provider.
    registry_provider: Literal["offline", "http"] = "offline"
    registry_url: str | None = None
    registry_token: str | None = None

    @model_validator(mode="after")
    def _sms_webhook_has_a_url(self) -> "Settings":
        # Refused at start, not at the first SMS.
        if self.sms_provider == "webhook" and not self.sms_webhook_url:
            raise ValueError("KABINET_SMS_WEBHOOK_URL is required with the webhook provider")
        return self


def get_settings() -> Settings:
    return Settings()
