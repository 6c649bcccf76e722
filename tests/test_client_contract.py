"""The shapes SPAs and partners code against ("Shapes clients rely on" in the service specs),
checked against the merged OpenAPI document the gateway serves, then a few walked for real.

`CONTRACT` is the table: one row per path and method a "Shapes clients rely on" section names
(plus the list and problem shapes 50-platform fixes), quoting the spec text it encodes. A row
gives the success status, the request and response fields, the query parameters and the error
statuses the spec names. What is checked, and why it is what a client relies on:

- **Requests**: every field the spec names is accepted; a field the spec marks optional (`?`,
  or `null` in an example) is not required; the implementation requires no field the spec does
  not name (a client sending the spec's body would get a 422). A field the spec names plainly
  may still have a default: a lenient server breaks no client.
- **Responses**: every field the spec names is in the answer's schema (FastAPI writes every
  field of the response model; `test_no_route_leaves_fields_out_of_its_answer` keeps it so);
  a field the spec types (an enum, a boolean, a decimal string, an object, a list) is not
  `null` unless the spec writes `| null`.
- **Enums** are exactly the spec's values, in both directions; nested objects and lists of
  objects are checked field by field, as deep as the spec writes them.
- **Statuses**: the one success status the spec names (200 when it names none) is the only
  2xx documented; the error statuses it names are documented.

A row whose implementation cannot follow the spec names the field in `differs`, with the
service document whose "Differences from the spec" section says why; that field's finding is
expected (and must still be found: a difference that went away fails until the row is cleaned).

Beside the table: every path of the four "Endpoints (through the gateway)" tables is served;
every event carries the `data` 60-events names; and one story per service walks the spec's
example bodies through the real gateway, checking statuses, fields, enum values, the problems'
extra members (`organizations`, `reason`, `rule`, `current_status`) and UTC `Z` times on the
wire.
"""

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from services.licensing.tests.factories import act_body, contract_body
from shared.events import EVENTS_BY_TYPE
from shared.testing.plugin import arrived, eventually
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack
from tests.requisites import new_organization, phone
from tests.stories import (
    PASSWORD,
    complete_recovery,
    issue_api_key,
    licensing_knows,
    open_ticket,
    sign_in,
    suggest,
)
from tests.test_openapi_tags import APPS

ROOT = Path(__file__).resolve().parents[1]
# The spec beside the checkout (`/work/shared/spec` for `/work/main`, `../shared/spec` for a
# worktree); the quotes are checked against it where it is present.
SPEC_DIRS = [ROOT.parent / "shared" / "spec", ROOT.parent.parent / "shared" / "spec"]
SHAPES = "Shapes clients rely on"
ENDPOINTS = "Endpoints (through the gateway)"


# --- The shape notation --------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """A field's value as the spec writes it: `type` (JSON Schema), `enum`, or anything."""

    type: str | None = None
    enum: tuple[Any, ...] = ()
    label: str = "any"


@dataclass(frozen=True)
class Nullable:
    """The spec writes `| null` (or `null` in an example body): the value may be null."""

    inner: Any


ANY = Value()
STR = Value("string", label="a string")
BOOL = Value("boolean", label="a boolean")
INT = Value("integer", label="an integer")
NUMBER = Value("number", label="a number")
DECIMAL = Value("string", label="a decimal string")  # money: "12000.00"
# The spec elides the rest of an object (`{"id", "activation_code", …}`).
MORE = "…"


def one_of(*values: str) -> Value:
    return Value("string", tuple(values), label=" | ".join(values))


def nullable(inner: Any) -> Nullable:
    return Nullable(inner)


@dataclass(frozen=True)
class Row:
    spec: str  # the spec file
    quote: str  # the words of the spec the row encodes (checked against the spec when present)
    method: str
    path: str
    status: int = 200
    request: dict[str, Any] | None = None
    response: Any = None
    media_type: str = "application/json"
    query: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    section: str = SHAPES
    # fields the spec keeps out of this answer (`"key"` only in the 201 that issues it)
    absent: tuple[str, ...] = ()
    # field path -> the doc that says why the implementation differs there
    differs: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.spec} {self.method} {self.path} {self.status}"


# --- The table -----------------------------------------------------------------------------

ID = "10-identity.md"
LIC = "20-licensing.md"
DON = "30-dongle.md"
HD = "40-helpdesk.md"
PLAT = "50-platform.md"

ADDRESS = {
    "postal_code": ANY,
    "region": ANY,
    "district?": ANY,
    "locality": ANY,
    "street": ANY,
    "line": ANY,
}
CONTACT = {"full_name": ANY, "phone": ANY, "email": ANY, "password": ANY}
NEW_ORGANIZATION = {
    "country": ANY,
    "legal_form": ANY,
    "full_name": ANY,
    "short_name": ANY,
    "inn": ANY,
    "kpp": ANY,
    "ogrn": ANY,
    "okved": ANY,
    "okpo": ANY,
    "classification?": nullable(ANY),
    "director_name": ANY,
    "director_name_genitive?": nullable(ANY),
    "director_basis": ANY,
    "bank": {
        "bik": ANY,
        "name": ANY,
        "settlement_account": ANY,
        "correspondent_account": ANY,
    },
    "legal_address": {**ADDRESS, "district?": nullable(ANY)},
    "actual_address?": nullable(ADDRESS),
    # What the spec's example leaves out is for cases it describes in words: a non-resident's
    # own tax id, a subdivision (rule 2, rule 3).
    MORE: True,
}
CHOICE = {"id": ANY, "name": ANY, "customer_number": ANY}
ROLES = one_of("contact", "responsible", "accountant", "agent", "admin")
ME_ORGANIZATION = {"id": ANY, "name": ANY, "inn": ANY, "kpp": ANY, "customer_number": ANY}

LICENSE_STATUS = one_of("active", "suspended", "expired", "revoked")
LICENSE = {
    "id": ANY,
    "product_code": ANY,
    "product_name": ANY,
    "edition": ANY,
    "seats": ANY,
    "activation_code": ANY,
    "status": LICENSE_STATUS,
    "starts_at": ANY,
    "expires_at": ANY,
    "key_serial": ANY,
    "contract_id": ANY,
}
CERTIFICATE = {
    "id": ANY,
    "number": ANY,
    "tier": one_of("free", "paid", "partner"),
    "status": one_of("active", "ended"),
    "products": [STR],
    "key_serials": [STR],
    "starts_at": ANY,
    "ends_at": ANY,
}
UPLOAD_REQUEST = {
    "id": ANY,
    "status": one_of("approved", "pending", "rejected"),
    "numbers": [STR],
    "terms_version": ANY,
    "accepted_at": ANY,
}
INVOICE = {
    "id": ANY,
    "number": ANY,
    "status": one_of("issued", "paid"),
    "reference": ANY,
    "items": [{"code": ANY, "name": ANY, "quantity": ANY, "amount": DECIMAL}],
    "total": DECIMAL,
    "issued_at": ANY,
    "paid_at": ANY,
}

SUBSCRIPTION_STATUS = one_of("pending_payment", "active", "lapsed", "cancelled")
PROTECTION = {
    "id": ANY,
    "status": SUBSCRIPTION_STATUS,
    "price": DECIMAL,
    "invoice_id": ANY,
    "programmed_until": ANY,
}
KEY = {
    "serial": ANY,
    "kind": ANY,
    "status": ANY,
    "organization_id": ANY,
    "licenses": [{"id": ANY, "product_code": ANY, "status": ANY, "expires_at": ANY}],
    "maintenance_ends_at": ANY,
    "protection": nullable(PROTECTION),
}
# docs/dongle.md, "Differences from the spec": the price is known once licensing has invoiced.
PRICE_DIFFERS = {"protection.price": "docs/dongle.md"}

TIER = one_of("partner", "paid", "free", "none")
TICKET = {
    "id": ANY,
    "number": ANY,
    "status": ANY,
    "tier": TIER,
    "priority": ANY,
    "first_response_due_at": nullable(ANY),
    "breached": BOOL,
    "created_at": ANY,
}
TICKET_DETAIL = {
    **TICKET,
    "messages": [
        {
            "id": ANY,
            "kind": one_of("reply", "note", "system"),
            "author": {"id": ANY, "name": ANY, "role": ANY},
            "body": ANY,
            "created_at": ANY,
        }
    ],
    "attachments": [ANY],
    "status_changed_at": ANY,
    "close_reason": ANY,
    "first_responded_at": ANY,
}
FOUND = {"id": ANY, "title": ANY, "snippet": ANY, "score": ANY}

