"""The event payload models: one per event type of the spec, round trips, strictness, AsyncAPI."""

import importlib
import inspect
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from shared.bus.envelope import Envelope, EventPayload
from shared.bus.topology import catalogue_bindings
from shared.events import (
    EVENTS,
    EVENTS_BY_TYPE,
    RETIRED_EVENT_TYPES,
    InvoiceIssued,
    InvoicePaid,
    OrganizationRegistered,
    TicketStatusChanged,
)
from shared.events.asyncapi import DEFAULT_PATH, ENVELOPE_SCHEMA, build_asyncapi, main, render
from shared.events.common import SERVICES
from shared.testing.events import ORG, SAMPLES, TICKET, USER

# The type names of the table in the spec's `60-events.md` (written out: CI may lack the spec).
TABLE_TYPES = [
    "identity.organization.registered",
    "identity.user.registered",
    "identity.organization.updated",
    "licensing.contract.attached",
    "licensing.license.issued",
    "licensing.license.lapsed",
    "licensing.license.renewed",
    "licensing.license.suspended",
    "licensing.license.reinstated",
    "licensing.support.registered",
    "licensing.support.renewed",
    "licensing.support.expired",
    "licensing.invoice.issued",
    "licensing.invoice.paid",
    "licensing.renewal.rejected",
    "dongle.protection.requested",
    "dongle.protection.activated",
    "dongle.protection.lapsed",
    "dongle.protection.resumed",
    "dongle.protection.cancelled",
    "dongle.key.reported_lost",
    "dongle.licenses.restored",
    "dongle.update_file.generated",
    "helpdesk.renewal.requested",
    "helpdesk.ticket.status_changed",
]
# Events added where the spec needs them (see docs/events.md).
ADDED_TYPES = [
    "identity.user.updated",
    "identity.data_change.requested",
    "licensing.partner.customer_linked",
]

# One value per case that breaks a rule of our contract (a check digit, a closed set of values,
# money precision, a cross-field rule): (event type, field, value); each must be refused.
WRONG: list[tuple[str, str, Any]] = [
    ("licensing.license.lapsed", "reason", "deleted"),
    ("licensing.support.registered", "tier", "gold"),
    ("licensing.support.registered", "ends_at", "2027-03-01T07:00:00"),  # naive
    ("licensing.support.registered", "ends_at", "2025-01-01T00:00:00Z"),  # before start
    ("licensing.invoice.issued", "total", "4900.001"),
    ("licensing.invoice.issued", "total", "-1.00"),
    ("licensing.invoice.issued", "total", "NaN"),
    ("licensing.invoice.issued", "items", []),
    ("licensing.license.issued", "seats", 0),
    ("licensing.renewal.rejected", "reason", "because"),
    ("licensing.partner.customer_linked", "source", "invoice"),
    ("licensing.partner.customer_linked", "linked_at", "2026-11-22T10:15:00"),  # naive
    ("identity.organization.registered", "inn", "7707083894"),  # wrong check digit
    ("identity.organization.registered", "kpp", "77360100"),
    ("identity.organization.registered", "resident", False),  # RU is resident
    ("identity.organization.registered", "kind", "natural_person"),
    ("identity.user.registered", "email", "not an e-mail"),
    ("identity.user.registered", "phone", "8 916 123-45-67"),
    ("identity.user.registered", "roles", ["superuser"]),
    ("identity.organization.updated", "changes", {}),
    ("dongle.protection.cancelled", "reason", "bored"),
    ("dongle.key.reported_lost", "kind", "misplaced"),
    ("dongle.key.reported_lost", "restoration_covered", False),  # yet codes to invoice
    ("dongle.licenses.restored", "new_serial", "3-1234567"),  # same as the old one
    ("dongle.update_file.generated", "sequence", 0),
    ("dongle.update_file.generated", "month", "2026-13"),
    ("helpdesk.ticket.status_changed", "number", "1042"),
    ("helpdesk.ticket.status_changed", "to", "deleted"),
    ("helpdesk.ticket.status_changed", "close_reason", None),  # closed without a reason
]

OCCURRED_AT = datetime(2026, 11, 22, 13, 15, tzinfo=timezone(timedelta(hours=3)))


def test_every_table_type_has_a_registered_model():
    for event_type in TABLE_TYPES:
        model = EventPayload.for_type(event_type)
        assert model is not None, f"no model registered for {event_type}"
        assert EVENTS_BY_TYPE[event_type] is model


def test_the_package_holds_exactly_the_table_and_the_documented_additions():
    assert sorted(EVENTS_BY_TYPE) == sorted(TABLE_TYPES + ADDED_TYPES)
    assert len(EVENTS) == len(EVENTS_BY_TYPE)
    assert sorted(SAMPLES) == sorted(EVENTS_BY_TYPE)


