"""Events dongle publishes: the key protection service, lost keys, restorations, update files."""

from typing import Annotated, ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field, StringConstraints, model_validator

from shared.events.common import (
    Event,
    KeyKind,
    KeySerial,
    PriceCode,
    Service,
    UtcDateTime,
)

ProtectionStatus = Literal["pending_payment", "active", "lapsed", "cancelled"]
"""A protection subscription's status."""

LossKind = Literal["lost", "stolen"]
"""What the customer reported about a key."""

UpdateTrigger = Literal["activation", "resumption", "monthly", "replacement"]
"""Why an update file was made: protection activated or resumed, the monthly run, a new key."""

Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
"""A calendar month, `YYYY-MM` (Moscow time)."""


class ProtectionRequested(Event):
    """A contact connected the key protection service to a key; it waits for payment.

    A request (`*.requested`): consumed by licensing, which issues the invoice at the
    `price_code` price in force and the organization's residency, with reference
    `{service: dongle, kind: protection_subscription, id: subscription_id}`.
    """

    event_type: ClassVar[str] = "dongle.protection.requested"
    consumers: ClassVar[tuple[Service, ...]] = ("licensing",)

    subscription_id: UUID = Field(description="The protection subscription's id in dongle.")
    organization_id: UUID = Field(description="The organization that owns the key.")
    key_serial: KeySerial = Field(description="Serial of the key to protect.")
    price_code: PriceCode = Field(description="The price-list item to invoice: `KEY_PROTECTION`.")
    requested_by: UUID | None = Field(
        default=None, description="The user who connected the service, if known."
    )


class ProtectionChanged(Event):
    """Common fields of a protection subscription's state change."""

    subscription_id: UUID = Field(description="The protection subscription's id in dongle.")
    organization_id: UUID = Field(description="The organization that owns the key.")
    key_serial: KeySerial = Field(description="Serial of the protected key.")
    status: ProtectionStatus = Field(description="The subscription's new status.")
    note: str | None = Field(default=None, description="Free-text detail of the change, if any.")


class ProtectionActivated(ProtectionChanged):
    """A protection subscription became active: its invoice was paid.

    Consumed by helpdesk (visible to agents).
    """

    event_type: ClassVar[str] = "dongle.protection.activated"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk",)

    status: Literal["active"] = Field(description="The subscription's new status: `active`.")
    reason: Literal["payment_received"] = Field(description="Why: the invoice was paid.")
    invoice_id: UUID | None = Field(default=None, description="The paid invoice, in licensing.")


class ProtectionLapsed(ProtectionChanged):
    """A protection subscription lapsed because the key's maintenance ended (rule 6): no more
    update files. It resumes by itself if maintenance is renewed by `resumable_until`.

    Consumed by helpdesk (visible to agents).
    """

    event_type: ClassVar[str] = "dongle.protection.lapsed"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk",)

    status: Literal["lapsed"] = Field(description="The subscription's new status: `lapsed`.")
    reason: Literal["maintenance_ended"] = Field(description="Why: key maintenance ended.")
    maintenance_ended_at: UtcDateTime = Field(description="When the key's maintenance ended.")
    resumable_until: UtcDateTime = Field(
        description="Latest renewal of maintenance that resumes it (14 days after it ended)."
    )


class ProtectionResumed(ProtectionChanged):
    """A lapsed protection subscription resumed: maintenance was renewed within 14 days.

    Consumed by helpdesk (visible to agents).
    """

    event_type: ClassVar[str] = "dongle.protection.resumed"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk",)

    status: Literal["active"] = Field(description="The subscription's new status: `active`.")
    reason: Literal["maintenance_renewed"] = Field(
        description="Why: key maintenance was renewed in time."
    )
    maintenance_ends_at: UtcDateTime = Field(description="When the renewed maintenance ends.")


