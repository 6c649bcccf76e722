"""licensing's scheduled work, each job run by one replica at a time."""

from shared.jobs import Job

jobs: list[Job] = []