@pytest.mark.parametrize("model", EVENTS, ids=lambda m: m.event_type)
def test_model_is_documented_and_lives_with_its_producer(model):
    producer = model.producer()
    assert producer in SERVICES
    assert model.__module__ == f"shared.events.{producer}"
    assert model.event_version >= 1
    assert model.model_config["frozen"] is True
    assert model.model_config["extra"] == "ignore"
    assert model.consumers, "every event names who consumes it"
    doc = inspect.getdoc(model) or ""
    assert "onsumed by" in doc
    for consumer in model.consumers:
        assert consumer in doc
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_round_trip_through_the_envelope(event_type):
    model = EVENTS_BY_TYPE[event_type]
    payload = model.model_validate(SAMPLES[event_type])
    envelope = Envelope.wrap(
        payload, producer=model.producer(), occurred_at=OCCURRED_AT, correlation_id="req-1"
    )
    wire = envelope.model_dump_json()

    body = json.loads(wire)
    assert body["type"] == event_type
    assert body["version"] == model.event_version
    assert body["producer"] == event_type.split(".")[0]
    assert body["occurred_at"] == "2026-11-22T10:15:00Z"
    # The samples are in the exact wire form; fields they leave out take their defaults.
    sample = SAMPLES[event_type]
    assert {key: body["data"][key] for key in sample} == sample

    received = Envelope.model_validate_json(wire)
    assert received.id == envelope.id
    model_for_type = EventPayload.for_type(received.type)
    assert model_for_type is model
    assert received.payload(model_for_type) == payload

    # A newer producer may add fields to the envelope and to the payload: this version reads
    # the message the same way (the compatibility rule of docs/events.md).
    newer = {**body, "trace": "x", "data": {**body["data"], "added_in_v2": {"x": 1}}}
    from_newer = Envelope.model_validate_json(json.dumps(newer))
    assert from_newer.payload(model) == payload


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_wire_form_matches_the_published_json_schema(event_type):
    jsonschema = pytest.importorskip("jsonschema")
    model = EVENTS_BY_TYPE[event_type]
    data = model.model_validate(SAMPLES[event_type]).model_dump(mode="json")
    jsonschema.validate(data, model.model_json_schema())


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_envelope_on_the_wire_matches_its_asyncapi_message(event_type):
    jsonschema = pytest.importorskip("jsonschema")
    model = EVENTS_BY_TYPE[event_type]
    payload = model.model_validate(SAMPLES[event_type])
    envelope = Envelope.wrap(payload, producer=model.producer(), occurred_at=OCCURRED_AT)
    body = json.loads(envelope.model_dump_json())
    # The document itself is the root, so its `#/components/...` references resolve.
    schema = {**build_asyncapi(), "$ref": f"#/components/messages/{model.__name__}/payload"}
    jsonschema.validate(body, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "type": "some.other.type"}, schema)


@pytest.mark.parametrize(("event_type", "field", "value"), WRONG, ids=lambda v: str(v)[:30])
def test_wrong_data_is_refused(event_type, field, value):
    assert field in SAMPLES[event_type]
    with pytest.raises(ValidationError):
        EVENTS_BY_TYPE[event_type].model_validate({**SAMPLES[event_type], field: value})


def test_money_is_a_kopeck_exact_string_and_times_are_utc():
    data = {**SAMPLES["licensing.invoice.issued"], "total": 4900}
    invoice = InvoiceIssued.model_validate(data)
    assert invoice.total == Decimal("4900.00")
    assert invoice.model_dump(mode="json")["total"] == "4900.00"

    paid = InvoicePaid.model_validate(
        {**SAMPLES["licensing.invoice.paid"], "paid_at": "2026-03-02T12:30:00+03:00"}
    )
    assert paid.model_dump(mode="json")["paid_at"] == "2026-03-02T09:30:00Z"
    assert paid.paid_at.tzinfo == UTC


def test_ticket_status_change_uses_from_and_to_on_the_wire():
    change = TicketStatusChanged(
        ticket_id=UUID(TICKET),
        number="HD-7",
        organization_id=UUID(ORG),
        author_id=UUID(USER),
        from_status="new",
        to_status="in_progress",
        changed_by=UUID(USER),
    )
    data = change.model_dump(mode="json")
    assert (data["from"], data["to"]) == ("new", "in_progress")
    assert TicketStatusChanged.model_validate(data) == change


def test_non_resident_organization_has_no_inn():
    model = OrganizationRegistered
    foreign = {
        **SAMPLES["identity.organization.registered"],
        "country": "KZ",
        "resident": False,
        "inn": None,
        "kpp": None,
        "foreign_tax_id": "123456789012",
    }
    assert model.model_validate(foreign).resident is False
    with pytest.raises(ValidationError):
        model.model_validate({**foreign, "inn": "7707083893"})