CONTRACT: list[Row] = [
    # 10-identity.md, "Shapes clients rely on"
    Row(
        ID,
        "Registration of a new organization (`POST /api/v1/registration`)",
        "POST",
        "/api/v1/registration",
        201,
        request={"organization?": NEW_ORGANIZATION, "contact": CONTACT, MORE: True},
    ),
    Row(
        ID,
        'Joining an existing organization: `{"organization_id": "…", "contact": {…}}`.',
        "POST",
        "/api/v1/registration",
        201,
        request={"organization_id?": ANY, "contact": CONTACT, MORE: True},
    ),
    Row(
        ID,
        '→ 201 `{registration_id, status: "pending_verification", pending: ["email", "phone"]}`',
        "POST",
        "/api/v1/registration",
        201,
        response={
            "registration_id": ANY,
            "status": one_of("pending_verification", "completed"),
            "pending": [one_of("email", "phone")],
        },
        section=ENDPOINTS,
    ),
    Row(
        ID,
        "`completed` carries `{user_id, organization_id, customer_number, login}`",
        "POST",
        "/api/v1/registration/{id}/verify",
        request={"channel": one_of("email", "phone"), "code": ANY},
        response={
            "status": ANY,
            "user_id": ANY,
            "organization_id": ANY,
            "customer_number": ANY,
            "login": ANY,
        },
        section=ENDPOINTS,
    ),
    Row(
        ID,
        '`GET /api/v1/me` → `{"user": {"id", "full_name", "email", "phone", "roles": '
        '["contact" | "responsible" | "accountant" | "agent" | "admin"]}, "organization": '
        '{"id", "name", "inn", "kpp", "customer_number"}}`; with an API key it describes the '
        'key: `{"api_key": {"id", "prefix", "scopes"}, "organization": {…}}`.',
        "GET",
        "/api/v1/me",
        # `user` is absent for an API key and `api_key` for a person; staff belong to no
        # organization (the spec speaks of customers' contacts and keys).
        response={
            "user": nullable(
                {"id": ANY, "full_name": ANY, "email": ANY, "phone": ANY, "roles": [ROLES]}
            ),
            "api_key": nullable({"id": ANY, "prefix": ANY, "scopes": [STR]}),
            "organization": nullable(ME_ORGANIZATION),
        },
    ),
    Row(
        ID,
        "`POST /api/v1/auth/login` with one e-mail in several organizations and no "
        '`organization_id`: 409 problem with `organizations: [{"id", "name", '
        '"customer_number"}]`.',
        "POST",
        "/api/v1/auth/login",
        request={"login": ANY, "password": ANY, "organization_id?": ANY},
        response={"access_token": ANY, "refresh_token": ANY, "token_type": ANY, "expires_in": ANY},
        errors=(409, 401, 429),
    ),
    Row(
        ID,
        '`POST /api/v1/api-keys` `{"organization_id", "name", "scopes": [...]}` → 201 `{"id", '
        '"key", "prefix", "scopes"}`',
        "POST",
        "/api/v1/api-keys",
        201,
        request={"organization_id": ANY, "name": ANY, "scopes": [STR]},
        response={"id": ANY, "key": ANY, "prefix": ANY, "scopes": [STR]},
    ),
    Row(
        ID,
        "(`key` only here, once)",
        "GET",
        "/api/v1/api-keys",
        response={"items": [{"id": ANY, "prefix": ANY, "scopes": [STR], MORE: True}]},
        absent=("items[].key",),
    ),
    Row(
        ID,
        'Password recovery: `POST /api/v1/auth/password-recovery` `{"email"}` → the same 202 '
        "whether or not the e-mail is known;",
        "POST",
        "/api/v1/auth/password-recovery",
        202,
        request={"email": ANY},
        errors=(429,),
    ),
    Row(
        ID,
        '`POST …/password-recovery/verify` `{"email", "code"}` → `{"recovery_token", '
        '"organizations": [{"id", "name", "customer_number"}]}`;',
        "POST",
        "/api/v1/auth/password-recovery/verify",
        request={"email": ANY, "code": ANY},
        response={"recovery_token": ANY, "organizations": [CHOICE]},
    ),
    Row(
        ID,
        '`POST …/password-recovery/complete` `{"recovery_token", "organization_id", '
        '"new_password"}`.',
        "POST",
        "/api/v1/auth/password-recovery/complete",
        204,
        request={"recovery_token": ANY, "organization_id": ANY, "new_password": ANY},
    ),
    Row(
        ID,
        "`POST /api/v1/registration/lookup` | anyone | `{country, inn, kpp?}` → `{status: "
        '"existing" \\| "new", organizations: [{id, name, kpp, subdivision, customer_number}], '
        "prefill}`",
        "POST",
        "/api/v1/registration/lookup",
        request={"country": ANY, "inn": ANY, "kpp?": ANY},
        response={
            "status": one_of("existing", "new"),
            "organizations": [
                {"id": ANY, "name": ANY, "kpp": ANY, "subdivision": ANY, "customer_number": ANY}
            ],
            "prefill": ANY,
        },
        section=ENDPOINTS,
    ),
    # 20-licensing.md, "Shapes clients rely on"
    Row(
        LIC,
        "Contract import (`POST /api/v1/contracts`, admin or an API key with scope\n"
        "`contracts:write`; with `Idempotency-Key` a retried import creates nothing\ntwice):",
        "POST",
        "/api/v1/contracts",
        201,
        request={
            "number": ANY,
            "date": ANY,
            "licensee": {"inn": ANY, "kpp": ANY, "name": ANY, "email": ANY},
            "end_user_email?": nullable(ANY),
            "licenses": [
                {
                    "product_code": ANY,
                    "edition": ANY,
                    "seats": INT,
                    "starts_at": ANY,
                    "expires_at": ANY,
                    "key_serial": ANY,
                }
            ],
            "acts": [
                {
                    "number": ANY,
                    "date": ANY,
                    "issued_by": one_of("vendor", "partner"),
                    "items": [{"code": ANY, "name": ANY, "quantity": INT, "amount": DECIMAL}],
                }
            ],
            "documents": [{"name": ANY, "content_type": ANY, "content_base64": ANY}],
        },
        response={
            "id": ANY,
            "number": ANY,
            "licenses": [{"id": ANY, "activation_code": ANY, MORE: True}],
            "acts": [{"id": ANY, "number": ANY}],
        },
        errors=(409,),
    ),
    Row(
        LIC,
        '- `POST /api/v1/upload-requests` `{"numbers": ["ЛД-2026/0142"], "terms_version": "…",\n'
        '  "accept_terms": true}` → 201 `{"id", "status": "approved" | "pending" | "rejected",\n'
        '  "numbers", "terms_version", "accepted_at"}`',
        "POST",
        "/api/v1/upload-requests",
        201,
        request={"numbers": [STR], "terms_version": ANY, "accept_terms": BOOL},
        response=UPLOAD_REQUEST,
        errors=(422,),
    ),
    Row(
        LIC,
        '`GET /api/v1/upload-requests/terms` →\n  `{"version", "text"}`',
        "GET",
        "/api/v1/upload-requests/terms",
        response={"version": ANY, "text": ANY},
    ),
    Row(
        LIC,
        '- A license as clients see it: `{"id", "product_code", "product_name", "edition",',
        "GET",
        "/api/v1/licenses/{id}",
        response=LICENSE,
    ),
    Row(
        LIC,
        '- A license as clients see it: `{"id", "product_code", "product_name", "edition",',
        "GET",
        "/api/v1/licenses",
        response={"items": [LICENSE], "next_cursor": ANY},
    ),
    Row(
        LIC,
        '- `POST /api/v1/licenses/validate` `{"activation_code", "key_serial"?}` → 200\n'
        '  `{"valid": bool, "code": "VALID" | "MALFORMED" | "NOT_FOUND" | "SUSPENDED" |\n'
        '  "EXPIRED" | "REVOKED" | "KEY_MISMATCH", "license": {…} | null}`',
        "POST",
        "/api/v1/licenses/validate",
        request={"activation_code": ANY, "key_serial?": ANY},
        response={
            "valid": BOOL,
            "code": one_of(
                "VALID",
                "MALFORMED",
                "NOT_FOUND",
                "SUSPENDED",
                "EXPIRED",
                "REVOKED",
                "KEY_MISMATCH",
            ),
            # "`license` carries only product, edition, seats, status and expiry"
            "license": nullable(
                {
                    "product_code": ANY,
                    "edition": ANY,
                    "seats": ANY,
                    "status": LICENSE_STATUS,
                    "expires_at": ANY,
                    MORE: True,
                }
            ),
        },
        absent=(
            "license.id",
            "license.activation_code",
            "license.key_serial",
            "license.contract_id",
        ),
        errors=(429,),
    ),
    Row(
        LIC,
        '- `POST /api/v1/licenses/register` `{"activation_code"}` → 200 `{"license",\n'
        '  "certificate"}`',
        "POST",
        "/api/v1/licenses/register",
        request={"activation_code": ANY},
        response={"license": LICENSE, "certificate": CERTIFICATE},
        errors=(409,),
    ),
    Row(
        LIC,
        '- A support certificate: `{"id", "number", "tier": "free" | "paid" | "partner",\n'
        '  "status": "active" | "ended", "products": ["…"], "key_serials": ["…"],\n'
        '  "starts_at", "ends_at"}`',
        "GET",
        "/api/v1/support-certificates",
        response={"items": [CERTIFICATE], "next_cursor": ANY},
    ),
    Row(
        LIC,
        "`POST /api/v1/support-certificates`\n  (admin, or an API key with `licenses:write`) "
        '`{"organization_id" | "organization_inn",\n  "tier", "products", "key_serials", '
        '"starts_at", "ends_at", "number"?}` → 201',
        "POST",
        "/api/v1/support-certificates",
        201,
        request={
            "organization_id?": ANY,
            "organization_inn?": ANY,
            "tier": one_of("free", "paid", "partner"),
            "products": [STR],
            "key_serials": [STR],
            "starts_at": ANY,
            "ends_at": ANY,
            "number?": ANY,
        },
        response=CERTIFICATE,
    ),
    Row(
        LIC,
        '- `POST /api/v1/support-certificates/renew` `{"act_number"}` → 200 `{"certificate",\n'
        '  "renewed_until"}`, or 422 whose problem carries `reason`',
        "POST",
        "/api/v1/support-certificates/renew",
        request={"act_number": ANY},
        response={"certificate": CERTIFICATE, "renewed_until": ANY},
        errors=(422,),
    ),
    Row(
        LIC,
        '- An invoice: `{"id", "number", "status": "issued" | "paid", "reference",\n'
        '  "items": [{"code", "name", "quantity", "amount"}], "total", "issued_at",\n'
        '  "paid_at"}`',
        "GET",
        "/api/v1/invoices",
        response={"items": [INVOICE], "next_cursor": ANY},
    ),
    Row(
        LIC,
        '`POST /api/v1/invoices/{id}/payments` (admin) `{"amount", "paid_at",\n'
        '  "document_number"}`.',
        "POST",
        "/api/v1/invoices/{id}/payments",
        request={"amount": DECIMAL, "paid_at": ANY, "document_number": ANY},
        response=INVOICE,
    ),
    Row(
        LIC,
        '- `GET /api/v1/reconciliation?from=&to=` → `{"from", "to", "opening_balance",\n'
        '  "lines": [{"date", "document", "debit", "credit"}], "closing_balance"}`, money as\n'
        "  decimal strings.",
        "GET",
        "/api/v1/reconciliation",
        query=("from", "to"),
        response={
            "from": ANY,
            "to": ANY,
            "opening_balance": DECIMAL,
            "lines": [{"date": ANY, "document": ANY, "debit": DECIMAL, "credit": DECIMAL}],
            "closing_balance": DECIMAL,
        },
    ),
    # 30-dongle.md, "Shapes clients rely on"
    Row(
        DON,
        '- A key: `{"serial", "kind", "status", "organization_id", "licenses": [{"id",\n'
        '  "product_code", "status", "expires_at"}], "maintenance_ends_at", "protection":\n'
        '  {"id", "status": "pending_payment" | "active" | "lapsed" | "cancelled",\n'
        '  "price", "invoice_id", "programmed_until"} | null}`.',
        "GET",
        "/api/v1/keys/{serial}",
        response=KEY,
        differs=PRICE_DIFFERS,
    ),
    Row(
        DON,
        '- A key: `{"serial", "kind", "status", "organization_id", "licenses": [{"id",',
        "GET",
        "/api/v1/keys",
        response={"items": [KEY], "next_cursor": ANY},
        differs={"items[].protection.price": "docs/dongle.md"},
    ),
    Row(
        DON,
        '- `POST /api/v1/keys` (admin, or an API key with `licenses:write`) `{"serial",\n'
        '  "kind", "organization_id"}` (or `"organization_inn"` instead of the id, for a\n'
        "  partner that knows its customer by INN) → 201.",
        "POST",
        "/api/v1/keys",
        201,
        request={"serial": ANY, "kind": ANY, "organization_id?": ANY, "organization_inn?": ANY},
        response=KEY,
        differs=PRICE_DIFFERS,
    ),
    Row(
        DON,
        "- `POST /api/v1/keys/{serial}/protection` → 201 the subscription with `status:\n"
        '  "pending_payment"` and `price` (decimal string); the invoice id appears once\n'
        "  licensing has issued it.",
        "POST",
        "/api/v1/keys/{serial}/protection",
        201,
        response=PROTECTION,
        errors=(409, 422),
        differs={"price": "docs/dongle.md"},
    ),
    Row(
        DON,
        '- Update files: `GET /api/v1/keys/{serial}/updates` → `{"items": [{"sequence",\n'
        '  "valid_until", "generated_at", "month"}]}`',
        "GET",
        "/api/v1/keys/{serial}/updates",
        response={
            "items": [{"sequence": ANY, "valid_until": ANY, "generated_at": ANY, "month": ANY}]
        },
    ),
    Row(
        DON,
        "`GET …/updates/{sequence}` →\n  `application/jose`: a compact JWS",
        "GET",
        "/api/v1/keys/{serial}/updates/{sequence}",
        # the JWS payload is not in the OpenAPI document: services/dongle/tests/
        # test_update_files.py reads it (serial, sequence, valid_until, licenses, issued_at)
        media_type="application/jose",
    ),
    Row(
        DON,
        "the public keys are at `GET\n  /api/v1/keys/update-files/jwks.json` as a JWKS (anyone "
        "may fetch it).",
        "GET",
        "/api/v1/keys/update-files/jwks.json",
        response={"keys": [ANY]},
    ),
    Row(
        DON,
        '- `POST /api/v1/keys/{serial}/loss-report` `{"kind": "lost" | "stolen", "note"?}` →\n'
        '  200 `{"key", "restoration": "invoiced" | "not_covered", "invoice_ids": [...]}`.',
        "POST",
        "/api/v1/keys/{serial}/loss-report",
        request={"kind": one_of("lost", "stolen"), "note?": ANY},
        response={
            "key": KEY,
            "restoration": one_of("invoiced", "not_covered"),
            "invoice_ids": [ANY],
        },
        differs={"key.protection.price": "docs/dongle.md"},
    ),
    Row(
        DON,
        '- `POST /api/v1/admin/prolongation-runs` `{"month": "2026-12"}` → 200 `{"month",\n'
        '  "generated", "already_done"}`; a month that has not begun (Moscow time) is a 422.',
        "POST",
        "/api/v1/admin/prolongation-runs",
        request={"month": STR},
        response={"month": ANY, "generated": INT, "already_done": INT},
        errors=(422,),
    ),
    Row(
        DON,
        '- A subscription\'s history: `{"items": [{"at", "from", "to", "reason", "actor"}]}`.',
        "GET",
        "/api/v1/keys/{serial}/protection/history",
        response={"items": [{"at": ANY, "from": ANY, "to": ANY, "reason": ANY, "actor": ANY}]},
    ),
    # 40-helpdesk.md, "Shapes clients rely on"
    Row(
        HD,
        '- `POST /api/v1/tickets` `{"subject", "description", "product_code",\n'
        '  "product_version"?, "os"?, "category", "certificate_number"?, "act_number"?',
        "POST",
        "/api/v1/tickets",
        201,
        request={
            "subject": ANY,
            "description": ANY,
            "product_code": ANY,
            "product_version?": ANY,
            "os?": ANY,
            # rule 4 lists the categories
            "category": one_of(
                "question", "incident", "remote_session", "support_renewal", "other"
            ),
            "certificate_number?": ANY,
            "act_number?": ANY,
            "organization_id?": ANY,
            "suggestion_id?": ANY,
        },
        response=TICKET,
    ),
    Row(
        HD,
        '- `GET /api/v1/tickets/{id}` adds `"messages": [{"id", "kind": "reply" | "note" |\n'
        '  "system", "author": {"id", "name", "role"}, "body", "created_at"}]`',
        "GET",
        "/api/v1/tickets/{id}",
        response=TICKET_DETAIL,
    ),
    Row(
        HD,
        '- `POST /api/v1/tickets/{id}/status` `{"status", "reason"?}`; a move the rules\n'
        "  do not allow is a 409 naming the current status.",
        "POST",
        "/api/v1/tickets/{id}/status",
        # the endpoint table: agents `in_progress`, `waiting_for_customer`,
        # `solution_proposed`, `closed`; customers `closed` (accept), `reopened`
        request={
            "status": one_of(
                "in_progress", "waiting_for_customer", "solution_proposed", "closed", "reopened"
            ),
            "reason?": ANY,
        },
        errors=(409,),
    ),
    Row(
        HD,
        '- `POST /api/v1/kb/suggest` `{"subject", "description", "product_code"?}` →\n'
        '  `{"suggestion_id", "items": [{"id", "title", "snippet", "score"}]}`',
        "POST",
        "/api/v1/kb/suggest",
        request={"subject": ANY, "description": ANY, "product_code?": ANY},
        response={"suggestion_id": ANY, "items": [FOUND]},
    ),
    Row(
        HD,
        '`GET /api/v1/kb/search?q=` → `{"items": [same]}`',
        "GET",
        "/api/v1/kb/search",
        query=("q",),
        response={"items": [FOUND]},
    ),
    Row(
        HD,
        "`POST\n  /api/v1/kb/articles` (staff) "
        '`{"title", "body", "products", "tags", "status":\n  "draft" | "published"}`',
        "POST",
        "/api/v1/kb/articles",
        201,
        request={
            "title": ANY,
            "body": ANY,
            "products": [STR],
            "tags": [STR],
            "status": one_of("draft", "published"),
        },
    ),
    Row(
        HD,
        '`POST /api/v1/kb/articles/{id}/feedback` `{"helpful",\n  "reason"?, "comment"?}` → 204',
        "POST",
        "/api/v1/kb/articles/{id}/feedback",
        204,
        # rule 9 lists the reasons
        request={
            "helpful": BOOL,
            "reason?": nullable(
                one_of("not_relevant", "unclear", "outdated", "incomplete", "other")
            ),
            "comment?": ANY,
        },
    ),
    Row(
        HD,
        "`GET /api/v1/kb/stats` (staff) → per article\n  shown / helpful / not helpful by "
        "reason, and `deflection_rate`.",
        "GET",
        "/api/v1/kb/stats",
        response={
            "items": [{"shown": INT, "helpful": INT, "not_helpful_by_reason": ANY, MORE: True}],
            "deflection_rate": ANY,
            MORE: True,
        },
    ),
    Row(
        HD,
        '- `POST /api/v1/callbacks` `{"name", "phone", "topic"}` → 201 `{"id",\n'
        '  "scheduled_for"}`.',
        "POST",
        "/api/v1/callbacks",
        201,
        request={"name": ANY, "phone": ANY, "topic": ANY},
        response={"id": ANY, "scheduled_for": ANY},
        errors=(429,),
    ),
    Row(
        HD,
        "`GET /api/v1/calendar/status` | anyone | `{open, now, next_open_at, closes_at}`",
        "GET",
        "/api/v1/calendar/status",
        response={"open": BOOL, "now": ANY, "next_open_at": ANY, "closes_at": ANY},
        section=ENDPOINTS,
    ),
]


