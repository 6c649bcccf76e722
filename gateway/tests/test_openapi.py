"""The merged OpenAPI document and Swagger UI, built from the doubles' real FastAPI documents."""

import re
from collections.abc import Iterator
from typing import Any

import httpx

from gateway.openapi import ServiceDocuments, merge_documents
from gateway.tests.conftest import Doubles
from gateway.tests.doubles import ServiceDouble
from shared.testing.servers import free_port, serve

SCHEMAS = "#/components/schemas/"
DOCUMENTED_PATHS = {
    "/api/v1/me": "identity",
    "/api/v1/organizations/{organization_id}": "identity",
    "/api/v1/contracts/{contract_id}/contact": "licensing",
    "/api/v1/kb/articles": "helpdesk",
    "/api/v1/keys/{serial}": "dongle",
}


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def response_schema(document: dict[str, Any], path: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["paths"][path]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    return schema


async def test_merged_document_has_every_service_and_resolves_every_ref(gateway, doubles):
    response = await gateway.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert set(DOCUMENTED_PATHS) <= set(document["paths"])
    assert "x-kabinet-unavailable" not in document
    # Served by identity but not routed by the gateway: unreachable, so undocumented.
    assert "/internal/sync" not in document["paths"]
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith(SCHEMAS) and ref.removeprefix(SCHEMAS) in schemas, ref


async def test_colliding_schemas_are_prefixed_and_refs_rewritten(gateway, doubles):
    document = (await gateway.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert "Organization" not in schemas and "Contact" not in schemas
    assert set(schemas["identity_Organization"]["properties"]) == {"id", "name"}
    assert set(schemas["licensing_Organization"]["properties"]) == {"id", "inn"}
    # Contact reads the same in both, but refers to a different Organization in each.
    for service in ("identity", "licensing"):
        organization = schemas[f"{service}_Contact"]["properties"]["organization"]
        assert organization == {"$ref": f"{SCHEMAS}{service}_Organization"}
    assert response_schema(document, "/api/v1/me") == {"$ref": f"{SCHEMAS}identity_Contact"}
    contact_path = "/api/v1/contracts/{contract_id}/contact"
    assert response_schema(document, contact_path) == {"$ref": f"{SCHEMAS}licensing_Contact"}
    organization_path = "/api/v1/organizations/{organization_id}"
    assert response_schema(document, organization_path) == {
        "$ref": f"{SCHEMAS}identity_Organization"
    }


async def test_identical_schemas_are_shared_under_their_own_name(gateway, doubles):
    schemas = (await gateway.get("/openapi.json")).json()["components"]["schemas"]
    assert "Problem" in schemas and "FieldError" in schemas
    assert not [name for name in schemas if name.endswith(("_Problem", "_FieldError"))]


async def test_operation_ids_stay_unique(gateway, doubles):
    document = (await gateway.get("/openapi.json")).json()
    ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert len(ids) == len(set(ids))
    # Both services call theirs `default_read_contact`.
    assert {"identity_default_read_contact", "licensing_default_read_contact"} <= set(ids)
    assert "default_read_key" in ids


async def test_gateway_security_schemes_are_documented(gateway, doubles):
    document = (await gateway.get("/openapi.json")).json()
    schemes = {
        name: {key: value for key, value in scheme.items() if key != "description"}
        for name, scheme in document["components"]["securitySchemes"].items()
    }
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["apiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert {"bearerAuth": []} in document["security"]


async def test_every_operation_documents_its_problems_as_problem_json(gateway, doubles):
    document = (await gateway.get("/openapi.json")).json()
    operations = [
        (path, operation)
        for path, item in document["paths"].items()
        for operation in item.values()
        if isinstance(operation, dict) and "responses" in operation
    ]
    assert operations
    for path, operation in operations:
        responses = operation["responses"]
        wanted = {"400", "401", "403", "408", "413", "422", "429", "502", "503", "504"}
        if "{" in path:
            wanted.add("404")
        assert wanted <= set(responses), (path, sorted(responses))
        for code, response in responses.items():
            if int(code) >= 400:
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (path, code)
    assert {"type", "title", "status"} <= set(
        document["components"]["schemas"]["Problem"]["properties"]
    )


async def test_swagger_ui_is_served(gateway, doubles):
    response = await gateway.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text
    assert "/openapi.json" in response.text
    # Its scripts and styles come from the gateway itself, not from a CDN.
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert assets and all(url.startswith("/docs/assets/") for url in assets), assets
    for url in assets:
        asset = await gateway.get(url)
        assert asset.status_code == 200 and asset.content, url
    bundle = await gateway.get("/docs/assets/swagger-ui-bundle.js")
    assert '"5.' in bundle.text  # Swagger UI 5 renders OpenAPI 3.1


async def test_service_down_is_left_out_and_included_once_it_answers(start_gateway, doubles):
    port = free_port()
    async with start_gateway(helpdesk_url=f"http://127.0.0.1:{port}") as gateway:
        without = (await gateway.get("/openapi.json")).json()
        assert without["x-kabinet-unavailable"] == ["helpdesk"]
        assert "helpdesk" in without["info"]["description"]
        assert "/api/v1/kb/articles" not in without["paths"]
        assert "/api/v1/keys/{serial}" in without["paths"]

        late_helpdesk = ServiceDouble("helpdesk")
        async with serve(late_helpdesk, port=port):
            recovered = (await gateway.get("/openapi.json")).json()
    assert "x-kabinet-unavailable" not in recovered
    assert "/api/v1/kb/articles" in recovered["paths"]


async def test_documents_are_reused_until_their_ttl_passes(doubles):
    now = [1000.0]
    urls = {name: double.url for name, double in doubles.items()}
    async with httpx.AsyncClient() as client:
        documents = ServiceDocuments(client, urls, ttl=60, timeout=2, clock=lambda: now[0])
        await documents.merged()
        now[0] += 59
        await documents.merged()
        assert [double.hits["/openapi.json"] for double in doubles.values()] == [1, 1, 1, 1]
        now[0] += 1
        await documents.merged()
    assert [double.hits["/openapi.json"] for double in doubles.values()] == [2, 2, 2, 2]


async def test_failed_fetch_is_retried_on_the_next_request(doubles: Doubles):
    port = free_port()
    urls = {"dongle": f"http://127.0.0.1:{port}"}
    async with httpx.AsyncClient() as client:
        documents = ServiceDocuments(client, urls, ttl=3600, timeout=2)
        assert (await documents.current()) == ({}, ["dongle"])
        async with serve(ServiceDouble("dongle"), port=port):
            fetched, unavailable = await documents.current()
    assert unavailable == []
    assert "/api/v1/keys/{serial}" in fetched["dongle"]["paths"]


def test_discriminator_mappings_and_nested_refs_follow_a_rename():
    def document(service: str, pet_fields: list[str]) -> dict[str, Any]:
        pet_ref = {"$ref": f"{SCHEMAS}Pet"}
        return {
            "openapi": "3.1.0",
            "paths": {
                f"/api/v1/{service}": {
                    "get": {
                        "operationId": "list",
                        "responses": {
                            "200": {
                                "content": {
                                    "application/json": {
                                        "schema": {
                                            "type": "array",
                                            "items": {"$ref": f"{SCHEMAS}Animal"},
                                        }
                                    }
                                }
                            }
                        },
                    }
                }
            },
            "components": {
                "schemas": {
                    "Pet": {
                        "type": "object",
                        "properties": {f: {"type": "string"} for f in pet_fields},
                    },
                    "Animal": {
                        "oneOf": [pet_ref],
                        "discriminator": {
                            "propertyName": "kind",
                            "mapping": {"pet": f"{SCHEMAS}Pet"},
                        },
                    },
                }
            },
        }

    merged = merge_documents(
        {"identity": document("me", ["name"]), "licensing": document("acts", ["inn"])}
    )
    schemas = merged["components"]["schemas"]
    assert set(schemas) == {
        "identity_Pet",
        "licensing_Pet",
        "identity_Animal",
        "licensing_Animal",
        # The platform's error shape, which every error answer refers to.
        "Problem",
        "FieldError",
    }
    assert schemas["licensing_Animal"]["oneOf"] == [{"$ref": f"{SCHEMAS}licensing_Pet"}]
    assert schemas["licensing_Animal"]["discriminator"]["mapping"] == {
        "pet": f"{SCHEMAS}licensing_Pet"
    }
    items = merged["paths"]["/api/v1/me"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]["items"]
    assert items == {"$ref": f"{SCHEMAS}identity_Animal"}
    assert {
        merged["paths"]["/api/v1/me"]["get"]["operationId"],
        merged["paths"]["/api/v1/acts"]["get"]["operationId"],
    } == {"identity_list", "licensing_list"}
