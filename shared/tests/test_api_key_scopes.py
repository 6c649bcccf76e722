"""`require_scope` is the one way an endpoint opens itself to API keys."""

import uuid
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends

from shared.auth import CurrentPrincipal, Principal, require_scope
from shared.service import create_service_app
from shared.testing.harness import describe_caller, seal_requests
from shared.testing.plugin import running
from shared.tests.conftest import probe_definition

Writer = Annotated[Principal, Depends(require_scope("tickets:write"))]


def nested_writer(principal: Writer) -> Principal:
    return principal


@pytest.fixture
async def client(platform_settings):
    router = APIRouter(tags=["probes"])

    @router.get("/declared")
    async def declared(principal: Writer) -> dict[str, str]:
        return {"kind": principal.kind}

    @router.get("/nested")
    async def nested(principal: Annotated[Principal, Depends(nested_writer)]) -> dict[str, str]:
        return {"kind": principal.kind}

    @router.get("/undeclared")
    async def undeclared(principal: CurrentPrincipal) -> dict[str, str]:
        return {"kind": principal.kind}

    definition = probe_definition(
        "probe_producer",
        description="scope probe",
        routers=[router],
    )
    settings = platform_settings.model_copy(update={"run_workers": False})
    app = create_service_app(definition, settings)
    async with running(app) as client:
        seal_requests(client, "probe_producer", settings.internal_secret)
        yield client


def key(*scopes: str) -> dict[str, str]:
    return describe_caller(
        Principal(
            kind="api_key",
            api_key_id=uuid.uuid4(),
            organization_id=uuid.uuid4(),
            roles=["partner"],
            scopes=list(scopes),
        )
    )


PERSON = describe_caller(Principal(kind="user", user_id=uuid.uuid4(), roles=["contact"]))


async def test_a_key_needs_the_declared_scope(client):
    for path in ("/declared", "/nested"):
        assert (await client.get(path, headers=key("tickets:write"))).status_code == 200
        refused = await client.get(path, headers=key("read"))
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert (await client.get(path, headers=PERSON)).status_code == 200


async def test_an_endpoint_without_a_declared_scope_is_closed_to_keys(client):
    refused = await client.get("/undeclared", headers=key(*["read", "tickets:write"]))
    assert refused.status_code == 403
    assert (await client.get("/undeclared", headers=PERSON)).status_code == 200
