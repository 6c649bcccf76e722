"""identity settings: the platform's, plus what only identity reads."""

from shared.config import PlatformSettings


class Settings(PlatformSettings):
    pass


def get_settings() -> Settings:
    return Settings()
