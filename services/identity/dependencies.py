"""FastAPI dependencies identity's endpoints share."""

from typing import Annotated

from fastapi import Depends, Request

from services.identity.codes.delivery import Delivery
from services.identity.codes.service import CodeService
from services.identity.config import Settings
from shared.service import Runtime, get_runtime


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_delivery(request: Request) -> Delivery:
    delivery: Delivery = request.app.state.delivery
    return delivery


def get_codes(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> CodeService:
    return CodeService(
        request.app.state.settings, request.app.state.delivery, runtime.sessionmaker, runtime.clock
    )


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DeliveryDep = Annotated[Delivery, Depends(get_delivery)]
CodesDep = Annotated[CodeService, Depends(get_codes)]
