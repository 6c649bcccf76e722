"""dongle settings: the platform's, plus what only dongle reads."""

from shared.config import PlatformSettings


class Settings(PlatformSettings):
    pass


def get_settings() -> Settings:
    return Settings()
