"""One OpenAPI 3.1 document for the public API, merged from the services' own documents."""

import asyncio
import copy
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from gateway.routes import owning_service
from shared.problems import PROBLEM_MEDIA_TYPE, Problem

log = structlog.get_logger(__name__)

JsonObject = dict[str, Any]

OPENAPI_VERSION = "3.1.0"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENTS_PREFIX = "#/components/"

# How callers authenticate at the gateway (the services behind it never see credentials checked).
SECURITY_SCHEMES: JsonObject = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from `POST /api/v1/auth/login`.",
    },
    "apiKeyAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A partner API key issued by an administrator.",
    },
}
# Either credential, or none for the public endpoints; operations may state their own.
DEFAULT_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"apiKeyAuth": []}, {}]

# What the edge or the platform itself may answer to any operation, whatever the service says.
EDGE_PROBLEMS: dict[int, str] = {
    400: "Malformed request (unreadable body, bad Content-Length)",
    401: "The bearer token or API key did not verify",
    403: "The caller may not do this (role, API-key scope, accountant session)",
    408: "The request body arrived too slowly",
    413: "The request body is too large",
    422: "Invalid input: `errors` names each field and the rule it breaks",
    429: "Too many calls, failed authentications or concurrent requests; see Retry-After",
    502: "The owning service is unreachable",
    503: "The owning service or authentication is unavailable",
    504: "The owning service did not answer in time",
}
# Only an operation on a path with parameters can name something that is not there.
PATH_PARAMETER_PROBLEMS: dict[int, str] = {404: "Not found, or not visible to the caller"}
PROBLEM_REF = "#/components/schemas/Problem"

DESCRIPTION = (
    "The Kabinet customer-portal API: identity, licensing, helpdesk and dongle, "
    "served through one gateway."
)


@dataclass
class _FetchedDocument:
    document: JsonObject
    fetched_at: float


