"""FastAPI dependencies helpdesk's endpoints share."""

from typing import Annotated

from fastapi import Depends

from services.helpdesk.config import Settings
from shared.service import RuntimeDep


def get_helpdesk_settings(runtime: RuntimeDep) -> Settings:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return settings


SettingsDep = Annotated[Settings, Depends(get_helpdesk_settings)]
