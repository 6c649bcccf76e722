"""The helpdesk service: `uvicorn services.helpdesk.app:create_app --factory`."""

import dataclasses

from fastapi import FastAPI

from services.helpdesk.attachments.endpoints import router as attachments_router
from services.helpdesk.calendar.bootstrap import ensure_production_calendar
from services.helpdesk.calendar.endpoints import router as calendar_router
from services.helpdesk.callbacks.endpoints import router as callbacks_router
from services.helpdesk.config import Settings, get_settings
from services.helpdesk.events import handlers
from services.helpdesk.jobs import jobs, jobs_for
from services.helpdesk.kb.bootstrap import load_sample_articles
from services.helpdesk.kb.endpoints import router as kb_router
from services.helpdesk.models import Base, bus, idempotency
from services.helpdesk.tickets.endpoints import router as tickets_router
from shared.clock import Clock
from shared.service import ServiceDefinition, Tag, create_service_app

definition = ServiceDefinition(
    name="helpdesk",
    description=(
        "Tickets with SLA in working hours, production calendar, "
        "knowledge base, notifications, callbacks"
    ),
    tags=[
        Tag(
            "tickets",
            "Support requests: opened by a contact or a partner, answered by agents within "
            "the working hours of the customer's support tier; messages and attachments.",
        ),
        Tag(
            "knowledge base",
            "Published articles, search, suggestions while a ticket is written, and feedback.",
        ),
        Tag("callbacks", "Requests to be called back, and agents marking them done."),
        Tag(
            "production calendar",
            "Working days and hours of support: the production calendar and whether support "
            "is open now.",
        ),
    ],
    metadata=Base.metadata,
    bus=bus,
    idempotency=idempotency,
    routers=[
        calendar_router,
        tickets_router,
        attachments_router,
        kb_router,
        callbacks_router,
    ],
    handlers=handlers,
    jobs=jobs,
    startup=[ensure_production_calendar, load_sample_articles],
)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        dataclasses.replace(definition, jobs=jobs_for(settings)), settings, clock=clock
    )
