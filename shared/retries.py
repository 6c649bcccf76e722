"""Rows that are sent again later when a provider refuses them (identity's outgoing messages,
helpdesk's notifications): the doubling pause between tries and how a failed try is recorded."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class Retried(Protocol):
    """A row with the three columns a retried delivery keeps."""

    attempts: int
    next_attempt_at: datetime
    last_error: str | None


@dataclass(frozen=True)
class Backoff:
    """`first`, twice that, four times, … never more than `longest`."""

    first: timedelta
    longest: timedelta

    def pause(self, attempts: int) -> timedelta:
        """The pause after the `attempts`-th failed try."""
        return min(self.first * 2 ** max(attempts - 1, 0), self.longest)

    def postpone(self, row: Retried, now: datetime, error: str) -> None:
        """Counts a failed try and sets when the row is due again."""
        row.attempts += 1
        row.last_error = error[:1000]
        row.next_attempt_at = now + self.pause(row.attempts)
