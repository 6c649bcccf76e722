"""Callback requests: left by anyone, worked by agents (rule 10)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.helpdesk.callbacks.schemas import (
    CallbackAsked,
    CallbackPage,
    CallbackRead,
    CallbackScheduled,
    CallbackStatus,
)
from services.helpdesk.callbacks.service import callback_service
from services.helpdesk.dependencies import SettingsDep
from shared.auth import StaffPrincipal
from shared.db import SessionDep
from shared.pagination import PageDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep

router = APIRouter(tags=["callbacks"], responses=PROBLEM_RESPONSES)


def client_address(request: Request) -> str | None:
    """The caller's address as the gateway states it (it replaces any the client sent)."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",", 1)[0].strip()[:64] or None
    return request.client.host if request.client else None


def _read(callback: object) -> CallbackRead:
    return CallbackRead.model_validate(callback, from_attributes=True)


@router.post("/api/v1/callbacks", response_model=CallbackScheduled, status_code=201)
async def request_callback(
    body: CallbackAsked,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> CallbackScheduled:
    """Name, phone and topic; support calls back at its next opening (at once if open).
    Limited per phone number and per address (429 with Retry-After)."""
    callback = await callback_service.request(
        session, clock, settings, body, client_address(request)
    )
    return CallbackScheduled(id=callback.id, scheduled_for=callback.scheduled_for)


@router.get("/api/v1/callbacks", response_model=CallbackPage)
async def list_callbacks(
    staff: StaffPrincipal,
    session: SessionDep,
    page: PageDep,
    status: Annotated[CallbackStatus | None, Query()] = "scheduled",
) -> CallbackPage:
    """The calls to make, the earliest scheduled first (`status=done` for those made)."""
    callbacks, next_cursor = await callback_service.page(session, status, page)
    return CallbackPage(items=[_read(c) for c in callbacks], next_cursor=next_cursor)


@router.post("/api/v1/callbacks/{callback_id}/done", response_model=CallbackRead)
async def mark_callback_done(
    callback_id: uuid.UUID, staff: StaffPrincipal, session: SessionDep, clock: ClockDep
) -> CallbackRead:
    return _read(await callback_service.done(session, clock, staff, callback_id))