# --- Reading the merged document -----------------------------------------------------------


def normalized(path: str) -> str:
    """Path parameters' names are not on the wire: `/keys/{serial}` is `/keys/{}`."""
    return re.sub(r"\{[^}]*\}", "{}", path)


class Schemas:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The schema behind `$ref`s and `anyOf: [X, null]`, and whether it may be null."""
        may_be_null = False
        for _ in range(32):
            if "$ref" in schema:
                schema = self.components[schema["$ref"].rpartition("/")[2]]
            elif "anyOf" in schema or "oneOf" in schema:
                alternatives = schema.get("anyOf") or schema.get("oneOf") or []
                others = [a for a in alternatives if a.get("type") != "null"]
                may_be_null = may_be_null or len(others) < len(alternatives)
                if len(others) != 1:
                    return schema, may_be_null
                schema = others[0]
            elif "allOf" in schema and len(schema["allOf"]) == 1:
                schema = schema["allOf"][0]
            else:
                may_be_null = may_be_null or schema.get("type") == "null"
                return schema, may_be_null
        raise AssertionError("a $ref loop")

    def has(self, schema: dict[str, Any], dotted: str) -> bool:
        """Whether the answer's schema has the field at `dotted` (`items[].key`)."""
        for name in dotted.split("."):
            resolved, _ = self.resolve(schema)
            if name.endswith("[]"):
                name = name.removesuffix("[]")
                schema = resolved.get("properties", {}).get(name)
                if schema is None:
                    return False
                schema = self.resolve(schema)[0].get("items", {})
            else:
                schema = resolved.get("properties", {}).get(name)
                if schema is None:
                    return False
        return True

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for documented, item in self.document["paths"].items():
            if normalized(documented) == normalized(path) and method.lower() in item:
                return documented, item[method.lower()]
        return None


