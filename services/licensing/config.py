"""licensing settings: the platform's, plus what only licensing reads."""

from shared.config import PlatformSettings


class Settings(PlatformSettings):
    pass


def get_settings() -> Settings:
    return Settings()
