"""Faults: the simulator misbehaving as Twilio can, and a dialer killed in the middle of a batch.

Nothing may be lost (every claimed account ends with a call that has an outcome, or is released)
and nothing dialled twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select, update

from crm.models import Account, Call
from dialer.calls import NEVER_PLACED_AFTER, TERMINAL
from dialer.jobs import recover_calls
from dialer.models import Campaign
from duecall.clock import FixedClock
from tests.conftest import NOW
from tests.dialer.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER_ID, Live

PERSONAS = ("payer", "busy", "no_answer", "refuser", "voicemail")


def sim_calls(live: Live) -> list[dict[str, object]]:
    calls: list[dict[str, object]] = live.control.get("/_sim/calls").json()
    return calls


def test_every_fault_at_once_loses_nothing_and_dials_nothing_twice(live: Live) -> None:
    accounts = [a for p in PERSONAS for a in live.register(p, 6, p.upper())]
    live.faults(
        rest_429=0.1, rest_500=0.1, duplicate_callbacks=0.5, reorder_callbacks=0.5,
        callback_retries=2, drop_calls=0.3, failed_calls=0.15,
    )  # fmt: skip
    report = live.dial()
    assert report.claimed == len(accounts) == report.placed + report.failed
    assert report.failed > 0  # some 429s and 500s
    calls = live.settle()
    assert sorted(calls) == sorted(accounts)  # one call each
    provider = {c["sid"]: c for c in sim_calls(live)}
    assert Counter(c["to"] for c in provider.values()).most_common(1)[0][1] == 1
    for call in calls.values():
        assert call.status in TERMINAL and call.disposition is not None
        if call.provider_call_sid is None:  # refused by the REST API
            assert call.failure_reason is not None and "Twilio 20" in call.failure_reason
        else:  # whatever order the callbacks came in, the call ends as the provider's did
            assert call.status == provider[call.provider_call_sid]["status"]
    assert {c.status for c in calls.values()} >= {"completed", "failed", "busy", "no-answer"}
    with live.context.sessions() as session:
        assert (
            session.scalars(select(Account.claimed_by).where(Account.claimed_by.is_not(None))).all()
            == []
        )


def test_a_dialer_killed_mid_batch_loses_nothing(live: Live) -> None:
    accounts = live.register("busy", 8, "KILL")
    with live.context.sessions() as session:
        session.execute(update(Campaign).values(calls_per_second=0.5, max_concurrent=8))
        session.commit()
    settings = live.context.settings
    env = {
        **os.environ,
        "DUECALL_DATABASE_URL": settings.database_url,
        "DUECALL_CLOCK": NOW.isoformat(),
        "DUECALL_TELEPHONY": "twilio",
        "DUECALL_TWILIO_API_BASE_URL": settings.twilio_api_base_url,
        "DUECALL_PUBLIC_BASE_URL": settings.public_base_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": CALLER_ID,
    }
    dialer = subprocess.Popen(
        [sys.executable, "-m", "duecall.cli", "dial", "--once"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:  # until it has placed two calls of its batch of eight (one every 2 s)
            with live.context.sessions() as session:
                placed = session.scalars(
                    select(Call).where(Call.provider_call_sid.is_not(None))
                ).all()
            if len(placed) >= 2:
                break
            assert time.monotonic() < deadline and dialer.poll() is None, "the dialer never placed"
            time.sleep(0.05)
        dialer.send_signal(signal.SIGKILL)
    finally:
        dialer.wait()
    with live.context.sessions() as session:
        claimed = session.scalars(select(Call)).all()
    assert len(claimed) == 8 and any(c.provider_call_sid is None for c in claimed)

    # After the claim's grace for placing, recover() ends the calls that were never placed.
    assert isinstance(live.context.clock, FixedClock)
    live.context.clock.set(
        max(c.started_at for c in claimed) + NEVER_PLACED_AFTER + timedelta(seconds=1)
    )
    recovered = recover_calls(live.context)
    calls = live.settle()
    assert sorted(calls) == sorted(accounts)
    assert recovered == sum(1 for c in calls.values() if c.provider_call_sid is None) > 0
    for call in calls.values():
        assert call.status in TERMINAL and call.disposition is not None
        assert call.status == ("busy" if call.provider_call_sid else "lost")
    assert Counter(c["to"] for c in sim_calls(live)).most_common(1)[0][1] == 1
    with live.context.sessions() as session:
        assert (
            session.scalars(select(Account.claimed_by).where(Account.claimed_by.is_not(None))).all()
            == []
        )
    # The recovered accounts are not dialled again at once: their retry is planned.
    assert live.dial().claimed == 0
