"""The clock jumping under the scheduled dialer (dialer.jobs.dial_tick), and the job store
through a database outage.

Forward past the campaign's end: nothing is dialled. Forward past retries and callbacks that
fell due meanwhile: each fires once, however many passes run. Backwards: passes are skipped
(logged, counted) until the clock has caught up, and no account is claimed twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from crm.models import Call
from dialer.calls import apply_status
from dialer.jobs import DialGuard, OutageTolerantJobStore, dial_tick, refresh_queues
from dialer.models import DialQueueEntry
from dialer.telephony import FakeTelephony
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.db import transaction
from tests.conftest import NOW
from tests.dialer.conftest import add_accounts, add_campaign


def skips(context: AppContext, reason: str) -> float:
    value = context.metrics.registry.get_sample_value(
        "duecall_dialer_skips_total", {"reason": reason}
    )
    return value or 0.0


def end_calls(context: AppContext, status: str) -> None:
    """The provider's final callbacks for every live call, at the clock's now."""
    with transaction(context.sessions) as session:
        for call in session.scalars(select(Call).where(Call.ended_at.is_(None))):
            apply_status(
                session, call, status=status, provider_call_sid=call.provider_call_sid or "CA0",
                duration_s=0, answered_by=None, now=context.clock.now(), policy=context.policy,
                zone=ZoneInfo(context.settings.default_timezone),
            )  # fmt: skip


def calls_per_account(context: AppContext) -> Counter[str]:
    with context.sessions() as session:
        return Counter(session.scalars(select(Call.account_id)))


def prepare(context: AppContext, accounts: int) -> list[str]:
    with context.sessions() as session:
        ids = add_accounts(session, accounts, prefix="K")
        add_campaign(session, max_concurrent=20, calls_per_second=10.0)
        session.commit()
    refresh_queues(context)
    return ids


def test_a_jump_past_the_window_end_stops_dialing(
    context: AppContext, clock: FixedClock, telephony: FakeTelephony
) -> None:
    prepare(context, 3)
    guard = DialGuard()
    clock.set(NOW + timedelta(hours=12))  # 22:00 in Mumbai: past the campaign's 21:00
    reports = [dial_tick(context, telephony, guard) for _ in range(3)]
    assert all(r is not None and r.claimed == 0 for r in reports)
    assert telephony.calls == []


def test_retries_due_while_the_clock_jumped_fire_once(
    context: AppContext, clock: FixedClock, telephony: FakeTelephony
) -> None:
    ids = prepare(context, 4)
    guard = DialGuard()
    # Two retries and a callback, due at 10:30, 11:00 and 12:00; the fourth not before 18:00.
    due = [NOW + timedelta(minutes=30), NOW + timedelta(hours=1), NOW + timedelta(hours=2)]
    with transaction(context.sessions) as session:
        for account_id, at in zip(ids, [*due, NOW + timedelta(hours=8)], strict=True):
            session.execute(
                update(DialQueueEntry)
                .where(DialQueueEntry.account_id == account_id)
                .values(due_at=at, reason="retry")
            )
    assert dial_tick(context, telephony, guard) is not None
    assert telephony.calls == []  # nothing due at 10:00

    clock.set(NOW + timedelta(hours=5))  # 15:00: all three overdue at once
    for _ in range(5):
        assert dial_tick(context, telephony, guard) is not None
    assert calls_per_account(context) == Counter(ids[:3])
    end_calls(context, "no-answer")  # RNR: retried two hours later, not now
    for _ in range(5):
        assert dial_tick(context, telephony, guard) is not None
    assert calls_per_account(context) == Counter(ids[:3])
    assert len(telephony.calls) == 3


def test_a_clock_going_back_pauses_the_dialer_until_it_catches_up(
    context: AppContext,
    clock: FixedClock,
    telephony: FakeTelephony,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ids = prepare(context, 6)
    guard = DialGuard()
    first = dial_tick(context, telephony, guard)
    assert first is not None and first.placed == 6
    ahead = clock.now()
    end_calls(context, "busy")  # BUSY: retried 30 minutes later (compliance's gap permitting)

    caplog.set_level(logging.INFO, logger="dialer.jobs")
    clock.set(ahead - timedelta(hours=1))  # corrected backwards, past the retries' due time
    with transaction(context.sessions) as session:  # and the retries are due even then
        session.execute(update(DialQueueEntry).values(due_at=ahead - timedelta(hours=2)))
    for _ in range(3):
        assert dial_tick(context, telephony, guard) is None
    assert skips(context, "clock_backwards") == 3
    assert len(telephony.calls) == 6
    assert "dialer paused: clock backwards" in caplog.text

    clock.set(ahead + timedelta(hours=3))  # caught up: dialing resumes, each account once
    resumed = dial_tick(context, telephony, guard)
    assert resumed is not None and resumed.placed == 6
    assert "dialer resumed" in caplog.text
    for _ in range(3):
        dial_tick(context, telephony, guard)
    assert calls_per_account(context) == Counter(dict.fromkeys(ids, 2))
    with context.sessions() as session:
        call_ids = list(session.scalars(select(Call.call_id)))
    assert len(set(call_ids)) == 12


def test_the_job_store_survives_the_database_going_away(tmp_path: Path) -> None:
    """APScheduler lets these two errors end its thread; here they are logged instead."""
    gone = create_engine(f"sqlite:///{tmp_path / 'missing' / 'jobs.db'}")
    store = OutageTolerantJobStore(engine=gone)

    class Job:
        id = "dial"
        next_run_time = datetime.now(UTC)

        def __getstate__(self) -> dict[str, str]:
            return {"id": self.id}

    store.update_job(Job())  # raises OperationalError in APScheduler's own store
    retry_at = store.get_next_run_time()
    assert retry_at is not None
    assert datetime.now(UTC) < retry_at < datetime.now(UTC) + timedelta(seconds=5)


def test_a_job_store_it_cannot_read_pauses_the_dialer_until_a_pass_runs(
    context: AppContext,
    telephony: FakeTelephony,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The job store lives in the database: while it is away no pass runs to find that out, so
    the store's own failure says the dialer is paused."""
    prepare(context, 2)
    guard = DialGuard()
    gone = create_engine(f"sqlite:///{tmp_path / 'missing' / 'jobs.db'}")
    store = OutageTolerantJobStore(
        engine=gone, on_outage=lambda: guard.skipped(context, "database_unreachable")
    )
    caplog.set_level(logging.INFO, logger="dialer.jobs")
    for _ in range(2):
        with pytest.raises(SQLAlchemyError):
            store.get_due_jobs(datetime.now(UTC))
    assert skips(context, "database_unreachable") == 2
    assert caplog.text.count("dialer paused: database unreachable") == 1

    resumed = dial_tick(context, telephony, guard)
    assert resumed is not None and resumed.placed == 2
    assert "dialer resumed (held: database unreachable)" in caplog.text
