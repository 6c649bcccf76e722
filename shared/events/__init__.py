"""Versioned payload models of every Kabinet event (the `data` of the envelope).

Importing this package registers every event type with `EventPayload`, so
`EventPayload.for_type("licensing.license.lapsed")` finds `LicenseLapsed`. One module per
producing service; `docs/events.md` describes them, `python -m shared.events.asyncapi` writes
the AsyncAPI document.
"""

from shared.events.common import Event, EventPart, Reference
from shared.events.dongle import (
    KeyReportedLost,
    LicensesRestored,
    ProtectionActivated,
    ProtectionCancelled,
    ProtectionLapsed,
    ProtectionRequested,
    ProtectionResumed,
    UpdateFileGenerated,
)
from shared.events.helpdesk import RenewalRequested, TicketStatusChanged
from shared.events.identity import (
    DataChangeRequested,
    FieldChange,
    OrganizationRegistered,
    OrganizationUpdated,
    UserRegistered,
    UserUpdated,
)
from shared.events.licensing import (
    ContractAttached,
    InvoiceIssued,
    InvoiceItem,
    InvoicePaid,
    LicenseIssued,
    LicenseLapsed,
    LicenseReinstated,
    LicenseRenewed,
    LicenseSuspended,
    PartnerCustomerLinked,
    RenewalRejected,
    SupportExpired,
    SupportRegistered,
    SupportRenewed,
)

EVENTS: tuple[type[Event], ...] = (
    OrganizationRegistered,
    UserRegistered,
    OrganizationUpdated,
    UserUpdated,
    DataChangeRequested,
    ContractAttached,
    LicenseIssued,
    LicenseLapsed,
    LicenseRenewed,
    LicenseSuspended,
    LicenseReinstated,
    SupportRegistered,
    SupportRenewed,
    SupportExpired,
    InvoiceIssued,
    InvoicePaid,
    RenewalRejected,
    PartnerCustomerLinked,
    ProtectionRequested,
    ProtectionActivated,
    ProtectionLapsed,
    ProtectionResumed,
    ProtectionCancelled,
    KeyReportedLost,
    LicensesRestored,
    UpdateFileGenerated,
    RenewalRequested,
    TicketStatusChanged,
)
"""Every event model, in the order of the table in the spec (`60-events.md`)."""

EVENTS_BY_TYPE: dict[str, type[Event]] = {model.event_type: model for model in EVENTS}
"""Every event model by its type (the routing key)."""

RETIRED_EVENT_TYPES: tuple[str, ...] = ()
"""Types that were once in the catalogue and are no longer (a renamed or removed event). Add a
type here when its model goes: brokers that ran an older version still have queues bound for
it, and `declare-bus` unbinds it from every consumer's queue (docs/events.md, "Stale
bindings"). None has been removed so far."""

__all__ = [
    "EVENTS",
    "EVENTS_BY_TYPE",
    "RETIRED_EVENT_TYPES",
    "ContractAttached",
    "DataChangeRequested",
    "Event",
    "EventPart",
    "FieldChange",
    "InvoiceIssued",
    "InvoiceItem",
    "InvoicePaid",
    "KeyReportedLost",
    "LicenseIssued",
    "LicenseLapsed",
    "LicenseReinstated",
    "LicenseRenewed",
    "LicenseSuspended",
    "LicensesRestored",
    "OrganizationRegistered",
    "OrganizationUpdated",
    "PartnerCustomerLinked",
    "ProtectionActivated",
    "ProtectionCancelled",
    "ProtectionLapsed",
    "ProtectionRequested",
    "ProtectionResumed",
    "Reference",
    "RenewalRejected",
    "RenewalRequested",
    "SupportExpired",
    "SupportRegistered",
    "SupportRenewed",
    "TicketStatusChanged",
    "UpdateFileGenerated",
    "UserRegistered",
    "UserUpdated",
]
