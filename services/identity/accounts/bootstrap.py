"""The first admin, created from configuration at start (password printed if generated)."""

import secrets

import structlog

from services.identity.accounts.passwords import hash_secret
from services.identity.config import Settings
from services.identity.models import User
from services.identity.staff.repository import StaffRepository
from shared.db import hold_advisory_lock
from shared.service import Runtime

log = structlog.get_logger(__name__)


async def ensure_first_admin(runtime: Runtime) -> None:
    settings = runtime.settings_as(Settings)
    email = settings.admin_email.strip().lower()
    if not email:
        return
    async with runtime.sessionmaker() as session, session.begin():
        # Replicas starting together must not both create the admin.
        await hold_advisory_lock(session, "first-admin")
        staff = StaffRepository(session)
        if await staff.with_email(email) is not None:
            return
        password = settings.admin_password
        generated = not password
        password = password or secrets.token_urlsafe(12)
        await staff.add(
            User(
                organization_id=None,
                full_name="Administrator",
                email=email,
                phone=None,
                password_hash=await hash_secret(password),
                roles=["admin"],
                created_at=runtime.clock.now(),
            )
        )
    if generated:
        print(f"first admin created: {email} / {password}", flush=True)
    log.info("first_admin_created", email=email, generated_password=generated)
