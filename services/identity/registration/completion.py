"""Registration, step 4: with both codes verified, the organization (when new) and the user are
created and announced on the bus, and the person is told their login (rules 3, 6 and 9)."""

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.identity.accounts.announcements import user_registered
from services.identity.config import Settings
from services.identity.memberships.service import membership_service
from services.identity.messages.service import Outgoing
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
from shared.events.identity import OrganizationRegistered
from shared.problems import Conflict, NotFound

log = structlog.get_logger(__name__)

NEW_ORGANIZATION_ROLES = ["contact", "responsible"]
JOINING_CONTACT_ROLES = ["contact"]


async def complete(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    outbox: Outbox,
    outgoing: Outgoing,
    pending: PendingRegistration,
) -> RegistrationStatus:
    """Both codes verified: the organization (if new) and the user, and their events.

    A contact joining an existing organization is created `pending` (rule 3): it is announced,
    and sees the organization, only once the responsible person or an admin approved it."""
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
        membership="active" if pending.organization is not None else "pending",
    )
    await registrations.add(user)
    pending.completed_at = now
    pending.user_id = user.id
    pending.organization_id = organization.id
    # The hash lives on with the user; the pending row need not keep a second copy.
    pending.password_hash = ""
    await session.flush()
    if user.membership == "pending":
        await membership_service.request(session, clock, settings, outgoing, user, organization)
    else:
        await outbox.add(session, user_registered(user))
    log.info("registration_completed", registration_id=str(pending.id), user_id=str(user.id))
    await _send_login(session, outgoing, user, organization)
    return completed_status(pending, organization, user.membership)


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
    pending: PendingRegistration, organization: Organization, membership: str
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
        membership=membership,
    )


async def _send_login(
    session: AsyncSession, outgoing: Outgoing, user: User, organization: Organization
) -> None:
    """Queued with the registration, sent once it committed; the answer carries the login too."""
    name = organization.short_name or organization.full_name
    number = customer_number_text(organization.customer_number)
    text = (
        f"Здравствуйте, {user.full_name}!\n\n"
        f"Регистрация в Kabinet завершена.\n"
        f"Ваш логин: {user.email}\n"
    )
    if user.membership == "pending":
        text += (
            f"Доступ к организации {name} откроется, когда его подтвердит ответственное лицо "
            "организации; мы сообщим об этом письмом.\n"
        )
    else:
        text += f"Организация: {name}, номер клиента {number}.\n"
    await outgoing.queue(
        session,
        channel="email",
        to=user.email,
        subject="Регистрация в Kabinet завершена",
        text=text,
    )