class ServiceDocuments:
    """Each service's own OpenAPI document, fetched when first needed and reused for `ttl`.

    A failed fetch is not remembered: the next request tries again. Until a service has
    answered once, its paths are left out of the merged document.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        service_urls: Mapping[str, str],
        *,
        ttl: float,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._service_urls = dict(service_urls)
        self._ttl = ttl
        self._timeout = timeout
        self._clock = clock
        self._fetched: dict[str, _FetchedDocument] = {}
        # One refresh at a time, so a burst of /openapi.json requests fetches each service once.
        self._refreshing = asyncio.Lock()

    async def merged(self) -> JsonObject:
        documents, unavailable = await self.current()
        return merge_documents(documents, unavailable)

    async def current(self) -> tuple[dict[str, JsonObject], list[str]]:
        """The documents at hand, in service order, and the services that have none."""
        async with self._refreshing:
            now = self._clock()
            due = [
                service
                for service in self._service_urls
                if service not in self._fetched
                or now - self._fetched[service].fetched_at >= self._ttl
            ]
            fetched = await asyncio.gather(*(self._fetch(service) for service in due))
            for service, document in zip(due, fetched, strict=True):
                # On failure a previous copy stays in use: a restarting service keeps its docs.
                if document is not None:
                    self._fetched[service] = _FetchedDocument(document, now)
        documents = {
            service: self._fetched[service].document
            for service in self._service_urls
            if service in self._fetched
        }
        unavailable = [service for service in self._service_urls if service not in documents]
        return documents, unavailable

    async def _fetch(self, service: str) -> JsonObject | None:
        url = f"{self._service_urls[service]}/openapi.json"
        try:
            response = await self._client.get(url, timeout=self._timeout)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("openapi_unavailable", service=service, error=repr(exc))
            return None
        if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
            log.warning("openapi_malformed", service=service)
            return None
        return document


def merge_documents(
    documents: Mapping[str, JsonObject], unavailable: Sequence[str] = ()
) -> JsonObject:
    """Paths and components of every service in one document.

    A component name that two services define differently gets each service's name as a
    prefix (`identity_Organization`), and every `$ref` to it is rewritten; identical
    definitions are shared under the plain name. Only paths the gateway routes to a service
    are taken from it, since no other path of that service is reachable from outside.
    """
    renames = _component_renames(documents)
    paths: JsonObject = {}
    components: defaultdict[str, JsonObject] = defaultdict(dict)
    tags: dict[str, JsonObject] = {}
    operation_owners: list[tuple[str, JsonObject]] = []

    for service, original in documents.items():
        # The rewrite copies, so the cached service document is never altered.
        document = _rewrite_refs(original, renames[service])
        for path, item in document.get("paths", {}).items():
            if owning_service(path) != service:
                log.info("openapi_path_not_routed", service=service, path=path)
                continue
            paths[path] = item
            operation_owners.extend(
                (service, item[method])
                for method in HTTP_METHODS
                if isinstance(item.get(method), dict)
            )
        for section, entries in document.get("components", {}).items():
            if not isinstance(entries, dict):
                continue
            for name, definition in entries.items():
                merged_ref = renames[service].get(_ref(section, name), _ref(section, name))
                components[section][merged_ref.rpartition("/")[2]] = definition
        for tag in document.get("tags", []):
            if isinstance(tag, dict) and "name" in tag:
                tags.setdefault(tag["name"], tag)

    _make_operation_ids_unique(operation_owners)
    for path, item in paths.items():
        for method in HTTP_METHODS:
            if isinstance(item.get(method), dict):
                _document_problems(path, item[method])
    _add_problem_schema(components["schemas"])
    # The gateway decides how callers authenticate; its schemes win over a service's own.
    components["securitySchemes"].update(copy.deepcopy(SECURITY_SCHEMES))

    description = DESCRIPTION
    if unavailable:
        description += (
            "\n\nNot included, because the service did not answer: " + ", ".join(unavailable) + "."
        )
    merged: JsonObject = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Kabinet API", "version": "1.0.0", "description": description},
        "paths": dict(sorted(paths.items())),
        "components": {section: dict(sorted(e.items())) for section, e in components.items()},
        "security": copy.deepcopy(DEFAULT_SECURITY),
    }
    if tags:
        merged["tags"] = list(tags.values())
    if unavailable:
        merged["x-kabinet-unavailable"] = list(unavailable)
    return merged


def _ref(section: str, name: str) -> str:
    return f"{COMPONENTS_PREFIX}{section}/{name}"


def _component_renames(documents: Mapping[str, JsonObject]) -> dict[str, dict[str, str]]:
    """For each service, `$ref` -> prefixed `$ref` of its components whose name collides.

    Repeated until nothing changes: renaming `Organization` makes two `Contact` schemas that
    refer to it differ too, even though their text was the same.
    """
    definitions: defaultdict[str, dict[str, Any]] = defaultdict(dict)
    for service, document in documents.items():
        for section, entries in document.get("components", {}).items():
            # Security schemes are referred to by name, not by $ref; the gateway's own win.
            if section == "securitySchemes" or not isinstance(entries, dict):
                continue
            for name, definition in entries.items():
                definitions[_ref(section, name)][service] = definition

    renames: dict[str, dict[str, str]] = {service: {} for service in documents}
    renamed: set[str] = set()
    changed = True
    while changed:
        changed = False
        for ref, versions in definitions.items():
            if len(versions) < 2 or ref in renamed:
                continue
            texts = {
                json.dumps(_rewrite_refs(definition, renames[service]), sort_keys=True)
                for service, definition in versions.items()
            }
            if len(texts) > 1:
                renamed.add(ref)
                section, _, name = ref.removeprefix(COMPONENTS_PREFIX).partition("/")
                for service in versions:
                    renames[service][ref] = _ref(section, f"{service}_{name}")
                changed = True
    return renames


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    """A copy of `node` with every `$ref` (and discriminator mapping) renamed."""
    if isinstance(node, dict):
        rewritten: JsonObject = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                rewritten[key] = renames.get(value, value)
            elif key == "discriminator" and isinstance(value, dict):
                rewritten[key] = dict(value)
                if isinstance(value.get("mapping"), dict):
                    rewritten[key]["mapping"] = {
                        tag: renames.get(target, target) if isinstance(target, str) else target
                        for tag, target in value["mapping"].items()
                    }
            else:
                rewritten[key] = _rewrite_refs(value, renames)
        return rewritten
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _make_operation_ids_unique(operations: Sequence[tuple[str, JsonObject]]) -> None:
    """An operation id used by two services gets the service as prefix; any clash left, a number."""
    counts = Counter(op["operationId"] for _, op in operations if "operationId" in op)
    taken: set[str] = set()
    for service, operation in operations:
        operation_id = operation.get("operationId")
        if not isinstance(operation_id, str):
            continue
        if counts[operation_id] > 1:
            operation_id = f"{service}_{operation_id}"
        unique, number = operation_id, 1
        while unique in taken:
            number += 1
            unique = f"{operation_id}_{number}"
        taken.add(unique)
        operation["operationId"] = unique


def _document_problems(path: str, operation: JsonObject) -> None:
    """Every error answer as what it is on the wire, an `application/problem+json` Problem,
    and the answers the edge may give added where the service did not list them."""
    responses: JsonObject = operation.setdefault("responses", {})
    for code, response in responses.items():
        if code.isdigit() and int(code) >= 400 and isinstance(response, dict):
            response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
    wanted = dict(EDGE_PROBLEMS)
    if "{" in path:
        wanted.update(PATH_PARAMETER_PROBLEMS)
    for status, description in sorted(wanted.items()):
        responses.setdefault(
            str(status),
            {
                "description": description,
                "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
            },
        )


def _add_problem_schema(schemas: JsonObject) -> None:
    """The platform's Problem (shared.problems), unless every service already shares it."""
    generated = Problem.model_json_schema(ref_template=COMPONENTS_PREFIX + "schemas/{model}")
    for name, definition in generated.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault("Problem", generated)