def join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def compare(
    schemas: Schemas, spec: Any, schema: dict[str, Any], where: str, request: bool
) -> Iterator[tuple[str, str]]:
    """(field, finding) for every way `schema` departs from the spec's `spec` at `where`."""
    resolved, may_be_null = schemas.resolve(schema)
    spec_allows_null = isinstance(spec, Nullable)
    if spec_allows_null:
        spec = spec.inner
    if request and spec_allows_null and not may_be_null:
        yield where, "the spec lets a client send null, the implementation refuses it"
    if not request and may_be_null and not spec_allows_null and spec is not ANY:
        yield where, "may be null in the answer; the spec gives it a value"

    if isinstance(spec, dict):
        properties = resolved.get("properties")
        if resolved.get("type") not in (None, "object") or properties is None:
            yield where, f"is not an object ({resolved.get('type')})"
            return
        required = set(resolved.get("required", []))
        named = set()
        for key, value in spec.items():
            if key == MORE:
                continue
            name, optional = key.removesuffix("?"), key.endswith("?")
            named.add(name)
            if name not in properties:
                yield join(where, name), "missing"
                continue
            if request and optional and name in required:
                yield join(where, name), "required, but the spec makes it optional"
            yield from compare(schemas, value, properties[name], join(where, name), request)
        if request and MORE not in spec:
            for extra in sorted(required - named):
                yield join(where, extra), "required, but the spec does not name it"
    elif isinstance(spec, list):
        if resolved.get("type") != "array":
            yield where, f"is not a list ({resolved.get('type')})"
            return
        yield from compare(schemas, spec[0], resolved.get("items", {}), f"{where}[]", request)
    elif isinstance(spec, Value):
        if spec.type is not None and resolved.get("type") != spec.type:
            yield where, f"is {resolved.get('type')}, the spec says {spec.label}"
        if spec.enum:
            values = resolved.get("enum") or ([resolved["const"]] if "const" in resolved else None)
            if values is None or set(values) != set(spec.enum):
                yield where, f"takes {values}, the spec says {' | '.join(spec.enum)}"


def findings(schemas: Schemas, row: Row) -> list[tuple[str, str]]:
    found = schemas.operation(row.method, row.path)
    if found is None:
        return [("", "no such operation in the merged document")]
    _, operation = found
    result: list[tuple[str, str]] = []
    responses = operation.get("responses", {})
    successes = sorted(code for code in responses if code.startswith("2"))
    if successes != [str(row.status)]:
        result.append(("", f"answers {successes}, the spec says {row.status}"))
    for status in row.errors:
        if str(status) not in responses:
            result.append(("", f"does not document the {status} the spec names"))
    parameters = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
    result += [(name, "query parameter missing") for name in row.query if name not in parameters]
    if row.request is not None:
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            result.append(("", "takes no JSON body"))
        else:
            result += compare(schemas, row.request, body["schema"], "", request=True)
    success = responses.get(str(row.status), {})
    content = success.get("content", {})
    if row.response is not None or row.media_type != "application/json":
        if row.media_type not in content:
            result.append(("", f"does not answer {row.media_type} ({sorted(content)})"))
        elif row.response is not None:
            schema = content[row.media_type].get("schema", {})
            result += compare(schemas, row.response, schema, "", request=False)
            result += [
                (name, "in the answer; the spec keeps it out")
                for name in row.absent
                if schemas.has(schema, name)
            ]
    return result


