"""The clocks of a ticket, all in working hours through the one engine (rules 2 and 5).

First response: `sla_budget` working hours from `sla_started_at`. Waiting for the customer
stops it (the budget left is kept, the deadline is cleared) and the customer's reaction
restarts it. Auto-close: `auto_close_working_hours` from the moment a ticket started waiting.
Both are stored as absolute times and recomputed when the calendar changes.
"""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.calendar.service import calendar_service
from services.helpdesk.calendar.working_time import (
    ProductionCalendar,
    add_working_hours,
    working_hours_between,
)
from services.helpdesk.models import Ticket
from shared.clock import business_date

WAITING_FOR_CUSTOMER = frozenset({"waiting_for_customer", "solution_proposed"})
# Far enough for any budget here (a few working days) across the New Year holidays.
CALENDAR_SPAN_DAYS = 90


async def calendar_from(
    session: AsyncSession, moment: datetime, latest: datetime | None = None
) -> ProductionCalendar:
    """The production calendar from the day before `moment` for the span the clocks need
    (from `latest` on, when clocks started at several moments are recomputed)."""
    first = business_date(moment) - timedelta(days=1)
    last = business_date(latest or moment) + timedelta(days=CALENDAR_SPAN_DAYS)
    return await calendar_service.calendar(session, first, last)


def start_first_response_clock(
    ticket: Ticket, now: datetime, budget: timedelta, calendar: ProductionCalendar
) -> None:
    ticket.sla_budget = budget
    ticket.sla_started_at = now
    ticket.first_response_due_at = add_working_hours(now, budget, calendar)


def awaiting_first_response(ticket: Ticket) -> bool:
    return ticket.sla_budget is not None and ticket.first_responded_at is None


def record_first_response(ticket: Ticket, now: datetime) -> None:
    if ticket.first_responded_at is not None:
        return
    ticket.first_responded_at = now
    if ticket.sla_budget is not None and ticket.sla_paused_at is None:
        due = ticket.first_response_due_at
        # Answered after the deadline, before the job saw it: breached all the same.
        if due is not None and now > due:
            ticket.breached = True
    ticket.sla_paused_at = None


def pause_first_response_clock(ticket: Ticket, now: datetime, calendar: ProductionCalendar) -> None:
    """The customer has the ball: the working time left is kept, the deadline cleared."""
    if not awaiting_first_response(ticket) or ticket.sla_paused_at is not None:
        return
    assert ticket.sla_budget is not None and ticket.sla_started_at is not None
    spent = working_hours_between(ticket.sla_started_at, now, calendar)
    ticket.sla_budget = max(timedelta(0), ticket.sla_budget - spent)
    ticket.sla_started_at = now
    ticket.sla_paused_at = now
    ticket.first_response_due_at = None


def resume_first_response_clock(
    ticket: Ticket, now: datetime, calendar: ProductionCalendar
) -> None:
    if not awaiting_first_response(ticket) or ticket.sla_paused_at is None:
        return
    assert ticket.sla_budget is not None
    ticket.sla_paused_at = None
    ticket.sla_started_at = now
    ticket.first_response_due_at = add_working_hours(now, ticket.sla_budget, calendar)


def set_auto_close(
    ticket: Ticket, since: datetime, hours: float, calendar: ProductionCalendar
) -> None:
    if ticket.status in WAITING_FOR_CUSTOMER:
        ticket.auto_close_at = add_working_hours(since, hours, calendar)
    else:
        ticket.auto_close_at = None


def recompute(ticket: Ticket, auto_close_hours: float, calendar: ProductionCalendar) -> None:
    """The deadlines again on a changed calendar (a breach already recorded stays)."""
    running = (
        awaiting_first_response(ticket)
        and ticket.sla_paused_at is None
        and not ticket.breached
        and ticket.status != "closed"
    )
    if running:
        assert ticket.sla_budget is not None and ticket.sla_started_at is not None
        ticket.first_response_due_at = add_working_hours(
            ticket.sla_started_at, ticket.sla_budget, calendar
        )
    if ticket.status in WAITING_FOR_CUSTOMER:
        set_auto_close(ticket, ticket.status_changed_at, auto_close_hours, calendar)
