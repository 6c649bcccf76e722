"""The licensing service: `uvicorn services.licensing.app:create_app --factory`."""

from fastapi import FastAPI

from services.licensing.catalogue.bootstrap import ensure_default_catalogue
from services.licensing.catalogue.endpoints import router as catalogue_router
from services.licensing.config import Settings, get_settings
from services.licensing.events import handlers
from services.licensing.jobs import jobs
from services.licensing.models import Base, bus, idempotency
from shared.clock import Clock
from shared.service import ServiceDefinition, create_service_app

definition = ServiceDefinition(
    name="licensing",
    description=(
        "Products, price lists, license contracts, licenses, acts, "
        "reconciliation statements, support certificates"
    ),
    metadata=Base.metadata,
    bus=bus,
    idempotency=idempotency,
    routers=[catalogue_router],
    handlers=handlers,
    jobs=jobs,
    startup=[ensure_default_catalogue],
)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(definition, settings or get_settings(), clock=clock)
