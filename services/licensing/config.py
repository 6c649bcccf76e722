"""licensing settings: the platform's, plus what only licensing reads."""

from pathlib import Path

from pydantic import Field

from shared.config import PlatformSettings


class Settings(PlatformSettings):
    # Where contract files are kept (one file per document, named by its id).
    documents_dir: Path = Path(".run/documents")
    # The largest contract file accepted, in bytes (base64 in the body stays under the gateway's
    # 10 MiB limit).
    document_max_bytes: int = Field(default=5 * 1024 * 1024, gt=0)


def get_settings() -> Settings:
    return Settings()
