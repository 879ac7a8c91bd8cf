"""Graceful shutdown: on SIGTERM a server stops placing calls at once and lets live ones finish.

`Drain` is the process's shutdown state (on the AppContext): once it has begun, the dialer
claims and places nothing more (`dialer.jobs.dial_pass`) and requests to place a call get 503
(`dialer.service.call_now`), while webhooks are answered as usual. `DrainingServer` is uvicorn
with that first step added: the first SIGTERM or SIGINT begins the drain and the server keeps
listening until no call that was live when the drain began is still going (nor waiting for its
recording callback), or DUECALL_DRAIN_TIMEOUT has passed; then it shuts down as uvicorn does.
A second signal stops it at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from datetime import datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

import uvicorn
from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from crm.models import Call
from dialer.calls import TERMINAL
from duecall.db import reading

if TYPE_CHECKING:  # the context holds a Drain: imported for types only
    from duecall.context import AppContext

log = logging.getLogger(__name__)

# Twilio posts the recording of an answered call shortly after it ends; wait this long for it.
RECORDING_GRACE = timedelta(seconds=30)
CHECK_EVERY_TICKS = 5  # uvicorn ticks every 0.1 s


class Drain:
    """Whether this process is shutting down, since when, and until when it may wait."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._began_at: datetime | None = None
        self._deadline: float | None = None

    @property
    def draining(self) -> bool:
        return self._began_at is not None

    @property
    def began_at(self) -> datetime | None:
        return self._began_at

    def begin(self, *, at: datetime, timeout: float) -> bool:
        """Start draining (once): False when it had already begun."""
        with self._lock:
            if self._began_at is not None:
                return False
            self._began_at = at
            self._deadline = time.monotonic() + timeout
            return True

    def expired(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline


def calls_in_progress(engine: Engine, *, since: datetime, now: datetime) -> int:
    """Calls that started by `since` and are not over: live, or ended and answered less than
    RECORDING_GRACE ago without their recording yet."""
    with reading(engine) as conn:
        count = conn.scalar(
            select(func.count())
            .select_from(Call)
            .where(
                Call.started_at <= since,
                or_(
                    Call.status.not_in(TERMINAL),
                    and_(
                        Call.status == "completed",
                        Call.answered_at.is_not(None),
                        Call.recording_url.is_(None),
                        Call.ended_at > now - RECORDING_GRACE,
                    ),
                ),
            )
        )
    return int(count or 0)


class DrainingServer(uvicorn.Server):
    """uvicorn that drains before it shuts down (see the module docstring)."""

    def __init__(self, config: uvicorn.Config, *, context: AppContext) -> None:
        super().__init__(config)
        self._context = context

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        context = self._context
        if context.drain.begin(at=context.clock.now(), timeout=context.settings.drain_timeout):
            log.info(
                "%s: placing no more calls; serving live calls for up to %.0f s",
                signal.Signals(sig).name,
                context.settings.drain_timeout,
            )
            return
        log.info("%s again: stopping now", signal.Signals(sig).name)
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if await super().on_tick(counter):
            return True
        drain = self._context.drain
        if not drain.draining or counter % CHECK_EVERY_TICKS:
            return False
        if drain.expired():
            log.warning("drain timeout: shutting down with calls still in progress")
            return True
        assert drain.began_at is not None
        try:
            live = await asyncio.to_thread(
                calls_in_progress,
                self._context.engine,
                since=drain.began_at,
                now=self._context.clock.now(),
            )
        except SQLAlchemyError as exc:  # the store is away: keep serving until it is back
            log.warning("drain: cannot count live calls (%s)", type(exc).__name__)
            return False
        if live:
            return False
        log.info("drained: no call in progress; shutting down")
        return True
