"""The licensing service: `uvicorn services.licensing.app:create_app --factory`."""

from fastapi import FastAPI

from services.licensing.billing.endpoints import router as billing_router
from services.licensing.catalogue.bootstrap import ensure_default_catalogue
from services.licensing.catalogue.endpoints import router as catalogue_router
from services.licensing.config import Settings, get_settings
from services.licensing.contracts.endpoints import router as contracts_router
from services.licensing.events import handlers
from services.licensing.jobs import jobs
from services.licensing.licenses.endpoints import router as licenses_router
from services.licensing.models import Base, bus, idempotency
from services.licensing.partners.service import link_earlier_customers
from services.licensing.support.endpoints import router as support_router
from services.licensing.uploads.endpoints import router as uploads_router
from shared.clock import Clock
from shared.service import ServiceDefinition, Tag, create_service_app

definition = ServiceDefinition(
    name="licensing",
    description=(
        "Products, price lists, license contracts, licenses, acts, "
        "reconciliation statements, support certificates"
    ),
    tags=[
        Tag("catalogue", "Products and services on sale, and the price list in force on a date."),
        Tag(
            "contracts",
            "License contracts with their licenses, acts and documents: imported by the vendor "
            "or a partner, read by the organization and its accountant.",
        ),
        Tag("financial documents", "Acts of services and the documents' files."),
        Tag(
            "upload requests",
            "Bringing contracts bought elsewhere into the account: asked by a contact, approved "
            "by the matching rule or an administrator.",
        ),
        Tag(
            "licenses",
            "Licenses of an organization: validated by installed software, registered by "
            "activation code, renewed, suspended, reinstated or revoked.",
        ),
        Tag(
            "support certificates",
            "Technical support certificates: issued, registered by number, renewed by an act.",
        ),
    ],
    metadata=Base.metadata,
    bus=bus,
    idempotency=idempotency,
    routers=[
        catalogue_router,
        contracts_router,
        uploads_router,
        licenses_router,
        support_router,
        billing_router,
    ],
    handlers=handlers,
    jobs=jobs,
    startup=[ensure_default_catalogue, link_earlier_customers],
)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(definition, settings or get_settings(), clock=clock)
