"""The identity service: `uvicorn services.identity.app:create_app --factory`."""

import dataclasses

from fastapi import FastAPI

from services.identity.accounts.bootstrap import ensure_first_admin
from services.identity.accounts.endpoints import router as accounts_router
from services.identity.api_keys.endpoints import router as api_keys_router
from services.identity.auth.endpoints import router as auth_router
from services.identity.auth.tokens import ensure_signing_key
from services.identity.config import Settings, get_settings
from services.identity.directory.endpoints import router as directory_router
from services.identity.directory.importer import load_offline_directory
from services.identity.events import handlers
from services.identity.jobs import jobs, jobs_for
from services.identity.memberships.endpoints import router as memberships_router
from services.identity.models import Base, bus, idempotency
from services.identity.organizations.endpoints import router as organizations_router
from services.identity.registration.endpoints import router as registration_router
from services.identity.staff.endpoints import router as staff_router
from shared.clock import Clock
from shared.service import ServiceDefinition, Tag, create_service_app

definition = ServiceDefinition(
    name="identity",
    description=(
        "Companies, contact persons, sign-in, tokens, recovery, data-change requests, "
        "partner API keys"
    ),
    tags=[
        Tag(
            "registration",
            "Registering an organization or joining one: the INN lookup, the form, "
            "the e-mail and phone codes.",
        ),
        Tag("directory", "Autofill for requisites: a bank by BIK, a region and locality by index."),
        Tag(
            "sign-in",
            "Tokens for contacts, staff and accountants; refresh, sign-out, password recovery "
            "and the public signing keys.",
        ),
        Tag("my account", "The signed-in caller's profile, organization and roles; own password."),
        Tag(
            "organizations",
            "An organization's requisites and contact persons, and requests to change the "
            "data locked after registration.",
        ),
        Tag("API keys", "Partner API keys: issued, listed and revoked by an administrator."),
        Tag("staff", "Accounts of support agents and administrators."),
    ],
    metadata=Base.metadata,
    bus=bus,
    idempotency=idempotency,
    routers=[
        registration_router,
        directory_router,
        auth_router,
        accounts_router,
        # Before organizations: `/organizations/memberships` is not an organization's id.
        memberships_router,
        organizations_router,
        api_keys_router,
        staff_router,
    ],
    handlers=handlers,
    jobs=jobs,
    startup=[ensure_first_admin, ensure_signing_key, load_offline_directory],
)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        dataclasses.replace(definition, jobs=jobs_for(settings)), settings, clock=clock
    )
