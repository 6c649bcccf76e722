"""Further staff are created by an admin (rule 7); they belong to no organization."""

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.accounts.announcements import user_registered
from services.identity.accounts.passwords import check_password_rules, hash_secret
from services.identity.config import Settings
from services.identity.models import User
from services.identity.requisites import RequisiteError, normalize_email, normalize_phone
from services.identity.staff.repository import StaffRepository
from services.identity.staff.schemas import StaffCreate
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.problems import Conflict, InvalidInput

DUPLICATE_EMAIL = "A staff member with this e-mail already exists"


class StaffService:
    async def create(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        outbox: Outbox,
        asked: StaffCreate,
    ) -> User:
        email = _checked("email", asked.email, _staff_email)
        phone = _checked("phone", asked.phone, normalize_phone) if asked.phone else None
        full_name = " ".join(asked.full_name.split())
        if not full_name:
            raise InvalidInput("full_name", "is required")
        check_password_rules(asked.password, settings.password_min_length)
        staff = StaffRepository(session)
        if await staff.with_email(email) is not None:
            raise Conflict(DUPLICATE_EMAIL)
        user = User(
            organization_id=None,
            full_name=full_name,
            email=email,
            phone=phone,
            password_hash=await hash_secret(asked.password),
            roles=[asked.role],
            created_at=clock.now(),
        )
        try:
            await staff.add(user)
        except IntegrityError as error:
            # Two admins creating the same e-mail at once: the unique index decides.
            raise Conflict(DUPLICATE_EMAIL) from error
        await outbox.add(session, user_registered(user))
        return user


def _staff_email(value: str) -> str:
    # Lower-cased whole, like the first admin's, so one address is one staff login.
    return normalize_email(value).lower()


def _checked(field: str, value: str, normalize: Callable[[str], str]) -> str:
    try:
        return normalize(value)
    except RequisiteError as error:
        raise InvalidInput(field, str(error)) from error


staff_service = StaffService()
