"""Support certificates (rule 7), free support from a product key (rule 6), renewal of paid
support by an act (rule 8) and the end of support (rule 11).

A certificate's status follows its end: after `ends_at` it reads `ended` at once; the sweep
stores that and publishes `licensing.support.expired`, once per certificate. Renewal by act runs
from the moment the act number is given: added to the end of a paid certificate still active,
from that moment otherwise. "Used once" is the unique act id of `act_renewals`: of two
concurrent renewals by one act exactly one commits, the other is refused `already_used`.
"""

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.access import Viewer
from services.licensing.models import ActRenewal, License, SupportCertificate
from services.licensing.organizations.service import organization_read_model
from services.licensing.partners.service import partner_service
from services.licensing.support.repository import CertificateRepository
from services.licensing.support.schemas import CertificateIssue
from shared.auth import Principal
from shared.bus.outbox import Outbox
from shared.clock import Clock, business_zone
from shared.db import duplicate_refused
from shared.events.common import Reference
from shared.events.licensing import SupportExpired, SupportRegistered, SupportRenewed
from shared.problems import Conflict, InvalidInput, ProblemError

FREE_SUPPORT_MONTHS = 3
SWEEP_BATCH = 500
# A support subscription on an act: `SUPPORT_PAID_12M` is 12 months per unit.
SUPPORT_ITEM = re.compile(r"^SUPPORT_PAID_(\d{1,3})M$")

REFUSALS = {
    "not_found": "No act with this number belongs to the organization",
    "not_issued_by_vendor": "The act was not issued by the vendor (a partner's own act)",
    "no_support_item": "The act has no support subscription",
    "already_used": "The act has renewed support already",
}
# The reasons of `licensing.renewal.rejected` (another organization's act is not revealed).
EVENT_REASONS = {
    "not_found": "act_not_found",
    "not_issued_by_vendor": "act_not_issued_by_vendor",
    "no_support_item": "no_support_item",
    "already_used": "act_already_used",
}


class RenewalRefused(ProblemError):
    status, type_name, title = 422, "renewal-refused", "The act does not renew support"

    def __init__(self, reason: str) -> None:
        super().__init__(REFUSALS[reason], reason=reason)
        self.reason = reason


class RegistrationRefused(ProblemError):
    """A certificate that cannot be registered: each refusal has its own reason."""

    type_name, title = "certificate-registration-refused", "The certificate cannot be registered"

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail, reason=reason)
        self.status = status


