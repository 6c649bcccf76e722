"""A valid payload of every event type, in its JSON form: what tests publish or check against.

`sample(OrganizationRegistered, organization_id=…)` builds the payload model from its sample
with the fields a test needs changed.
"""

import random
from typing import Any, TypeVar

from stdnum.ru import inn as inn_digits

from shared.bus.envelope import EventPayload

P = TypeVar("P", bound=EventPayload)

ORG = "0190c6a4-1111-7000-8000-000000000001"
USER = "0190c6a4-2222-7000-8000-000000000002"
LICENSE = "0190c6a4-3333-7000-8000-000000000003"
OTHER = "0190c6a4-4444-7000-8000-000000000004"
SUBSCRIPTION = "0190c6a4-5555-7000-8000-000000000005"
TICKET = "0190c6a4-6666-7000-8000-000000000006"
REPORT = "0190c6a4-7777-7000-8000-000000000007"
CERTIFICATE = {
    "certificate_id": OTHER,
    "number": "TP-2026-0042",
    "tier": "paid",
    "organization_id": ORG,
    "products": ["CAD-PRO"],
    "key_serials": ["3-1234567"],
}
TICKET_REF = {"service": "helpdesk", "kind": "ticket", "id": TICKET}
SUBSCRIPTION_REF = {"service": "dongle", "kind": "protection_subscription", "id": SUBSCRIPTION}
PROTECTION = {"subscription_id": SUBSCRIPTION, "organization_id": ORG, "key_serial": "3-1234567"}
LICENSE_STATE = {
    "license_id": LICENSE,
    "organization_id": ORG,
    "product_code": "CAD-PRO",
    "key_serial": "3-1234567",
}

