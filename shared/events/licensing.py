"""Events licensing publishes: contracts, licenses, support certificates, invoices, renewals."""

from datetime import date
from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from shared.events.common import (
    Currency,
    DocumentNumber,
    Event,
    EventPart,
    KeySerial,
    Kpp,
    LicenseStatus,
    Money,
    PriceCode,
    ProductCode,
    Reference,
    Service,
    SupportTier,
    TaxId,
    UtcDateTime,
)

ProtectionKind = Literal["codemeter", "software", "none"]
"""How a product is protected (from the catalogue)."""

LapseReason = Literal["expired", "revoked"]
"""Why a license stopped: its expiry passed, or it was revoked."""

RenewalRefusal = Literal[
    "act_not_found",
    "act_of_another_organization",
    "act_not_issued_by_vendor",
    "no_support_item",
    "act_already_used",
]
"""Why an act did not renew paid support (rule 8 of licensing)."""


class ContractAttached(Event):
    """A license contract was uploaded into an organization's account (upload request approved).

    Consumed by identity: an accountant signs in with the organization's INN and the number of
    one of its contracts, so identity keeps the INN ↔ contract number link.
    """

    event_type: ClassVar[str] = "licensing.contract.attached"
    consumers: ClassVar[tuple[Service, ...]] = ("identity",)

    contract_id: UUID = Field(description="The contract's id in licensing.")
    number: DocumentNumber = Field(description="The contract number as printed on it.")
    contract_date: date = Field(description="The date of the contract.")
    organization_id: UUID = Field(description="The organization whose account now holds it.")
    licensee_inn: TaxId = Field(
        description="The licensee's INN from the contract (a non-resident's own tax id)."
    )
    licensee_kpp: Kpp | None = Field(default=None, description="The licensee's KPP, if any.")
    licensee_name: str = Field(min_length=1, description="The licensee's name from the contract.")
    upload_request_id: UUID | None = Field(
        default=None, description="The approved upload request that attached it."
    )


class LicenseIssued(Event):
    """A license became an organization's (its contract attached, or its activation code
    registered), possibly bound to a protection key; also published again, with the license's
    whole state, when the license moves onto the key that replaced a lost one.

    Consumed by dongle: puts the license on the key that carries it (it goes into update files).
    """

    event_type: ClassVar[str] = "licensing.license.issued"
    consumers: ClassVar[tuple[Service, ...]] = ("dongle",)

    license_id: UUID = Field(description="The license's id in licensing.")
    organization_id: UUID = Field(description="The organization that holds the license.")
    contract_id: UUID | None = Field(
        default=None, description="The contract the license came with, if any."
    )
    product_code: ProductCode = Field(description="The licensed product's catalogue code.")
    product_name: str = Field(min_length=1, description="The product's name, for display.")
    edition: str | None = Field(default=None, description="The product edition, if any.")
    seats: int = Field(ge=1, description="Number of seats (workplaces) licensed.")
    protection: ProtectionKind = Field(description="The product's protection kind.")
    key_serial: KeySerial | None = Field(
        default=None, description="Serial of the protection key that carries it; null if none."
    )
    status: LicenseStatus = Field(description="The license's status now.")
    starts_at: date = Field(description="First day of validity (calendar date, Moscow time).")
    expires_at: date | None = Field(
        description="Last day of validity (valid to the end of that day, Moscow time); "
        "null for a perpetual license."
    )


class LicenseLapsed(Event):
    """A license stopped being valid: its expiry passed or it was revoked (published once).

    Consumed by dongle (rule 7): a protected key left with no active license has its protection
    subscription cancelled with reason `license_lapsed`.
    """

    event_type: ClassVar[str] = "licensing.license.lapsed"
    consumers: ClassVar[tuple[Service, ...]] = ("dongle",)

    license_id: UUID = Field(description="The license's id in licensing.")
    organization_id: UUID = Field(description="The organization that holds the license.")
    product_code: ProductCode = Field(description="The licensed product's catalogue code.")
    key_serial: KeySerial | None = Field(
        default=None, description="Serial of the key that carries it; null if not key-bound."
    )
    reason: LapseReason = Field(description="`expired` (expiry passed) or `revoked` (by staff).")
    status: Literal["expired", "revoked"] = Field(description="The license's new status.")
    expires_at: date | None = Field(
        default=None, description="The expiry date that passed; null for a perpetual license."
    )

    @model_validator(mode="after")
    def _status_matches_reason(self) -> Self:
        if self.status != self.reason:
            raise ValueError("status must equal reason (`expired` or `revoked`)")
        return self