def test_asyncapi_document_describes_every_event():
    document = build_asyncapi()
    assert document["asyncapi"] == "3.0.0"
    assert set(document["channels"]) == set(EVENTS_BY_TYPE)
    for event_type, model in EVENTS_BY_TYPE.items():
        channel = document["channels"][event_type]
        assert channel["address"] == event_type
        assert channel["bindings"]["amqp"]["exchange"]["name"] == "kabinet.events"
        message = document["components"]["messages"][model.__name__]
        assert message["name"] == event_type
        envelope_ref, specific = message["payload"]["allOf"]
        assert envelope_ref == {"$ref": "#/components/schemas/Envelope"}
        assert specific["properties"]["type"] == {"const": event_type}
        assert specific["properties"]["data"] == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert document["operations"][f"{event_type}.send"]["action"] == "send"
        for consumer in model.consumers:
            assert document["operations"][f"{event_type}.receive.{consumer}"]["action"] == "receive"
    # Every $ref points at something in the document.
    text = json.dumps(document)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/')[1:]}:
        node: Any = document
        for key in ref.split("/"):
            node = node[key]


def test_envelope_schema_names_every_envelope_field():
    assert set(ENVELOPE_SCHEMA["properties"]) == set(Envelope.model_fields)


def test_committed_asyncapi_document_is_up_to_date():
    assert DEFAULT_PATH.exists(), "run `python -m shared.events.asyncapi`"
    assert DEFAULT_PATH.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.json is out of date: run `python -m shared.events.asyncapi`"
    )


def test_check_mode_fails_on_a_stale_file_and_passes_after_writing(tmp_path: Path):
    path = tmp_path / "asyncapi.json"
    assert main(["--check", str(path)]) == 1
    path.write_text("{}\n", encoding="utf-8")
    assert main(["--check", str(path)]) == 1
    assert main([str(path)]) == 0
    assert main(["--check", str(path)]) == 0
    assert json.loads(path.read_text(encoding="utf-8")) == build_asyncapi()


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_handles_only_events_the_catalogue_routes_to_it(service):
    """Its queue is bound from the catalogue: a handler for a type that does not name the
    service as a consumer would never be called."""
    handlers = importlib.import_module(f"services.{service}.events").handlers
    assert set(handlers.event_types) <= set(catalogue_bindings()[service])


@pytest.mark.parametrize("service", SERVICES)
def test_every_event_routed_to_a_service_has_its_handler(service):
    """An event naming the service in its `consumers` lands in its queue: without a handler in
    the service's definition it would only ever be dead-lettered as unhandled."""
    definition = importlib.import_module(f"services.{service}.app").definition
    routed = set(catalogue_bindings()[service])
    unhandled = sorted(routed - set(definition.handlers.event_types))
    assert unhandled == [], (
        f"routed to {service} without a handler: {unhandled}; add one to its definition's "
        f"handlers or remove {service!r} from the event's consumers"
    )


def test_a_retired_event_type_is_no_longer_in_the_catalogue():
    """declare-bus unbinds a retired type from every queue: one still in use would stop
    reaching its consumers."""
    assert set(RETIRED_EVENT_TYPES).isdisjoint(model.event_type for model in EVENTS)


def test_event_types_are_unique_well_formed_routing_keys():
    """The type is the routing key and the registry's key: a second class with the same type
    would silently replace the first; a class name is the AsyncAPI message's key."""
    types = [model.event_type for model in EVENTS]
    assert len(set(types)) == len(types)
    assert len({model.__name__ for model in EVENTS}) == len(EVENTS)
    for model in EVENTS:
        assert re.fullmatch(
            r"(identity|licensing|dongle|helpdesk)(\.[a-z][a-z_]*){2}", model.event_type
        )
        assert EventPayload.for_type(model.event_type) is model


@pytest.mark.parametrize("model", EVENTS, ids=lambda m: m.event_type)
def test_every_consumer_is_a_service_whose_queue_is_bound_for_the_event(model):
    assert len(set(model.consumers)) == len(model.consumers)
    for consumer in model.consumers:
        assert consumer in SERVICES
        assert model.event_type in catalogue_bindings()[consumer]


def test_the_events_documentation_lists_every_model_with_its_producer():
    text = (DEFAULT_PATH.parent / "events.md").read_text(encoding="utf-8")
    listed: dict[str, set[str]] = {}
    for module, names in re.findall(r"^\| `shared/events/(\w+)\.py` \| (.*) \|$", text, re.M):
        listed[module] = set(re.findall(r"`(\w+)`", names))
    by_module: dict[str, set[str]] = {}
    for model in EVENTS:
        by_module.setdefault(model.__module__.rsplit(".", 1)[1], set()).add(model.__name__)
    assert listed == by_module