# A valid payload of every event type, in its JSON form.
SAMPLES: dict[str, dict[str, Any]] = {
    "identity.organization.registered": {
        "organization_id": ORG,
        "customer_number": "100042",
        "kind": "legal_entity",
        "legal_form": "ООО",
        "name": "ООО Ромашка",
        "full_name": "Общество с ограниченной ответственностью Ромашка",
        "country": "RU",
        "resident": True,
        "inn": "7707083893",
        "kpp": "773601001",
    },
    "identity.user.registered": {
        "user_id": USER,
        "organization_id": ORG,
        "email": "petrov@example.ru",
        "full_name": "Петров Пётр Петрович",
        "phone": "+79161234567",
        "roles": ["contact", "responsible"],
    },
    "identity.organization.updated": {
        "organization_id": ORG,
        "changes": {"name": {"old": "ООО Ромашка", "new": "ООО Василёк"}},
        "change_request_id": OTHER,
        "name": "ООО Василёк",
        "full_name": "Общество с ограниченной ответственностью Василёк",
        "country": "RU",
        "resident": True,
        "inn": "7707083893",
        "kpp": "773601001",
    },
    "identity.user.updated": {
        "user_id": USER,
        "organization_id": ORG,
        "changes": {"email": {"old": "petrov@example.ru", "new": "p.petrov@example.ru"}},
        "email": "p.petrov@example.ru",
        "full_name": "Петров Пётр Петрович",
        "phone": "+79161234567",
    },
    "identity.data_change.requested": {
        "change_request_id": OTHER,
        "organization_id": ORG,
        "requested_by": USER,
        "price_code": "DATA_CHANGE",
    },
    "licensing.contract.attached": {
        "contract_id": OTHER,
        "number": "ЛД-2026/17",
        "contract_date": "2026-03-01",
        "organization_id": ORG,
        "licensee_inn": "7707083893",
        "licensee_kpp": "773601001",
        "licensee_name": "ООО Ромашка",
    },
    "licensing.license.issued": {
        "license_id": LICENSE,
        "organization_id": ORG,
        "contract_id": OTHER,
        "product_code": "CAD-PRO",
        "product_name": "CAD Professional",
        "edition": "2026",
        "seats": 3,
        "protection": "codemeter",
        "key_serial": "3-1234567",
        "status": "active",
        "starts_at": "2026-03-01",
        "expires_at": "2027-02-28",
    },
    "licensing.license.lapsed": {
        **LICENSE_STATE,
        "reason": "expired",
        "status": "expired",
        "expires_at": "2027-02-28",
    },
    "licensing.license.renewed": {
        **LICENSE_STATE,
        "status": "active",
        "expires_at": "2028-02-29",
        "previous_expires_at": "2027-02-28",
    },
    "licensing.license.suspended": {
        **LICENSE_STATE,
        "status": "suspended",
        "expires_at": "2027-02-28",
        "reason": "Договор расторгнут",
    },
    "licensing.license.reinstated": {**LICENSE_STATE, "status": "active", "expires_at": None},
    "licensing.support.registered": {
        **CERTIFICATE,
        "starts_at": "2026-03-01T07:00:00Z",
        "ends_at": "2027-03-01T07:00:00Z",
    },
    "licensing.support.renewed": {
        **CERTIFICATE,
        "starts_at": "2026-03-01T07:00:00Z",
        "ends_at": "2028-03-01T07:00:00Z",
        "previous_ends_at": "2027-03-01T07:00:00Z",
        "act_number": "АКТ-555",
        "reference": TICKET_REF,
    },
    "licensing.support.expired": {**CERTIFICATE, "ended_at": "2027-03-01T07:00:00Z"},
    "licensing.invoice.issued": {
        "invoice_id": OTHER,
        "number": "СЧ-1001",
        "organization_id": ORG,
        "reference": SUBSCRIPTION_REF,
        "resident": True,
        "price_list_effective_on": "2026-01-01",
        "items": [
            {
                "price_code": "KEY_PROTECTION",
                "name": "Дополнительная защита ключа",
                "quantity": 1,
                "unit_price": "4900.00",
                "amount": "4900.00",
            }
        ],
        "total": "4900.00",
        "currency": "RUB",
    },
    "licensing.invoice.paid": {
        "invoice_id": OTHER,
        "number": "СЧ-1001",
        "organization_id": ORG,
        "reference": SUBSCRIPTION_REF,
        "amount": "4900.00",
        "paid_at": "2026-03-02T09:30:00Z",
    },
    "licensing.partner.customer_linked": {
        "partner_id": OTHER,
        "organization_id": ORG,
        "source": "license",
        "source_id": LICENSE,
        "linked_at": "2026-11-22T10:15:00Z",
    },
    "licensing.renewal.rejected": {
        "reference": TICKET_REF,
        "organization_id": ORG,
        "act_number": "АКТ-555",
        "reason": "act_already_used",
        "message": "Этот акт уже использован для продления.",
    },
    "dongle.protection.requested": {
        **PROTECTION,
        "price_code": "KEY_PROTECTION",
        "requested_by": USER,
    },
    "dongle.protection.activated": {
        **PROTECTION,
        "status": "active",
        "reason": "payment_received",
        "invoice_id": OTHER,
    },
    "dongle.protection.lapsed": {
        **PROTECTION,
        "status": "lapsed",
        "reason": "maintenance_ended",
        "maintenance_ended_at": "2027-03-01T07:00:00Z",
        "resumable_until": "2027-03-15T07:00:00Z",
    },
    "dongle.protection.resumed": {
        **PROTECTION,
        "status": "active",
        "reason": "maintenance_renewed",
        "maintenance_ends_at": "2028-03-01T07:00:00Z",
    },
    "dongle.protection.cancelled": {
        **PROTECTION,
        "status": "cancelled",
        "reason": "license_lapsed",
    },
    "dongle.key.reported_lost": {
        "report_id": REPORT,
        "key_serial": "3-1234567",
        "key_kind": "codemeter",
        "kind": "stolen",
        "organization_id": ORG,
        "license_ids": [LICENSE],
        "programmed_until": "2026-04-30T21:00:00Z",
        "restoration_covered": True,
        "subscription_id": SUBSCRIPTION,
        "replacement_price_codes": ["CODEMETER_KEY", "DELIVERY"],
    },
    "dongle.licenses.restored": {
        "old_serial": "3-1234567",
        "new_serial": "3-7654321",
        "license_ids": [LICENSE],
        "organization_id": ORG,
        "report_id": REPORT,
        "subscription_id": SUBSCRIPTION,
    },
    "dongle.update_file.generated": {
        "update_file_id": OTHER,
        "key_serial": "3-1234567",
        "organization_id": ORG,
        "sequence": 7,
        "valid_until": "2026-05-31T21:00:00Z",
        "trigger": "monthly",
        "month": "2026-05",
        "license_ids": [LICENSE],
    },
    "helpdesk.renewal.requested": {
        "ticket_id": TICKET,
        "ticket_number": "HD-1042",
        "organization_id": ORG,
        "act_number": "АКТ-555",
        "requested_by": USER,
        "requested_at": "2026-03-02T09:30:00Z",
    },
    "helpdesk.ticket.status_changed": {
        "ticket_id": TICKET,
        "number": "HD-1042",
        "organization_id": ORG,
        "author_id": USER,
        "from": "solution_proposed",
        "to": "closed",
        "changed_by": None,
        "close_reason": "auto",
    },
}


def sample(model: type[P], **changes: Any) -> P:
    """The event's sample payload, with `changes`, validated as `model`."""
    return model.model_validate({**SAMPLES[model.event_type], **changes})


def unique_inn() -> str:
    """A valid company INN no other test is likely to use: an organization registered with it
    is the only one with that INN in the run's shared database."""
    body = f"77{random.randint(0, 10**7 - 1):07d}"
    return body + inn_digits.calc_company_check_digit(body)
