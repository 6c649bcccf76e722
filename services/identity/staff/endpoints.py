"""Staff accounts (agents, admins), created by an admin."""

from fastapi import APIRouter

from services.identity.dependencies import IdentityAdmin, SettingsDep
from services.identity.staff.schemas import StaffCreate, StaffRead
from services.identity.staff.service import staff_service
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["staff"], responses=PROBLEM_RESPONSES)


@router.post("/api/v1/staff", response_model=StaffRead, status_code=201)
async def create_staff_user(
    body: StaffCreate,
    admin: IdentityAdmin,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> StaffRead:
    """A new agent or admin; a staff e-mail already in use answers 409."""
    user = await staff_service.create(session, settings, clock, outbox, body)
    return StaffRead.of(user)
