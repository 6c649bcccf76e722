"""Registration, step 4: with both codes verified, the organization (when new) and the user are
created and announced on the bus, and the person is told their login (rules 3, 6 and 9)."""

from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.identity.codes.delivery import Delivery
from services.identity.models import Organization, PendingRegistration, User
from services.identity.organizations.schemas import customer_number_text
from services.identity.registration.form import refuse_registered
from services.identity.registration.repository import RegistrationRepository
from services.identity.registration.schemas import (
    ContactDraft,
    OrganizationDraft,
    RegistrationStatus,
)
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.events.identity import OrganizationRegistered, UserRegistered
from shared.problems import Conflict, NotFound

log = structlog.get_logger(__name__)

NEW_ORGANIZATION_ROLES = ["contact", "responsible"]
JOINING_CONTACT_ROLES = ["contact"]


@dataclass(frozen=True)
class LoginNotice:
    """The e-mail that tells a newly registered person their login."""

    email: str
    full_name: str
    organization_name: str
    customer_number: str


async def complete(
    session: AsyncSession, clock: Clock, outbox: Outbox, pending: PendingRegistration
) -> tuple[RegistrationStatus, LoginNotice]:
    """Both codes verified: the organization (if new) and the user, and their events."""
    registrations = RegistrationRepository(session)
    contact = ContactDraft.model_validate(pending.contact)
    if pending.organization is not None:
        organization = await _create_organization(
            session, clock, outbox, OrganizationDraft.model_validate(pending.organization)
        )
        roles = NEW_ORGANIZATION_ROLES
    else:
        assert pending.organization_id is not None
        joined = await registrations.get_organization(pending.organization_id)
        if joined is None:
            raise NotFound("The organization to join no longer exists")
        organization, roles = joined, JOINING_CONTACT_ROLES
    # Two registrations of one e-mail into one organization complete one after the other.
    await registrations.lock(f"contact:{organization.id}:{contact.email}")
    # Both codes are proved now, so telling the person about their own e-mail reveals nothing.
    if await registrations.contact_exists(organization.id, contact.email):
        raise Conflict(
            "This e-mail is a contact of this organization already: sign in, "
            "or recover the password"
        )
    now = clock.now()
    user = User(
        id=uuid7(),
        organization_id=organization.id,
        full_name=contact.full_name,
        email=contact.email,
        phone=contact.phone,
        password_hash=pending.password_hash,
        roles=list(roles),
        created_at=now,
        password_changed_at=now,
    )
    await registrations.add(user)
    pending.completed_at = now
    pending.user_id = user.id
    pending.organization_id = organization.id
    # The hash lives on with the user; the pending row need not keep a second copy.
    pending.password_hash = ""
    await session.flush()
    await outbox.add(
        session,
        UserRegistered(
            user_id=user.id,
            organization_id=organization.id,
            email=user.email,
            full_name=user.full_name,
            phone=user.phone,
            roles=user.roles,
        ),
    )
    log.info("registration_completed", registration_id=str(pending.id), user_id=str(user.id))
    notice = LoginNotice(
        email=user.email,
        full_name=user.full_name,
        organization_name=organization.short_name or organization.full_name,
        customer_number=customer_number_text(organization.customer_number),
    )
    return completed_status(pending, organization), notice


async def _create_organization(
    session: AsyncSession, clock: Clock, outbox: Outbox, draft: OrganizationDraft
) -> Organization:
    registrations = RegistrationRepository(session)
    key = draft.inn if draft.resident else f"{draft.country}:{draft.tax_id}"
    await registrations.lock(f"organization:{key}:{draft.kpp or ''}")
    # Another registration of the same organization may have completed meanwhile.
    await refuse_registered(registrations, draft)
    now = clock.now()
    organization = Organization(
        id=uuid7(),
        country=draft.country,
        resident=draft.resident,
        kind=draft.kind,
        legal_form=draft.legal_form,
        full_name=draft.full_name,
        short_name=draft.short_name,
        inn=draft.inn,
        kpp=draft.kpp,
        tax_id=draft.tax_id,
        subdivision=draft.subdivision,
        requisites=draft.requisites.model_dump(mode="json"),
        created_at=now,
        updated_at=now,
    )
    await registrations.add(organization)
    await outbox.add(
        session,
        OrganizationRegistered(
            organization_id=organization.id,
            customer_number=customer_number_text(organization.customer_number),
            kind=draft.kind,
            legal_form=draft.legal_form,
            name=draft.name,
            full_name=draft.full_name,
            subdivision=draft.subdivision,
            country=draft.country,
            resident=draft.resident,
            inn=draft.inn,
            kpp=draft.kpp,
            foreign_tax_id=draft.tax_id,
        ),
    )
    return organization


def completed_status(
    pending: PendingRegistration, organization: Organization
) -> RegistrationStatus:
    """The person signs in with the verified e-mail (a phone works too, see sign-in)."""
    return RegistrationStatus(
        registration_id=pending.id,
        status="completed",
        pending=[],
        user_id=pending.user_id,
        organization_id=organization.id,
        customer_number=customer_number_text(organization.customer_number),
        login=pending.email,
    )


async def send_login_notice(delivery: Delivery, notice: LoginNotice) -> None:
    """Best effort, after the registration is committed: the login is shown in the answer too."""
    text = (
        f"Здравствуйте, {notice.full_name}!\n\n"
        f"Регистрация в Kabinet завершена.\n"
        f"Ваш логин: {notice.email}\n"
        f"Организация: {notice.organization_name}, номер клиента {notice.customer_number}.\n"
    )
    try:
        await delivery.send_email(notice.email, "Регистрация в Kabinet завершена", text)
    except Exception:
        log.exception("login_notice_not_sent", email=notice.email)
