"""helpdesk settings: the platform's, plus what only helpdesk reads."""

from pathlib import Path

from pydantic import Field

from shared.config import PlatformSettings


class Settings(PlatformSettings):
    # Rule 2: working hours from creation to the first agent response, per certificate tier.
    first_response_hours: dict[str, float] = Field(default={"partner": 8, "paid": 16, "free": 24})
    # Rule 5: working hours without a customer reaction before a waiting ticket closes itself.
    auto_close_working_hours: float = Field(default=27, gt=0)
    # Rule 5: calendar days during which the customer may reopen an auto-closed ticket.
    reopen_days: int = Field(default=30, ge=0)
    # Where ticket attachments are kept (one file per attachment, named by its id).
    attachments_dir: Path = Path(".run/attachments")
    # Rule 4: the largest attachment accepted (10 MiB, as the gateway's body limit).
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    # Rule 10: callback requests accepted per phone number per day, and per address per hour.
    callbacks_per_phone_per_day: int = Field(default=3, ge=1)
    callbacks_per_address_per_hour: int = Field(default=10, ge=1)


def get_settings() -> Settings:
    return Settings()
