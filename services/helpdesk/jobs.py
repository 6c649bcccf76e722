"""helpdesk's scheduled work, each job run by one replica at a time."""

from services.helpdesk.calendar.bootstrap import seed_production_calendar
from shared.jobs import Job

jobs: list[Job] = [
    # A service running through New Year still has the next year's calendar.
    Job(name="seed_production_calendar", every_seconds=6 * 3600, run=seed_production_calendar),
]
