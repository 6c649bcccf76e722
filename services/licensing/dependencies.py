"""FastAPI dependencies licensing's endpoints share: its settings."""

from typing import Annotated

from fastapi import Depends

from services.licensing.config import Settings
from shared.service import settings_of

SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]
