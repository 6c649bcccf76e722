"""dongle settings: the platform's, plus what only dongle reads."""

from pathlib import Path

from pydantic import Field, SecretStr

from shared.config import PlatformSettings


class Settings(PlatformSettings):
    # The Ed25519 private key (PKCS#8 PEM) that signs update files, inline or as a file; with
    # neither, one is generated at first start and kept in the database (development).
    update_file_signing_key: SecretStr | None = None
    update_file_signing_key_file: Path | None = None
    # How often the monthly run and the maintenance sweep look for work.
    prolongation_check_seconds: float = Field(default=300, gt=0)
    # Keys handled per batch of the monthly run (memory stays bounded by it).
    prolongation_batch_size: int = Field(default=2000, ge=1)


def get_settings() -> Settings:
    return Settings()
