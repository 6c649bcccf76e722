"""identity's scheduled work, each job run by one replica at a time."""

from services.identity.config import Settings
from services.identity.messages.jobs import delete_sent_messages, send_messages
from services.identity.registration.jobs import delete_expired_registrations
from shared.jobs import Job

jobs: list[Job] = [
    # Rule 3: a pending registration expires after 24 hours; hourly is soon enough to drop it.
    Job("delete_expired_registrations", every_seconds=3600, run=delete_expired_registrations),
    Job("delete_sent_messages", every_seconds=3600, run=delete_sent_messages),
]


def jobs_for(settings: Settings) -> list[Job]:
    """The jobs with this service's settings (the mail server's and SMS provider's address)."""
    return [
        *jobs,
        # Codes, logins and links a provider refused are retried (rule 9).
        Job(
            "send_messages",
            every_seconds=settings.message_poll_seconds,
            run=send_messages(settings),
        ),
    ]