class ProtectionCancelled(ProtectionChanged):
    """A protection subscription ended for good; reconnecting means paying again.

    Consumed by helpdesk (visible to agents).
    """

    event_type: ClassVar[str] = "dongle.protection.cancelled"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk",)

    status: Literal["cancelled"] = Field(description="The subscription's new status.")
    reason: Literal["customer_refused", "license_lapsed", "maintenance_not_renewed"] = Field(
        description="Why: the customer refused it, the key has no active license left (rule 7), "
        "or maintenance was not renewed within 14 days of its end (rule 6)."
    )


class KeyReportedLost(Event):
    """A contact reported a key lost or stolen: it gets no further update files.

    Consumed by licensing: suspends the licenses on the key when its programmed period ends
    (`programmed_until`) and, when restoration is covered, invoices the replacement items with
    reference `{service: dongle, kind: loss_report, id: report_id}`.
    """

    event_type: ClassVar[str] = "dongle.key.reported_lost"
    consumers: ClassVar[tuple[Service, ...]] = ("licensing",)

    report_id: UUID = Field(description="The loss report's id in dongle.")
    key_serial: KeySerial = Field(description="Serial of the lost or stolen key.")
    key_kind: KeyKind = Field(description="The key's kind, e.g. `codemeter`.")
    kind: LossKind = Field(description="What was reported: `lost` or `stolen`.")
    organization_id: UUID = Field(description="The organization that owns the key.")
    license_ids: list[UUID] = Field(description="The licenses the key carried, in licensing.")
    programmed_until: UtcDateTime | None = Field(
        description="End of validity of the key's last update file; null if it never had one."
    )
    restoration_covered: bool = Field(
        description="True if an active protection subscription covers restoring the licenses "
        "onto a new key."
    )
    subscription_id: UUID | None = Field(
        default=None, description="The active protection subscription, if any."
    )
    replacement_price_codes: list[PriceCode] = Field(
        default_factory=list,
        description="Price-list items to invoice for the replacement (`CODEMETER_KEY`, "
        "`DELIVERY`); empty when restoration is not covered.",
    )

    @model_validator(mode="after")
    def _codes_only_when_covered(self) -> Self:
        if self.replacement_price_codes and not self.restoration_covered:
            raise ValueError("replacement_price_codes given but restoration is not covered")
        return self


class LicensesRestored(Event):
    """After a paid replacement, the licenses of a lost key moved onto a new key.

    Consumed by licensing: re-binds the licenses to the new serial (and lifts the suspension
    it applied for the loss).
    """

    event_type: ClassVar[str] = "dongle.licenses.restored"
    consumers: ClassVar[tuple[Service, ...]] = ("licensing",)

    old_serial: KeySerial = Field(description="Serial of the lost or stolen key.")
    new_serial: KeySerial = Field(description="Serial of the key that now carries the licenses.")
    license_ids: list[UUID] = Field(description="The licenses moved, in licensing.")
    organization_id: UUID = Field(description="The organization that owns both keys.")
    report_id: UUID = Field(description="The loss report this restoration settles.")
    subscription_id: UUID | None = Field(
        default=None, description="The protection subscription moved to the new key, if any."
    )

    @model_validator(mode="after")
    def _different_keys(self) -> Self:
        if self.old_serial == self.new_serial:
            raise ValueError("new_serial must differ from old_serial")
        return self


class UpdateFileGenerated(Event):
    """A signed update file was generated for a protected key (activation or the monthly run).

    Consumed by helpdesk: notifies the customer that a new file is ready to download.
    """

    event_type: ClassVar[str] = "dongle.update_file.generated"
    consumers: ClassVar[tuple[Service, ...]] = ("helpdesk",)

    update_file_id: UUID = Field(description="The update file's id in dongle.")
    key_serial: KeySerial = Field(description="Serial of the key the file is for.")
    organization_id: UUID = Field(description="The organization that owns the key.")
    sequence: int = Field(ge=1, description="Per-key sequence number; only grows.")
    valid_until: UtcDateTime = Field(description="End of the file's validity.")
    trigger: UpdateTrigger = Field(description="Why the file was made.")
    month: Month | None = Field(
        default=None, description="The month of the monthly run (`YYYY-MM`); null otherwise."
    )
    license_ids: list[UUID] = Field(
        default_factory=list, description="The licenses written into the file, in licensing."
    )
