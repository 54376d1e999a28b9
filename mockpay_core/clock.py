"""Clocks: the engine asks one for the time and never reads the wall clock itself.

``SystemClock`` is the real time; ``SimulatedClock`` starts where you say and moves only
when told, so days of retries and expiries replay in milliseconds and a seeded run is
reproducible. All times are timezone-aware UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that stands still until ``advance`` or ``set`` moves it (never backwards)."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by ``delta`` (a timedelta or seconds) and return the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("a simulated clock does not go backwards")
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("needs a timezone-aware time")
        with self._lock:
            if when < self._now:
                raise ValueError("a simulated clock does not go backwards")
            self._now = when.astimezone(UTC)
            return self._now