@pytest.fixture(scope="module")
async def merged(stack: Stack) -> Schemas:
    response = await stack.gateway.get("/openapi.json")
    assert response.status_code == 200, response.text
    document = response.json()
    assert not document.get("x-kabinet-unavailable"), document.get("x-kabinet-unavailable")
    return Schemas(document)


@pytest.mark.parametrize("row", CONTRACT, ids=lambda row: row.id)
async def test_the_merged_document_keeps_the_shape_clients_rely_on(merged: Schemas, row: Row):
    found = findings(merged, row)
    unexpected = [
        f"{field or '(operation)'}: {what}" for field, what in found if field not in row.differs
    ]
    assert not unexpected, (
        f"{row.spec}, {row.section!r}: {row.method} {row.path} departs from the spec:\n  "
        + "\n  ".join(unexpected)
    )
    # A documented difference must still be there, and documented; once the implementation
    # follows the spec, the row and the document are cleaned up.
    still = {field for field, _ in found}
    for field_path, doc in row.differs.items():
        assert field_path in still, (
            f"{row.spec}: {row.method} {row.path} `{field_path}` now follows the spec: "
            f"remove it from the row's `differs` and from {doc}"
        )
        assert_documented(doc, row.path, field_path)


def differences_section(doc: str) -> str:
    text = (ROOT / doc).read_text(encoding="utf-8")
    match = re.search(r"^## Differences from the spec\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"{doc} has no '## Differences from the spec' section"
    return match.group(1)


def assert_documented(doc: str, path: str, field_path: str) -> None:
    section = differences_section(doc)
    name = field_path.rpartition(".")[2].removesuffix("[]")
    assert path in section and f"`{name}`" in section, (
        f"{doc}, 'Differences from the spec', says nothing of {path} `{name}`"
    )


def spec_dir() -> Path | None:
    return next((d for d in SPEC_DIRS if (d / "10-identity.md").is_file()), None)


def spec_section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no section {title!r}"
    return match.group(1)


@pytest.mark.parametrize("row", CONTRACT, ids=lambda row: row.id)
def test_each_row_quotes_its_spec_section(row: Row):
    directory = spec_dir()
    if directory is None:
        pytest.skip("the spec is not beside this checkout")
    section = spec_section((directory / row.spec).read_text(encoding="utf-8"), row.section)
    squeeze = lambda text: " ".join(text.split())  # noqa: E731
    assert squeeze(row.quote) in squeeze(section), (
        f"{row.spec}, {row.section!r} does not say: {row.quote}"
    )


def test_every_shapes_section_is_in_the_table():
    """Each path a "Shapes clients rely on" section spells is some row's path."""
    directory = spec_dir()
    if directory is None:
        pytest.skip("the spec is not beside this checkout")
    for spec in (ID, LIC, DON, HD):
        section = spec_section((directory / spec).read_text(encoding="utf-8"), SHAPES)
        rows = {normalized(row.path) for row in CONTRACT if row.spec == spec}
        for path in re.findall(r"/api/v1/[^\s`?]*", section):
            assert normalized(path.rstrip(".,;:)")) in rows, f"{spec}: {path} has no row"


def test_no_route_leaves_fields_out_of_its_answer():
    """The answers carry every field of their model: nothing left out when unset or null."""
    for service, create in APPS.items():
        for route in create().routes:
            if isinstance(route, APIRoute):
                left_out = (
                    route.response_model_exclude_none
                    or route.response_model_exclude_unset
                    or route.response_model_exclude_defaults
                )
                assert not left_out, f"{service}: {route.path} leaves fields out of its answer"


PROBLEM = {"type": STR, "title": STR, "status": INT, "detail": ANY, "errors": ANY}


def test_problems_and_lists_have_the_platforms_shape(merged: Schemas):
    """50-platform.md, "API conventions": problems carry `type`, `title`, `status`, `detail`
    and `errors: [{field, message}]`; lists answer `{items, next_cursor}`."""
    problem = {"type": "object", "$ref": "#/components/schemas/Problem"}
    assert not list(compare(merged, PROBLEM, problem, "Problem", request=False))
    errors = merged.resolve(merged.components["Problem"]["properties"]["errors"])[0]
    field_error = {"field": STR, "message": STR}
    assert not list(compare(merged, [field_error], errors, "Problem.errors", request=False))
    for path in ("/api/v1/licenses", "/api/v1/keys", "/api/v1/tickets", "/api/v1/contracts"):
        found = merged.operation("GET", path)
        assert found, path
        parameters = {p["name"] for p in found[1].get("parameters", [])}
        assert {"limit", "cursor"} <= parameters, f"{PLAT}: GET {path} takes no limit/cursor"
        page = found[1]["responses"]["200"]["content"]["application/json"]["schema"]
        shape = {"items": [ANY], "next_cursor": ANY}
        assert not list(compare(merged, shape, page, path, request=False)), path


# Every method and path of the four "Endpoints (through the gateway)" tables, one per line.
ENDPOINT_TABLES: list[tuple[str, str, str]] = [
    (ID, "POST", "/api/v1/registration/lookup"),
    (ID, "POST", "/api/v1/registration"),
    (ID, "POST", "/api/v1/registration/{id}/verify"),
    (ID, "POST", "/api/v1/registration/{id}/resend"),
    (ID, "GET", "/api/v1/directory/banks/{bik}"),
    (ID, "GET", "/api/v1/directory/postal-codes/{index}"),
    (ID, "POST", "/api/v1/auth/login"),
    (ID, "POST", "/api/v1/auth/accountant"),
    (ID, "POST", "/api/v1/auth/refresh"),
    (ID, "POST", "/api/v1/auth/logout"),
    (ID, "POST", "/api/v1/auth/password-recovery"),
    (ID, "POST", "/api/v1/auth/password-recovery/verify"),
    (ID, "POST", "/api/v1/auth/password-recovery/complete"),
    (ID, "GET", "/api/v1/auth/jwks.json"),
    (ID, "GET", "/api/v1/me"),
    (ID, "POST", "/api/v1/me/password"),
    (ID, "GET", "/api/v1/organizations/{id}"),
    (ID, "GET", "/api/v1/organizations/{id}/contacts"),
    (ID, "GET", "/api/v1/organizations/{id}/memberships"),
    (ID, "POST", "/api/v1/organizations/{id}/memberships/{user_id}/approve"),
    (ID, "POST", "/api/v1/organizations/{id}/memberships/{user_id}/decline"),
    (ID, "POST", "/api/v1/change-requests"),
    (ID, "GET", "/api/v1/change-requests"),
    (ID, "POST", "/api/v1/change-requests/{id}/approve"),
    (ID, "POST", "/api/v1/change-requests/{id}/reject"),
    (ID, "POST", "/api/v1/staff"),
    (ID, "POST", "/api/v1/api-keys"),
    (ID, "GET", "/api/v1/api-keys"),
    (ID, "DELETE", "/api/v1/api-keys/{id}"),
    (LIC, "GET", "/api/v1/products"),
    (LIC, "GET", "/api/v1/price-list"),
    (LIC, "POST", "/api/v1/products"),
    (LIC, "POST", "/api/v1/price-list/versions"),
    (LIC, "POST", "/api/v1/contracts"),
    (LIC, "GET", "/api/v1/contracts"),
    (LIC, "GET", "/api/v1/contracts/{id}"),
    (LIC, "POST", "/api/v1/upload-requests"),
    (LIC, "GET", "/api/v1/upload-requests"),
    (LIC, "POST", "/api/v1/upload-requests/{id}/approve"),
    (LIC, "POST", "/api/v1/upload-requests/{id}/reject"),
    (LIC, "GET", "/api/v1/licenses"),
    (LIC, "GET", "/api/v1/licenses/{id}"),
    (LIC, "POST", "/api/v1/licenses/register"),
    (LIC, "POST", "/api/v1/licenses/validate"),
    (LIC, "POST", "/api/v1/licenses/{id}/renew"),
    (LIC, "POST", "/api/v1/licenses/{id}/suspend"),
    (LIC, "POST", "/api/v1/licenses/{id}/reinstate"),
    (LIC, "POST", "/api/v1/licenses/{id}/revoke"),
    (LIC, "GET", "/api/v1/support-certificates"),
    (LIC, "POST", "/api/v1/support-certificates/register"),
    (LIC, "POST", "/api/v1/support-certificates/renew"),
    (LIC, "POST", "/api/v1/support-certificates"),
    (LIC, "GET", "/api/v1/invoices"),
    (LIC, "POST", "/api/v1/invoices/{id}/payments"),
    (LIC, "GET", "/api/v1/acts"),
    (LIC, "GET", "/api/v1/reconciliation"),
    (LIC, "GET", "/api/v1/documents/{id}"),
    (DON, "GET", "/api/v1/keys"),
    (DON, "GET", "/api/v1/keys/{serial}"),
    (DON, "POST", "/api/v1/keys"),
    (DON, "POST", "/api/v1/keys/{serial}/protection"),
    (DON, "DELETE", "/api/v1/keys/{serial}/protection"),
    (DON, "GET", "/api/v1/keys/{serial}/protection/history"),
    (DON, "GET", "/api/v1/keys/{serial}/updates"),
    (DON, "GET", "/api/v1/keys/{serial}/updates/{sequence}"),
    (DON, "POST", "/api/v1/keys/{serial}/loss-report"),
    (DON, "POST", "/api/v1/keys/{serial}/replacement"),
    (DON, "POST", "/api/v1/keys/{serial}/found"),
    (DON, "POST", "/api/v1/admin/prolongation-runs"),
    (HD, "POST", "/api/v1/tickets"),
    (HD, "GET", "/api/v1/tickets"),
    (HD, "GET", "/api/v1/tickets/{id}"),
    (HD, "POST", "/api/v1/tickets/{id}/messages"),
    (HD, "POST", "/api/v1/tickets/{id}/status"),
    (HD, "POST", "/api/v1/tickets/{id}/assign"),
    (HD, "POST", "/api/v1/tickets/{id}/remote-session"),
    (HD, "POST", "/api/v1/tickets/{id}/attachments"),
    (HD, "GET", "/api/v1/tickets/{id}/attachments/{aid}"),
    (HD, "GET", "/api/v1/kb/articles"),
    (HD, "GET", "/api/v1/kb/articles/{id}"),
    (HD, "GET", "/api/v1/kb/search"),
    (HD, "POST", "/api/v1/kb/suggest"),
    (HD, "POST", "/api/v1/kb/articles/{id}/feedback"),
    (HD, "POST", "/api/v1/kb/articles"),
    (HD, "PUT", "/api/v1/kb/articles/{id}"),
    (HD, "GET", "/api/v1/calendar/status"),
    (HD, "GET", "/api/v1/calendar/days"),
    (HD, "PUT", "/api/v1/calendar/days/{date}"),
    (HD, "POST", "/api/v1/callbacks"),
    (HD, "GET", "/api/v1/callbacks"),
    (HD, "POST", "/api/v1/callbacks/{id}/done"),
]


@pytest.mark.parametrize(
    ("spec", "method", "path"),
    [pytest.param(*endpoint) for endpoint in ENDPOINT_TABLES],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_every_path_of_the_endpoint_tables_is_served(
    merged: Schemas, spec: str, method: str, path: str
):
    assert merged.operation(method, path), (
        f"{spec}, {ENDPOINTS!r}: {method} {path} is not in the merged document"
    )


# --- Walked for real through the gateway ---------------------------------------------------


def conforms(spec: Any, value: Any, where: str = "") -> Iterator[str]:
    """How an answer on the wire departs from the spec's shape (every field there, enums)."""
    if isinstance(spec, Nullable):
        if value is None:
            return
        spec = spec.inner
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            yield f"{where or '(body)'} is not an object: {value!r}"
            return
        for key in spec:
            if key == MORE:
                continue
            name = key.removesuffix("?")
            if name in value:
                yield from conforms(spec[key], value[name], join(where, name))
            elif not key.endswith("?"):
                yield f"{join(where, name)} missing"
    elif isinstance(spec, list):
        if not isinstance(value, list):
            yield f"{where} is not a list: {value!r}"
            return
        for index, item in enumerate(value):
            yield from conforms(spec[0], item, f"{where}[{index}]")
    elif isinstance(spec, Value) and spec is not ANY:
        types: dict[str, type | tuple[type, ...]] = {
            "string": str,
            "boolean": bool,
            "integer": int,
            "number": (int, float),
        }
        expected = types.get(spec.type or "")
        if expected is not None and (not isinstance(value, expected) or value is None):
            yield f"{where} is {value!r}, the spec says {spec.label}"
        if spec.enum and value not in spec.enum:
            yield f"{where} is {value!r}, the spec says {spec.label}"
        if spec is DECIMAL and not re.fullmatch(r"-?\d+\.\d{2}", str(value)):
            yield f"{where} is {value!r}, not a decimal string"


def assert_shape(row_path: str, method: str, answer: Any, status: int, *, spec: Any = None):
    """The answer has the status and the fields the table's row for it gives."""
    rows = [
        row
        for row in CONTRACT
        if (row.method, normalized(row.path)) == (method, normalized(row_path))
        and row.response is not None
    ]
    assert answer.status_code == status, f"{method} {row_path}: {answer.status_code} {answer.text}"
    for shape in [spec] if spec is not None else [row.response for row in rows]:
        wrong = list(conforms(shape, answer.json()))
        assert not wrong, f"{method} {row_path}: " + "; ".join(wrong)
    # 50-platform.md, "API conventions": "ISO 8601 times in UTC with `Z`".
    local = [moment for moment in moments(answer.json()) if not moment.endswith("Z")]
    assert not local, f"{method} {row_path}: times not in UTC with Z: {local}"


MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def moments(value: Any) -> Iterator[str]:
    """Every date-time string of a JSON value."""
    if isinstance(value, dict):
        for item in value.values():
            yield from moments(item)
    elif isinstance(value, list):
        for item in value:
            yield from moments(item)
    elif isinstance(value, str) and MOMENT.match(value):
        yield value


def spec_organization() -> dict[str, Any]:
    """The spec's example organization, with requisites of its own (the example's INN belongs
    to a real company and its settlement account is elided)."""
    return new_organization(okpo="00032537")


CONTACT_EXAMPLE = {
    "full_name": "Петров Пётр Петрович",
    "phone": "+79161234567",
    "email": "petrov@example.ru",
    "password": PASSWORD,
}


async def register(stack: Stack, email: str) -> dict[str, Any]:
    """`POST /api/v1/registration` with the spec's example body, then both codes."""
    contact = {**CONTACT_EXAMPLE, "phone": phone(), "email": email}
    organization = spec_organization()
    mailed_before = len(stack.mail.to(email))
    started = await stack.gateway.post(
        "/api/v1/registration", json={"organization": organization, "contact": contact}
    )
    assert_shape("/api/v1/registration", "POST", started, 201)
    registration = started.json()
    assert (registration["status"], sorted(registration["pending"])) == (
        "pending_verification",
        ["email", "phone"],
    )
    path = f"/api/v1/registration/{registration['registration_id']}/verify"
    # The code goes out after the answer; an address registered before has older mails.
    await eventually(lambda: len(stack.mail.to(email)) > mailed_before)
    code = stack.mail.last_code(email, about="для регистрации")
    verified = await stack.gateway.post(path, json={"channel": "email", "code": code})
    assert verified.is_success, verified.text
    # "Codes reach people as text containing the 6 digits; the SMS webhook body is
    # {"to": "+7…", "text": "…"}" (the sink reads exactly these two fields).
    code = await arrived(lambda: stack.sms.last_code(contact["phone"]))
    completed = await stack.gateway.post(path, json={"channel": "phone", "code": code})
    assert_shape(path, "POST", completed, 200)
    assert completed.json()["status"] == "completed"
    return {**completed.json(), "email": email, "inn": organization["inn"]}


async def signed_in(stack: Stack, customer: dict[str, Any]) -> dict[str, str]:
    answer = await stack.gateway.post(
        "/api/v1/auth/login",
        json={
            "login": customer["email"],
            "password": PASSWORD,
            "organization_id": customer["organization_id"],
        },
    )
    assert_shape("/api/v1/auth/login", "POST", answer, 200)
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
async def customer(stack: Stack) -> dict[str, Any]:
    """A company registered with the spec's example body, and its contact's headers."""
    registered = await register(stack, f"petrov-{uuid.uuid4().hex[:8]}@example.ru")
    return {**registered, "headers": await signed_in(stack, registered)}


async def test_identity_shapes_walked(stack: Stack, customer: dict[str, Any]):
    me = await stack.gateway.get("/api/v1/me", headers=customer["headers"])
    assert_shape("/api/v1/me", "GET", me, 200)
    assert set(me.json()["user"]["roles"]) == {"contact", "responsible"}

    # The same e-mail in a second organization: signing in asks which one (409).
    second = await register(stack, customer["email"])
    asked = await stack.gateway.post(
        "/api/v1/auth/login", json={"login": customer["email"], "password": PASSWORD}
    )
    assert asked.status_code == 409, asked.text
    choices = {"organizations": [CHOICE]}
    assert_shape("/api/v1/auth/login", "POST", asked, 409, spec=choices)
    assert {o["id"] for o in asked.json()["organizations"]} == {
        customer["organization_id"],
        second["organization_id"],
    }
    await signed_in(stack, second)

    # Password recovery: the same 202 for a known and an unknown e-mail.
    answers = [
        await stack.gateway.post("/api/v1/auth/password-recovery", json={"email": email})
        for email in (customer["email"], f"nobody-{uuid.uuid4().hex[:8]}@example.ru")
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    code = await arrived(
        lambda: stack.mail.last_code(customer["email"], about="восстановления пароля")
    )
    verified = await stack.gateway.post(
        "/api/v1/auth/password-recovery/verify", json={"email": customer["email"], "code": code}
    )
    assert_shape("/api/v1/auth/password-recovery/verify", "POST", verified, 200)
    assert len(verified.json()["organizations"]) == 2
    completed = await complete_recovery(
        stack,
        verified.json()["recovery_token"],
        second["organization_id"],
        "Lyutik-New-Secret-2026",
    )
    assert completed.status_code == 204, completed.text

    # A partner key, shown once, and what `GET /api/v1/me` says of it.
    admin = await sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    issued = await issue_api_key(stack, admin, customer["organization_id"], ["read"], name="ЭДО")
    assert_shape("/api/v1/api-keys", "POST", issued, 201)
    described = await stack.gateway.get("/api/v1/me", headers={"X-API-Key": issued.json()["key"]})
    assert_shape("/api/v1/me", "GET", described, 200)
    assert described.json()["api_key"]["prefix"] == issued.json()["prefix"]
    assert described.json()["organization"]["id"] == customer["organization_id"]

    # Wrong credentials: one 401, the same for an unknown login and a wrong password.
    wrong = [
        await stack.gateway.post("/api/v1/auth/login", json={"login": login, "password": "x" * 9})
        for login in (customer["email"], f"nobody-{uuid.uuid4().hex[:8]}@example.ru")
    ]
    assert [answer.status_code for answer in wrong] == [401, 401]
    assert [answer.json()["detail"] for answer in wrong] == [wrong[0].json()["detail"]] * 2

    # A code asked for again too soon: 429 with Retry-After.
    started = await stack.gateway.post(
        "/api/v1/registration",
        json={
            "organization": spec_organization(),
            "contact": {**CONTACT_EXAMPLE, "phone": phone(), "email": f"x{uuid.uuid4().hex}@ya.ru"},
        },
    )
    assert started.status_code == 201, started.text
    resent = await stack.gateway.post(
        f"/api/v1/registration/{started.json()['registration_id']}/resend",
        json={"channel": "email"},
    )
    assert resent.status_code == 429, resent.text
    assert int(resent.headers["Retry-After"]) > 0

    # A validation problem names each wrong field by its dotted path.
    broken = {**spec_organization(), "inn": "7707083894"}
    refused = await stack.gateway.post(
        "/api/v1/registration",
        json={"organization": broken, "contact": {**CONTACT_EXAMPLE, "phone": phone()}},
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = {**PROBLEM, "errors": [{"field": STR, "message": STR}]}
    assert_shape("/api/v1/registration", "POST", refused, 422, spec=problem)
    assert "organization.inn" in [error["field"] for error in refused.json()["errors"]]


async def test_licensing_shapes_walked(stack: Stack, customer: dict[str, Any]):
    admin = await sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    number = f"ЛД-2026/{uuid.uuid4().hex[:6]}"
    serial = f"3-{uuid.uuid4().int % 10**7:07d}"
    # The spec's example, with a number, serial and licensee of this run.
    contract = contract_body(
        number=number,
        date="2026-11-20",
        licensee={
            "inn": customer["inn"],
            "kpp": "773601001",
            "name": "ООО Ромашка",
            "email": customer["email"],
        },
        acts=[act_body(date="2026-11-20")],
    )
    contract["licenses"][0].update(
        starts_at="2026-11-20", expires_at="2027-11-19", key_serial=serial
    )
    imported = await stack.gateway.post("/api/v1/contracts", json=contract, headers=admin)
    assert_shape("/api/v1/contracts", "POST", imported, 201)
    assert imported.json()["number"] == number
    assert [act["number"] for act in imported.json()["acts"]] == [contract["acts"][0]["number"]]
    code = imported.json()["licenses"][0]["activation_code"]
    again = await stack.gateway.post("/api/v1/contracts", json=contract, headers=admin)
    assert again.status_code == 409, again.text

    validated = await stack.gateway.post(
        "/api/v1/licenses/validate", json={"activation_code": code, "key_serial": serial}
    )
    assert_shape("/api/v1/licenses/validate", "POST", validated, 200)
    assert validated.json()["code"] == "VALID"
    # "`license` carries only product, edition, seats, status and expiry"
    assert not {"id", "activation_code", "key_serial", "contract_id"} & set(
        validated.json()["license"]
    )
    malformed = await stack.gateway.post(
        "/api/v1/licenses/validate", json={"activation_code": "NOT-A-CODE"}
    )
    assert_shape("/api/v1/licenses/validate", "POST", malformed, 200)
    assert malformed.json() == {"valid": False, "code": "MALFORMED", "license": None}

    contact = customer["headers"]
    await eventually(lambda: licensing_knows(stack, customer["email"]))
    terms = await stack.gateway.get("/api/v1/upload-requests/terms")
    assert_shape("/api/v1/upload-requests/terms", "GET", terms, 200)
    asked = {"numbers": [number], "terms_version": terms.json()["version"], "accept_terms": True}
    refused = await stack.gateway.post(
        "/api/v1/upload-requests", json={**asked, "accept_terms": False}, headers=contact
    )
    assert refused.status_code == 422, refused.text
    old_terms = await stack.gateway.post(
        "/api/v1/upload-requests", json={**asked, "terms_version": "1900-01"}, headers=contact
    )
    assert old_terms.status_code == 422, old_terms.text
    uploaded = await stack.gateway.post("/api/v1/upload-requests", json=asked, headers=contact)
    assert_shape("/api/v1/upload-requests", "POST", uploaded, 201)
    assert uploaded.json()["status"] == "approved"
    licenses = await stack.gateway.get("/api/v1/licenses", headers=contact)
    assert_shape("/api/v1/licenses", "GET", licenses, 200)
    assert [lic["activation_code"] for lic in licenses.json()["items"]] == [code]

    renewal = await stack.gateway.post(
        "/api/v1/support-certificates/renew", json={"act_number": "А-НЕТ-ТАКОГО"}, headers=contact
    )
    assert renewal.status_code == 422, renewal.text
    assert renewal.json()["reason"] == "not_found"
    statement = await stack.gateway.get(
        "/api/v1/reconciliation", params={"from": "2026-11-01", "to": "2026-11-30"}, headers=contact
    )
    assert_shape("/api/v1/reconciliation", "GET", statement, 200)
    invoices = await stack.gateway.get("/api/v1/invoices", headers=contact)
    assert_shape("/api/v1/invoices", "GET", invoices, 200)

    # A certificate issued for the company's INN, then "my certificates".
    certificate = await stack.gateway.post(
        "/api/v1/support-certificates",
        json={
            "organization_inn": customer["inn"],
            "tier": "paid",
            "products": ["BAZIS_FURNITURE"],
            "key_serials": [serial],
            "starts_at": "2026-11-20T00:00:00Z",
            "ends_at": "2099-11-19T21:00:00Z",
        },
        headers=admin,
    )
    assert_shape("/api/v1/support-certificates", "POST", certificate, 201)
    mine = await stack.gateway.get("/api/v1/support-certificates", headers=contact)
    assert_shape("/api/v1/support-certificates", "GET", mine, 200)
    assert certificate.json()["id"] in [item["id"] for item in mine.json()["items"]]

    # A product key registered into the account starts free support.
    contract["number"] = f"ЛД-2026/{uuid.uuid4().hex[:6]}"
    contract["acts"] = []
    contract["licenses"][0]["key_serial"] = None
    loose = await stack.gateway.post("/api/v1/contracts", json=contract, headers=admin)
    assert loose.status_code == 201, loose.text
    registered = await stack.gateway.post(
        "/api/v1/licenses/register",
        json={"activation_code": loose.json()["licenses"][0]["activation_code"]},
        headers=contact,
    )
    assert_shape("/api/v1/licenses/register", "POST", registered, 200)
    assert registered.json()["certificate"]["tier"] == "free"


async def test_dongle_shapes_walked(stack: Stack, customer: dict[str, Any]):
    admin = await sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    serial = f"G-{uuid.uuid4().hex[:10]}"
    imported = await stack.gateway.post(
        "/api/v1/keys",
        json={"serial": serial, "kind": "guardant", "organization_id": customer["organization_id"]},
        headers=admin,
    )
    assert_shape("/api/v1/keys", "POST", imported, 201)
    contact = customer["headers"]
    key = await stack.gateway.get(f"/api/v1/keys/{serial}", headers=contact)
    assert_shape("/api/v1/keys/{serial}", "GET", key, 200)
    assert key.json()["protection"] is None

    # Not CodeMeter: a 422 naming the rule.
    protection = await stack.gateway.post(f"/api/v1/keys/{serial}/protection", headers=contact)
    assert protection.status_code == 422, protection.text
    assert protection.json()["rule"] == "codemeter_only"
    updates = await stack.gateway.get(f"/api/v1/keys/{serial}/updates", headers=contact)
    assert_shape("/api/v1/keys/{serial}/updates", "GET", updates, 200)
    jwks = await stack.gateway.get("/api/v1/keys/update-files/jwks.json")
    assert_shape("/api/v1/keys/update-files/jwks.json", "GET", jwks, 200)
    assert jwks.json()["keys"]

    not_begun = await stack.gateway.post(
        "/api/v1/admin/prolongation-runs", json={"month": "2999-12"}, headers=admin
    )
    assert not_begun.status_code == 422, not_begun.text

    lost = await stack.gateway.post(
        f"/api/v1/keys/{serial}/loss-report", json={"kind": "lost"}, headers=contact
    )
    assert_shape("/api/v1/keys/{serial}/loss-report", "POST", lost, 200)
    assert (lost.json()["restoration"], lost.json()["invoice_ids"]) == ("not_covered", [])
    assert lost.json()["key"]["status"] == "lost"


async def test_helpdesk_shapes_walked(stack: Stack, customer: dict[str, Any]):
    contact = customer["headers"]
    suggested = await suggest(stack)
    assert_shape("/api/v1/kb/suggest", "POST", suggested, 200)
    assert len(suggested.json()["items"]) <= 5
    found = await stack.gateway.get("/api/v1/kb/search", params={"q": "лицензия"})
    assert_shape("/api/v1/kb/search", "GET", found, 200)

    opened = await open_ticket(stack, contact, suggestion_id=suggested.json()["suggestion_id"])
    assert_shape("/api/v1/tickets", "POST", opened, 201)
    ticket = opened.json()
    assert re.fullmatch(r"HD-\d+", ticket["number"]), ticket["number"]
    assert (ticket["status"], ticket["tier"], ticket["first_response_due_at"]) == (
        "new",
        "none",
        None,
    )
    assert ticket["breached"] is False
    detail = await stack.gateway.get(f"/api/v1/tickets/{ticket['id']}", headers=contact)
    assert_shape("/api/v1/tickets/{id}", "GET", detail, 200)
    # A move the rules do not allow: a 409 naming the current status.
    moved = await stack.gateway.post(
        f"/api/v1/tickets/{ticket['id']}/status", json={"status": "reopened"}, headers=contact
    )
    assert moved.status_code == 409, moved.text
    assert moved.json()["current_status"] == "new"

    staff = await sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    article = await stack.gateway.post(
        "/api/v1/kb/articles",
        json={
            "title": "Код активации не принимается",
            "body": "Введите код без пробелов.",
            "products": ["BAZIS_FURNITURE"],
            "tags": ["активация"],
            "status": "published",
        },
        headers=staff,
    )
    assert article.status_code == 201, article.text
    feedback = await stack.gateway.post(
        f"/api/v1/kb/articles/{article.json()['id']}/feedback",
        json={"helpful": False, "reason": "unclear", "comment": "Где взять код?"},
    )
    assert feedback.status_code == 204, feedback.text
    stats = await stack.gateway.get("/api/v1/kb/stats", headers=staff)
    assert_shape("/api/v1/kb/stats", "GET", stats, 200)

    callback = await stack.gateway.post(
        "/api/v1/callbacks",
        json={"name": "Пётр", "phone": phone(), "topic": "Не активируется лицензия"},
    )
    assert_shape("/api/v1/callbacks", "POST", callback, 201)
    status = await stack.gateway.get("/api/v1/calendar/status")
    assert_shape("/api/v1/calendar/status", "GET", status, 200)


# 60-events.md, "The events": the `data` each event carries "at least", as the field names
# the column describes ("license id" is `license_id`, "product" `product_code`, "new state"
# `status`, "changed fields" `changes`, "kind" of a loss `kind`).
SUPPORT_CERTIFICATE_FIELDS = (
    "certificate_id",
    "number",
    "tier",
    "organization_id",
    "products",
    "key_serials",
    "starts_at",
    "ends_at",
)
EVENT_DATA: dict[str, tuple[str, ...]] = {
    "identity.organization.registered": (
        "organization_id",
        "inn",
        "kpp",
        "name",
        "customer_number",
        "resident",
    ),
    "identity.user.registered": ("user_id", "organization_id", "email", "full_name"),
    "identity.organization.updated": ("changes",),
    "licensing.contract.attached": ("contract_id", "number", "organization_id", "licensee_inn"),
    "licensing.license.issued": (
        "license_id",
        "organization_id",
        "product_code",
        "key_serial",
        "expires_at",
    ),
    "licensing.license.lapsed": ("license_id", "key_serial", "reason"),
    "licensing.license.renewed": ("license_id", "status"),
    "licensing.license.suspended": ("license_id", "status"),
    "licensing.license.reinstated": ("license_id", "status"),
    "licensing.support.registered": SUPPORT_CERTIFICATE_FIELDS,
    "licensing.support.renewed": (*SUPPORT_CERTIFICATE_FIELDS, "previous_ends_at"),
    "licensing.support.expired": ("certificate_id", "key_serials", "ended_at"),
    "licensing.invoice.issued": ("invoice_id", "organization_id", "reference", "items", "total"),
    "licensing.invoice.paid": ("invoice_id", "reference", "paid_at"),
    "licensing.renewal.rejected": ("reference", "reason"),
    "dongle.protection.requested": (
        "subscription_id",
        "organization_id",
        "key_serial",
        "price_code",
    ),
    "dongle.protection.activated": ("subscription_id", "key_serial", "reason"),
    "dongle.protection.lapsed": ("subscription_id", "key_serial", "reason"),
    "dongle.protection.resumed": ("subscription_id", "key_serial", "reason"),
    "dongle.protection.cancelled": ("subscription_id", "key_serial", "reason"),
    "dongle.key.reported_lost": ("key_serial", "kind", "organization_id"),
    "dongle.licenses.restored": ("old_serial", "new_serial", "license_ids"),
    "dongle.update_file.generated": ("key_serial", "sequence", "valid_until"),
    "helpdesk.renewal.requested": ("ticket_id", "organization_id", "act_number"),
    "helpdesk.ticket.status_changed": ("ticket_id", "number", "from", "to", "organization_id"),
}


@pytest.mark.parametrize("event_type", sorted(EVENT_DATA))
def test_each_event_carries_the_data_the_catalogue_names(event_type: str):
    assert event_type in EVENTS_BY_TYPE, f"60-events.md: {event_type} has no model"
    wire = EVENTS_BY_TYPE[event_type].model_json_schema(by_alias=True)["properties"]
    missing = [name for name in EVENT_DATA[event_type] if name not in wire]
    assert not missing, f"60-events.md: {event_type} carries no {missing}"
