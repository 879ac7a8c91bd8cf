"""The simulated clock: simulated time runs `speed` times as fast as real time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from duecall.clock import StartedClock


class SimClock:
    """Every simulated wait (ringing, speech, pauses, timeouts) lasts `seconds / speed` for real."""

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._clock = StartedClock(start or datetime.now(UTC), rate=speed)

    def now(self) -> datetime:
        return self._clock.now()

    def real_seconds(self, simulated: float) -> float:
        return max(0.0, simulated) / self.speed

    async def sleep(self, simulated: float) -> None:
        await asyncio.sleep(self.real_seconds(simulated))
