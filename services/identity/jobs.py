"""identity's scheduled work, each job run by one replica at a time."""

from services.identity.registration.jobs import delete_expired_registrations
from shared.jobs import Job

jobs: list[Job] = [
    # Rule 3: a pending registration expires after 24 hours; hourly is soon enough to drop it.
    Job("delete_expired_registrations", every_seconds=3600, run=delete_expired_registrations),
]
