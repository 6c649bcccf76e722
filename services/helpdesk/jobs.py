"""helpdesk's scheduled work, each job run by one replica at a time (an advisory lock), and
each effect guarded in the database too, so that two replicas never apply one twice."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.calendar.bootstrap import seed_production_calendar
from services.helpdesk.config import Settings
from services.helpdesk.notifications.service import notification_service
from services.helpdesk.tickets.service import ticket_service
from shared.bus.consumer import handler_outbox, handler_settings
from shared.clock import Clock
from shared.jobs import Job, JobFn, own_transactions
from shared.mail import Mailer

# The breach flag is set within this long of the deadline passing.
SLA_CHECK_SECONDS = 15
# A notification waits at most this long for its first try.
MAIL_SECONDS = 5


async def mark_sla_breaches(session: AsyncSession, clock: Clock) -> None:
    """Rule 2: `breached` on every unanswered ticket whose first-response deadline passed."""
    await ticket_service.mark_breaches(session, clock)


async def auto_close_tickets(session: AsyncSession, clock: Clock) -> None:
    """Rule 5: tickets waiting for a customer who did not react close with reason `auto`."""
    await ticket_service.auto_close(
        session, clock, handler_outbox(session), handler_settings(session, Settings)
    )


def send_notifications(settings: Settings) -> JobFn:
    """Rule 8: the notification outbox handed to the mail server, retried while it is down."""
    mailer = Mailer(settings)

    async def run(session: AsyncSession, clock: Clock) -> None:
        # The mails are claimed, sent and recorded in short transactions of their own.
        await notification_service.send_due(own_transactions(session), clock, mailer)

    return run


def jobs_for(settings: Settings) -> list[Job]:
    """The jobs with this service's settings (the mail server's address, …)."""
    return [
        *jobs,
        Job(
            name="send_notifications", every_seconds=MAIL_SECONDS, run=send_notifications(settings)
        ),
    ]


jobs: list[Job] = [
    # A service running through New Year still has the next year's calendar.
    Job(name="seed_production_calendar", every_seconds=6 * 3600, run=seed_production_calendar),
    Job(name="mark_sla_breaches", every_seconds=SLA_CHECK_SECONDS, run=mark_sla_breaches),
    Job(name="auto_close_tickets", every_seconds=SLA_CHECK_SECONDS, run=auto_close_tickets),
]
