"""The dongle service: `uvicorn services.dongle.app:create_app --factory`."""

from fastapi import FastAPI

from services.dongle.config import Settings, get_settings
from services.dongle.events import handlers
from services.dongle.jobs import jobs
from services.dongle.keys.endpoints import router as keys_router
from services.dongle.models import Base, bus, idempotency
from shared.clock import Clock
from shared.service import ServiceDefinition, create_service_app

definition = ServiceDefinition(
    name="dongle",
    description=(
        "Hardware protection keys, the key protection service, update files, "
        "loss claims and replacement"
    ),
    metadata=Base.metadata,
    bus=bus,
    idempotency=idempotency,
    routers=[keys_router],
    handlers=handlers,
    jobs=jobs,
)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(definition, settings or get_settings(), clock=clock)
