"""The doubling pause of retried deliveries (identity's messages, helpdesk's notifications)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.retries import Backoff

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
BACKOFF = Backoff(first=timedelta(seconds=10), longest=timedelta(minutes=1))


@dataclass
class Row:
    attempts: int = 0
    next_attempt_at: datetime = T0
    last_error: str | None = None


def test_the_pause_doubles_from_the_first_and_stops_at_the_longest():
    pauses = [BACKOFF.pause(attempts).total_seconds() for attempts in range(0, 7)]
    assert pauses == [10, 10, 20, 40, 60, 60, 60]


def test_a_failed_try_is_counted_and_the_row_waits_its_pause():
    row = Row()
    BACKOFF.postpone(row, T0, "refused")
    BACKOFF.postpone(row, T0 + timedelta(seconds=10), "x" * 5000)
    assert row.attempts == 2
    assert row.next_attempt_at == T0 + timedelta(seconds=30)
    assert row.last_error == "x" * 1000