@dataclass(frozen=True)
class Renewal:
    certificate: SupportCertificate
    renewed_until: datetime


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months counted in the business time zone (31 Jan + 1 month = 28/29 Feb)."""
    local = moment.astimezone(business_zone())
    return (local + relativedelta(months=months)).astimezone(moment.tzinfo)


def new_number(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4).upper()}"


def status_at(certificate: SupportCertificate, now: datetime) -> str:
    return "ended" if certificate.status == "ended" or certificate.ends_at <= now else "active"


class SupportService:
    async def mine(self, session: AsyncSession, viewer: Viewer) -> list[SupportCertificate]:
        if viewer.organization_id is None:
            return []
        return list(await CertificateRepository(session).of_organization(viewer.organization_id))

    async def start_free(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        license_: License,
        organization_id: uuid.UUID,
    ) -> SupportCertificate:
        """Rule 6: free support for 3 calendar months from now, once per license."""
        now = clock.now()
        certificate = SupportCertificate(
            number=new_number("FREE"),
            tier="free",
            organization_id=organization_id,
            products=[license_.product.code],
            key_serials=[license_.key_serial] if license_.key_serial else [],
            starts_at=now,
            ends_at=add_months(now, FREE_SUPPORT_MONTHS),
            status="active",
            license_id=license_.id,
            registered_at=now,
            created_at=now,
        )
        await self._add(session, certificate, "Free support was started for this license already")
        await self._registered(session, outbox, certificate)
        return certificate

    async def issue(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        issuer: Principal,
        asked: CertificateIssue,
    ) -> SupportCertificate:
        if (asked.organization_id is None) == (asked.organization_inn is None):
            raise InvalidInput("organization_id", "give organization_id or organization_inn")
        if asked.ends_at <= asked.starts_at:
            raise InvalidInput("ends_at", "must be after starts_at")
        organization_id = asked.organization_id
        if organization_id is not None:
            await organization_read_model.get(session, organization_id)
        elif asked.organization_inn is not None:
            # The INN's organization has it at once; an INN no organization has registered yet
            # (or that several subdivisions share) waits for registration by number.
            organization_id = await organization_read_model.only_one_with_inn(
                session, asked.organization_inn
            )
        now = clock.now()
        certificate = SupportCertificate(
            number=asked.number or new_number("TP"),
            tier=asked.tier,
            organization_id=organization_id,
            organization_inn=asked.organization_inn,
            products=list(dict.fromkeys(asked.products)),
            key_serials=list(dict.fromkeys(asked.key_serials)),
            starts_at=asked.starts_at,
            ends_at=asked.ends_at,
            status="active",
            partner_id=issuer.organization_id if issuer.kind == "api_key" else None,
            registered_at=now if organization_id is not None else None,
            created_at=now,
        )
        await self._add(session, certificate, f"A certificate numbered {certificate.number} exists")
        if certificate.organization_id is not None:
            await self._partner_link(session, outbox, certificate, now)
            if certificate.ends_at > now:
                await self._registered(session, outbox, certificate)
        return certificate

    async def register(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        organization_id: uuid.UUID,
        number: str,
    ) -> SupportCertificate:
        """Rule 7: it must exist, not be another organization's, and not have ended."""
        certificate = await CertificateRepository(session).by_number(number)
        if certificate is not None and certificate.organization_id is None:
            organization = await organization_read_model.find(session, organization_id)
            if organization is None or organization.inn != certificate.organization_inn:
                certificate = None  # issued for another INN: not revealed
        if certificate is None:
            raise RegistrationRefused(404, "not_found", "No certificate has this number")
        if certificate.organization_id not in (None, organization_id):
            raise RegistrationRefused(
                409, "registered_to_another", "The certificate is registered to another account"
            )
        now = clock.now()
        if status_at(certificate, now) == "ended":
            raise RegistrationRefused(409, "ended", "The certificate's support has ended")
        if certificate.organization_id == organization_id:
            return certificate  # registered already: nothing changes
        certificate.organization_id = organization_id
        certificate.registered_at = now
        await session.flush()
        await self._partner_link(session, outbox, certificate, now)
        await self._registered(session, outbox, certificate)
        return certificate

    async def renew_by_act(
        self,
        session: AsyncSession,
        outbox: Outbox,
        organization_id: uuid.UUID,
        act_number: str,
        at: datetime,
        reference: Reference | None = None,
    ) -> Renewal:
        """Rule 8; raises `RenewalRefused` naming the reason."""
        certificates = CertificateRepository(session)
        found = await certificates.act(act_number.strip())
        if found is None or found[1].organization_id != organization_id:
            raise RenewalRefused("not_found")
        act = found[0]
        if act.issued_by != "vendor":
            raise RenewalRefused("not_issued_by_vendor")
        months = sum(
            int(match.group(1)) * item.quantity
            for item in act.items
            if (match := SUPPORT_ITEM.match(item.code))
        )
        if months == 0:
            raise RenewalRefused("no_support_item")
        if await certificates.act_used(act.id):
            raise RenewalRefused("already_used")
        certificate = await certificates.latest_paid(organization_id)
        products, keys = await certificates.coverage(organization_id)
        previous = certificate.ends_at if certificate is not None else None
        if certificate is not None and status_at(certificate, at) == "active":
            certificate.ends_at = add_months(certificate.ends_at, months)
        elif certificate is not None:
            certificate.starts_at, certificate.ends_at = at, add_months(at, months)
            certificate.status = "active"
        else:
            certificate = SupportCertificate(
                number=new_number("TP"),
                tier="paid",
                organization_id=organization_id,
                starts_at=at,
                ends_at=add_months(at, months),
                status="active",
                registered_at=at,
                created_at=at,
            )
            session.add(certificate)
        certificate.products = sorted(set(certificate.products or []) | set(products))
        certificate.key_serials = sorted(set(certificate.key_serials or []) | set(keys))
        await session.flush()
        async with duplicate_refused(session, RenewalRefused("already_used")):
            await certificates.add(
                ActRenewal(
                    act_id=act.id,
                    certificate_id=certificate.id,
                    renewed_at=at,
                    previous_ends_at=previous,
                    ends_at=certificate.ends_at,
                )
            )
        await outbox.add(
            session,
            SupportRenewed(
                **self._facts(certificate),
                starts_at=certificate.starts_at,
                ends_at=certificate.ends_at,
                previous_ends_at=previous,
                act_number=act.number,
                reference=reference,
            ),
        )
        return Renewal(certificate, certificate.ends_at)

    async def sweep_ended(self, session: AsyncSession, clock: Clock, outbox: Outbox) -> int:
        """Rule 11: certificates whose end passed are ended, `support.expired` once each."""
        ended = await CertificateRepository(session).end_passed(clock.now(), SWEEP_BATCH)
        for certificate in ended:
            if certificate.organization_id is None:
                continue  # never registered: nobody was supported by it
            await outbox.add(
                session, SupportExpired(**self._facts(certificate), ended_at=certificate.ends_at)
            )
        return len(ended)

    @staticmethod
    async def _add(session: AsyncSession, certificate: SupportCertificate, taken: str) -> None:
        """A new certificate; its number, or the license that started it, taken already is a
        409 saying `taken` (the unique indexes decide, also between concurrent requests)."""
        async with duplicate_refused(session, Conflict(taken)):
            await CertificateRepository(session).add(certificate)

    @staticmethod
    async def _partner_link(
        session: AsyncSession, outbox: Outbox, certificate: SupportCertificate, now: datetime
    ) -> None:
        """A certificate a partner issued makes its organization the partner's customer."""
        assert certificate.organization_id is not None
        await partner_service.link(
            session,
            outbox,
            certificate.partner_id,
            certificate.organization_id,
            "support_certificate",
            certificate.id,
            now,
        )

    async def _registered(
        self, session: AsyncSession, outbox: Outbox, certificate: SupportCertificate
    ) -> None:
        await outbox.add(
            session,
            SupportRegistered(
                **self._facts(certificate),
                starts_at=certificate.starts_at,
                ends_at=certificate.ends_at,
            ),
        )

    @staticmethod
    def _facts(certificate: SupportCertificate) -> dict[str, object]:
        return {
            "certificate_id": certificate.id,
            "number": certificate.number,
            "tier": certificate.tier,
            "organization_id": certificate.organization_id,
            "products": list(certificate.products),
            "key_serials": list(certificate.key_serials),
        }


support_service = SupportService()
