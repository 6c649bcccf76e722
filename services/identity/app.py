"""The identity service: `uvicorn services.identity.app:create_app --factory`."""

from fastapi import FastAPI

from services.identity.config import Settings, get_settings
from services.identity.events import handlers
from services.identity.jobs import jobs
from services.identity.models import Base, bus
from shared.clock import Clock
from shared.service import ServiceDefinition, create_service_app

definition = ServiceDefinition(
    name="identity",
    description="Companies, contact persons, sign-in, tokens, recovery, data-change requests, partner API keys",
    metadata=Base.metadata,
    bus=bus,
    routers=[],
    handlers=handlers,
    jobs=jobs,
)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(definition, settings or get_settings(), clock=clock)