class _LicenseStateChanged(Event):
    """Common fields of a license's renewal, suspension and reinstatement."""

    license_id: UUID = Field(description="The license's id in licensing.")
    organization_id: UUID = Field(description="The organization that holds the license.")
    product_code: ProductCode = Field(description="The licensed product's catalogue code.")
    key_serial: KeySerial | None = Field(
        default=None, description="Serial of the key that carries it; null if not key-bound."
    )
    status: LicenseStatus = Field(description="The license's new status.")
    expires_at: date | None = Field(
        description="Last day of validity now (Moscow time); null for a perpetual license."
    )


class LicenseRenewed(_LicenseStateChanged):
    """A license was renewed: from its old expiry if still active, from now if it had expired.

    Consumed by dongle: the license is active on its key again / for longer.
    """

    event_type: ClassVar[str] = "licensing.license.renewed"
    consumers: ClassVar[tuple[Service, ...]] = ("dongle",)

    status: Literal["active"] = Field(description="The license's new status: always `active`.")
    expires_at: date = Field(description="The new last day of validity (Moscow time).")
    previous_expires_at: date | None = Field(
        description="The expiry before the renewal; null if it had none."
    )


class LicenseSuspended(_LicenseStateChanged):
    """An admin suspended a license, or the key carrying it was reported lost and its last
    update file ran out (reinstated when dongle restores the licenses onto a new key).

    Consumed by dongle: a suspended license is not written into the key's update files.
    """

    event_type: ClassVar[str] = "licensing.license.suspended"
    consumers: ClassVar[tuple[Service, ...]] = ("dongle",)

    status: Literal["suspended"] = Field(description="The license's new status: `suspended`.")
    reason: str | None = Field(default=None, description="The admin's reason, free text.")


class LicenseReinstated(_LicenseStateChanged):
    """An admin reinstated a suspended license, or a license suspended for its lost key was
    restored onto the new key (`key_serial` names the new key).

    Consumed by dongle: the license goes back into the key's update files if it is active.
    """

    event_type: ClassVar[str] = "licensing.license.reinstated"
    consumers: ClassVar[tuple[Service, ...]] = ("dongle",)

    status: Literal["active", "expired"] = Field(
        description="The status after reinstatement: `active`, or `expired` if its expiry "
        "passed while it was suspended."
    )


PartnerLinkSource = Literal["contract", "license", "support_certificate"]
"""What made an organization a partner's customer."""


class PartnerCustomerLinked(Event):
    """An organization became a partner's customer: it now holds a contract or a license the
    partner imported, or a support certificate the partner issued. Published once per partner
    and organization, when the first such document reaches the organization; a link is never
    undone (the partner keeps following the tickets and keys it handled).

    Consumed by helpdesk (a partner opens tickets only for its customers) and dongle (a partner
    imports protection keys only for its customers).
    """

    event_type: ClassVar[str] = "licensing.partner.customer_linked"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk", "dongle")

    partner_id: UUID = Field(
        description="The partner's organization (the organization its API keys belong to)."
    )
    organization_id: UUID = Field(description="The customer organization.")
    source: PartnerLinkSource = Field(
        description="What linked them: a `contract` or `license` the partner imported, or a "
        "`support_certificate` it issued."
    )
    source_id: UUID = Field(description="That contract's, license's or certificate's id.")
    linked_at: UtcDateTime = Field(description="When the organization became its customer.")


class _SupportCertificate(Event):
    """Common fields of a support certificate's events."""

    certificate_id: UUID = Field(description="The certificate's id in licensing.")
    number: DocumentNumber = Field(description="The certificate number as printed on it.")
    tier: SupportTier = Field(description="Support tier: `free`, `paid` or `partner`.")
    organization_id: UUID = Field(description="The organization it is registered to.")
    products: list[ProductCode] = Field(description="Codes of the products it covers.")
    key_serials: list[KeySerial] = Field(
        description="Serials of the protection keys it covers (key maintenance)."
    )


