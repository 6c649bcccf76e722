"""The dongle service: `uvicorn services.dongle.app:create_app --factory`."""

from fastapi import FastAPI

from services.dongle.config import Settings, get_settings
from services.dongle.events import handlers
from services.dongle.jobs import jobs
from services.dongle.keys.endpoints import router as keys_router
from services.dongle.losses.endpoints import router as losses_router
from services.dongle.models import Base, bus, idempotency
from services.dongle.protection.endpoints import router as protection_router
from services.dongle.update_files.endpoints import router as update_files_router
from services.dongle.update_files.signing import update_file_keys
from shared.clock import Clock
from shared.service import ServiceDefinition, Tag, create_service_app

definition = ServiceDefinition(
    name="dongle",
    description=(
        "Hardware protection keys, the key protection service, update files, "
        "loss claims and replacement"
    ),
    tags=[
        Tag(
            "protection keys",
            "Hardware protection keys of an organization: imported, listed, read.",
        ),
        Tag(
            "key protection",
            "The key protection service: connected to a key, refused, and its history.",
        ),
        Tag(
            "update files",
            "Prolongation update files of a protected key, generated monthly, and their "
            "signing keys.",
        ),
        Tag("lost keys", "A key reported lost or stolen, found again, or replaced."),
    ],
    metadata=Base.metadata,
    bus=bus,
    idempotency=idempotency,
    # The update-file routes first: `/api/v1/keys/update-files/…` is not a key's serial.
    routers=[update_files_router, keys_router, protection_router, losses_router],
    handlers=handlers,
    jobs=jobs,
    startup=[update_file_keys.ensure],
)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(definition, settings or get_settings(), clock=clock)
