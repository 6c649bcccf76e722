"""The public API reads as a table of contents: every operation sits under a domain tag that its
service declares with a one-line description, and the gateway's merged document keeps them."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI

from gateway.openapi import HTTP_METHODS, merge_documents
from services.dongle.app import create_app as dongle_app
from services.dongle.app import definition as dongle
from services.helpdesk.app import create_app as helpdesk_app
from services.identity.app import create_app as identity_app
from services.licensing.app import create_app as licensing_app
from shared.config import SERVICES, PlatformSettings
from shared.service import ServiceDefinition, Tag, create_service_app

APPS: dict[str, Callable[[], FastAPI]] = {
    "identity": identity_app,
    "licensing": licensing_app,
    "helpdesk": helpdesk_app,
    "dongle": dongle_app,
}


def documents() -> dict[str, dict[str, Any]]:
    # The OpenAPI document needs no database or broker: it is built from the routes alone.
    return {service: APPS[service]().openapi() for service in SERVICES}


def test_every_service_is_covered():
    assert set(APPS) == set(SERVICES)


def test_every_operation_of_the_merged_document_is_under_a_described_domain_tag():
    merged = merge_documents(documents())
    declared = {tag["name"]: tag.get("description", "") for tag in merged["tags"]}
    assert all(description.strip() for description in declared.values()), declared
    # Domains, not services: no heading is a service's name.
    assert not set(declared) & set(SERVICES)
    operations = [
        (method, path, operation)
        for path, item in merged["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert operations
    for method, path, operation in operations:
        assert operation.get("tags"), f"{method} {path} has no tag"
        undeclared = set(operation["tags"]) - set(declared)
        assert not undeclared, f"{method} {path}: {undeclared}"
    used = {tag for _, _, operation in operations for tag in operation["tags"]}
    assert used == set(declared), f"declared but unused: {set(declared) - used}"


def test_the_partner_headings_are_there():
    names = {tag["name"] for tag in merge_documents(documents())["tags"]}
    assert {"registration", "sign-in", "API keys", "catalogue", "protection keys"} <= names


def test_operation_ids_are_named_after_the_domain():
    document = APPS["dongle"]().openapi()
    assert document["paths"]["/api/v1/keys/{serial}"]["get"]["operationId"] == (
        "protection_keys_read_key"
    )


def test_every_operation_id_of_the_merged_document_is_snake_case():
    merged = merge_documents(documents())
    ids = [
        operation["operationId"]
        for item in merged["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert ids and all(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", id_) for id_ in ids), ids
    assert "protection_keys_read_key" in ids


SETTINGS = PlatformSettings(run_workers=False, log_json=False, log_level="WARNING")


def with_router(router: APIRouter, tags: list[Tag]) -> ServiceDefinition:
    return ServiceDefinition(
        name="probe",
        description="probe",
        metadata=dongle.metadata,
        bus=dongle.bus,
        tags=tags,
        routers=[router],
    )


@pytest.mark.parametrize("router_tags", [[], ["tickets"]])
def test_a_route_under_an_undeclared_or_no_tag_stops_the_service_from_starting(router_tags):
    router = APIRouter(tags=router_tags)

    @router.get("/api/v1/tickets")
    async def list_tickets() -> list[str]:
        return []

    definition = with_router(router, [Tag("knowledge base", "Articles.")])
    with pytest.raises(ValueError, match="Tag\\(name, description\\)"):
        create_service_app(definition, SETTINGS)
    declared = with_router(router, [Tag("tickets", "Support requests.")])
    if router_tags:
        app: FastAPI = create_service_app(declared, SETTINGS)
        assert app.openapi()["tags"] == [{"name": "tickets", "description": "Support requests."}]


def test_a_tag_needs_a_description():
    with pytest.raises(ValueError, match="description"):
        Tag("tickets", " ")


def test_a_router_with_a_prefix_stops_the_service_from_starting():
    router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])

    @router.get("")
    async def list_tickets() -> list[str]:
        return []

    with pytest.raises(ValueError, match="whole path"):
        create_service_app(with_router(router, [Tag("tickets", "Support requests.")]), SETTINGS)
