"""FastAPI dependencies helpdesk's endpoints share."""

from typing import Annotated

from fastapi import Depends

from services.helpdesk.config import Settings
from shared.service import settings_of

SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]
