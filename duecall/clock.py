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
    """Starts at `start` and runs forward in real time, `rate` times as fast.

    With `origin` (a Unix time) the clock read `start` at that wall-clock instant, so every
    process given the same start and origin reads the same time (server replicas, a restarted
    server); without it, the clock starts when it is made and follows the monotonic clock.
    """

    def __init__(self, start: datetime, rate: float = 1.0, *, origin: float | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("clock start must be timezone-aware")
        self._start = start
        self._rate = rate
        if origin is None:
            self._elapsed = time.monotonic
            self._origin = time.monotonic()
        else:
            self._elapsed = time.time
            self._origin = origin

    @property
    def rate(self) -> float:
        return self._rate

    def now(self) -> datetime:
        elapsed = (self._elapsed() - self._origin) * self._rate
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


def clock_for(start: datetime | None, rate: float = 1.0, origin: float | None = None) -> Clock:
    """The clock DUECALL_CLOCK (DUECALL_CLOCK_RATE, DUECALL_CLOCK_ORIGIN) ask for: real time when
    unset."""
    return SystemClock() if start is None else StartedClock(start, rate, origin=origin)
