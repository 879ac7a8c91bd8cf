"""Clocks: real time, a clock started at a given instant (DUECALL_CLOCK), and a fixed clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...

    def sleep_until(self, instant: datetime) -> None:
        """Return once `instant` has been reached on this clock."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, instant: datetime) -> None:
        time.sleep(max(0.0, (instant - self.now()).total_seconds()))


class StartedClock:
    """Starts at `start` and runs forward in real time, `rate` times as fast."""

    def __init__(self, start: datetime, rate: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("clock start must be timezone-aware")
        self._start = start
        self._rate = rate
        self._origin = time.monotonic()

    @property
    def rate(self) -> float:
        return self._rate

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin) * self._rate
        return self._start + timedelta(seconds=elapsed)

    def sleep_until(self, instant: datetime) -> None:
        time.sleep(max(0.0, (instant - self.now()).total_seconds() / self._rate))


class FixedClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("clock instant must be timezone-aware")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at

    def sleep_until(self, instant: datetime) -> None:
        self._at = max(self._at, instant)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def clock_for(start: datetime | None, rate: float = 1.0) -> Clock:
    """The clock DUECALL_CLOCK (and DUECALL_CLOCK_RATE) ask for: real time when unset."""
    return SystemClock() if start is None else StartedClock(start, rate)
