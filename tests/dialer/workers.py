"""A dialer replica for the concurrency and fault tests: its own process, a shared fast clock,
and a fake provider whose calls end after a planned duration (module level, for 'spawn')."""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from crm.models import Call
from dialer.calls import apply_status
from dialer.jobs import dial_pass, recover_calls
from dialer.telephony import FakeTelephony
from duecall.context import AppContext
from duecall.db import transaction
from duecall.settings import Settings

# What a placed call turns into, by a hash of its call_id: (share, final status, seconds).
OUTCOMES = (
    (45, "completed", 150),  # answered
    (20, "busy", 15),
    (30, "no-answer", 30),
    (5, "failed", 5),
)


class SharedClock:
    """`start` at wall-clock `origin`, running `rate` times as fast: the same in every process."""

    def __init__(self, start: datetime, origin: float, rate: float) -> None:
        self._start, self._origin, self._rate = start, origin, rate

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.time() - self._origin) * self._rate)

    def sleep_until(self, instant: datetime) -> None:
        time.sleep(max(0.0, (instant - self.now()).total_seconds() / self._rate))


@dataclass
class Planned:
    call_id: str
    sid: str
    status: str
    ends_at: datetime
    answered: bool


def outcome(call_id: str) -> tuple[str, int, bool]:
    point = zlib.crc32(call_id.encode()) % 100
    for share, status, seconds in OUTCOMES:
        if point < share:
            return status, seconds, status == "completed"
        point -= share
    raise AssertionError("shares sum to 100")


def deliver(context: AppContext, planned: Planned, zone: ZoneInfo) -> None:
    """The provider's callbacks for a call that has ended, as the webhook applies them."""
    with transaction(context.sessions) as session:
        call = session.get(Call, planned.call_id)
        assert call is not None
        for status in ["in-progress", planned.status] if planned.answered else [planned.status]:
            apply_status(
                session, call, status=status, provider_call_sid=planned.sid,
                duration_s=int((planned.ends_at - call.started_at).total_seconds()),
                answered_by=None, now=planned.ends_at, policy=context.policy, zone=zone,
            )  # fmt: skip


def run_dialer(url: str, start: datetime, origin: float, rate: float, until: datetime) -> int:
    """Dial passes until `until`, then end every call still live; returns the calls claimed."""
    settings = Settings(DUECALL_DATABASE_URL=url, DUECALL_SCHEDULER="off")
    clock = SharedClock(start, origin, rate)
    context = AppContext.from_settings(settings, clock)
    zone = ZoneInfo(settings.default_timezone)
    telephony = FakeTelephony()
    pending: list[Planned] = []
    seen = claimed = 0
    try:
        while clock.now() < until:
            recover_calls(context)
            claimed += dial_pass(context, telephony).claimed
            for placed in telephony.calls[seen:]:
                status, seconds, answered = outcome(placed.outbound.call_id)
                with context.sessions() as session:
                    call = session.get(Call, placed.outbound.call_id)
                    assert call is not None
                    ends_at = call.started_at + timedelta(seconds=seconds)
                pending.append(
                    Planned(
                        placed.outbound.call_id, placed.provider_call_sid, status, ends_at, answered
                    )
                )
            seen = len(telephony.calls)
            now = clock.now()
            for planned in [p for p in pending if p.ends_at <= now]:
                deliver(context, planned, zone)
                pending.remove(planned)
        for planned in pending:
            clock.sleep_until(planned.ends_at)
            deliver(context, planned, zone)
    finally:
        context.close()
    return claimed