class SupportRegistered(_SupportCertificate):
    """A support certificate was registered into an organization's account (or a free one
    started when a product key was registered).

    Consumed by helpdesk (certificate read model: tier and SLA of tickets) and dongle (key
    maintenance: protection can be connected only while it lasts).
    """

    event_type: ClassVar[str] = "licensing.support.registered"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk", "dongle")

    starts_at: UtcDateTime = Field(description="When support starts.")
    ends_at: UtcDateTime = Field(description="When support ends.")

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SupportRenewed(_SupportCertificate):
    """A support certificate's term was extended (paid support renewed by an act, rule 8).

    Consumed by helpdesk (new end of the tier; a ticket's renewal request is answered when
    `reference` names it) and dongle (rule 6: a lapsed protection resumes if maintenance is
    renewed within 14 days of its end).
    """

    event_type: ClassVar[str] = "licensing.support.renewed"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk", "dongle")

    starts_at: UtcDateTime = Field(description="When the current term started.")
    ends_at: UtcDateTime = Field(description="When support now ends.")
    previous_ends_at: UtcDateTime | None = Field(
        description="When support ended (or would have ended) before the renewal; null if the "
        "organization had no certificate of this kind before."
    )
    act_number: DocumentNumber | None = Field(
        default=None, description="The act of services that paid for the renewal."
    )
    reference: Reference | None = Field(
        default=None,
        description="Who asked: the helpdesk ticket of a renewal request; null otherwise.",
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SupportExpired(_SupportCertificate):
    """A support certificate ended without renewal (published once by the expiry sweep).

    Consumed by helpdesk (no tier any more for new tickets) and dongle (key maintenance ended:
    protection lapses, rule 6).
    """

    event_type: ClassVar[str] = "licensing.support.expired"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk", "dongle")

    ended_at: UtcDateTime = Field(description="When support ended.")


class InvoiceItem(EventPart):
    """One line of an invoice."""

    price_code: PriceCode = Field(description="The price-list item, e.g. `KEY_PROTECTION`.")
    name: str = Field(min_length=1, description="The item's name as printed on the invoice.")
    quantity: int = Field(ge=1, description="How many.")
    unit_price: Money = Field(description="Price of one, from the price list in force.")
    amount: Money = Field(description="Line total in roubles.")


class InvoiceIssued(Event):
    """An invoice for a service was issued at the prices in force and the organization's
    residency.

    Consumed by dongle: shows the customer the price to pay for protection or a replacement key
    (the invoice `reference` names the subscription or loss report that asked for it).
    """

    event_type: ClassVar[str] = "licensing.invoice.issued"
    consumers: ClassVar[tuple[Service, ...]] = ("dongle",)

    invoice_id: UUID = Field(description="The invoice's id in licensing.")
    number: DocumentNumber = Field(description="The invoice number as printed on it.")
    organization_id: UUID = Field(description="The organization invoiced.")
    reference: Reference | None = Field(
        description="Who asked for it (e.g. a dongle protection subscription); null if nobody."
    )
    resident: bool = Field(description="Whether resident prices were applied.")
    price_list_effective_on: date = Field(
        description="Effective date of the price-list version the prices come from."
    )
    items: list[InvoiceItem] = Field(min_length=1, description="The invoice lines.")
    total: Money = Field(description="Amount to pay in roubles.")
    currency: Currency = Field(default="RUB", description="Always roubles.")


class InvoicePaid(Event):
    """A payment for an invoice was recorded (by an admin or an import).

    Consumed by dongle: activates the protection subscription, or allows the key replacement,
    named by `reference`.
    """

    event_type: ClassVar[str] = "licensing.invoice.paid"
    consumers: ClassVar[tuple[Service, ...]] = ("dongle",)

    invoice_id: UUID = Field(description="The invoice's id in licensing.")
    number: DocumentNumber = Field(description="The invoice number as printed on it.")
    organization_id: UUID = Field(description="The organization that paid.")
    reference: Reference | None = Field(
        description="Who asked for the invoice (as in `licensing.invoice.issued`)."
    )
    amount: Money = Field(description="Amount paid in roubles.")
    currency: Currency = Field(default="RUB", description="Always roubles.")
    paid_at: UtcDateTime = Field(description="When the payment was made.")


class RenewalRejected(Event):
    """A request to renew paid support by an act number was refused (rule 8 of licensing).

    Consumed by helpdesk: posts the refusal and its reason into the ticket named by `reference`.
    """

    event_type: ClassVar[str] = "licensing.renewal.rejected"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk",)

    reference: Reference = Field(description="Who asked: the helpdesk ticket.")
    organization_id: UUID = Field(description="The organization that asked.")
    act_number: DocumentNumber = Field(description="The act number that was given.")
    reason: RenewalRefusal = Field(description="Why the act does not renew support.")
    message: str = Field(min_length=1, description="The refusal in words, for the customer.")
