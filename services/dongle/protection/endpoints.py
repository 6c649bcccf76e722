"""Connecting and refusing the key protection service; its history."""

from fastapi import APIRouter

from services.dongle.keys.auth import key_viewer
from services.dongle.keys.endpoints import SerialPath
from services.dongle.protection.schemas import History, HistoryItem, SubscriptionRead
from services.dongle.protection.service import protection_service
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["key protection"], responses=PROBLEM_RESPONSES)


@router.post("/api/v1/keys/{serial}/protection", response_model=SubscriptionRead, status_code=201)
async def connect_protection(
    serial: SerialPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> SubscriptionRead:
    """Rule 2: a subscription waiting for payment; licensing invoices `KEY_PROTECTION` at the
    price in force for the organization's residency, and `price` / `invoice_id` appear once it
    has. Not CodeMeter or no active maintenance: 422; a live subscription already: 409."""
    subscription, key = await protection_service.connect(session, clock, outbox, principal, serial)
    return SubscriptionRead.of_key(subscription, key)


@router.delete("/api/v1/keys/{serial}/protection", response_model=SubscriptionRead)
async def refuse_protection(
    serial: SerialPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> SubscriptionRead:
    """Rule 6: the customer refuses the service; reconnecting later is paid again."""
    subscription, key = await protection_service.refuse(session, clock, outbox, principal, serial)
    return SubscriptionRead.of_key(subscription, key)


@router.get("/api/v1/keys/{serial}/protection/history", response_model=History)
async def protection_history(
    serial: SerialPath, principal: CurrentPrincipal, session: SessionDep
) -> History:
    """Rule 8: every change of the key's subscriptions — when, from, to, why, who."""
    changes = await protection_service.history(session, key_viewer(principal), serial)
    return History(items=[HistoryItem.of(change) for change in changes])
