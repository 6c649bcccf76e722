"""dongle settings: the platform's, plus what only dongle reads."""

from pathlib import Path

from pydantic import SecretStr

from shared.config import PlatformSettings


class Settings(PlatformSettings):
    # The Ed25519 private key (PKCS#8 PEM) that signs update files, inline or as a file; with
    # neither, one is generated at first start and kept in the database (development).
    update_file_signing_key: SecretStr | None = None
    update_file_signing_key_file: Path | None = None


def get_settings() -> Settings:
    return Settings()
