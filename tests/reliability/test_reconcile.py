"""The recovery job settles calls whose callbacks never came from the provider's own record."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from crm.models import Call
from dialer.calls import NEVER_PLACED_AFTER
from dialer.jobs import DialGuard, dial_tick, recover_calls, refresh_queues
from dialer.queue import CLAIM_TTL
from dialer.telephony import FakeTelephony, ProviderCall
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.errors import ProviderError
from duecall.settings import Settings
from tests.conftest import NOW
from tests.dialer.conftest import add_accounts, add_campaign


def dial(context: AppContext, telephony: FakeTelephony, accounts: int) -> None:
    """A campaign over `accounts` accounts, each called once by a dialer pass."""
    with context.sessions() as session:
        add_accounts(session, accounts, prefix="R")
        add_campaign(session, max_concurrent=10, calls_per_second=10.0)
        session.commit()
    refresh_queues(context)
    report = dial_tick(context, telephony, DialGuard())
    assert report is not None and report.placed == accounts


def unreachable(number: str) -> list[ProviderCall]:
    raise ProviderError("the provider could not be reached (timeout)", retryable=True)


def test_calls_left_open_take_the_status_the_provider_gives(
    context: AppContext, clock: FixedClock, telephony: FakeTelephony
) -> None:
    dial(context, telephony, 3)
    answered, rang, never = telephony.calls
    # No callback came for any of them. The second one's sid was never stored (the dialer died
    # between the provider's answer and its commit); the third the provider never had.
    telephony.outcomes[answered.provider_call_sid] = ProviderCall(
        answered.provider_call_sid, "completed", duration_s=95, answered_by="human"
    )
    telephony.outcomes[rang.provider_call_sid] = ProviderCall(rang.provider_call_sid, "no-answer")
    telephony.calls.remove(never)
    with context.sessions() as session, session.begin():
        session.execute(
            update(Call)
            .where(Call.call_id.in_([rang.outbound.call_id, never.outbound.call_id]))
            .values(provider_call_sid=None)
        )

    clock.advance(timedelta(minutes=1))  # too soon: the calls may still be ringing
    assert recover_calls(context, telephony) == 0
    clock.advance(timedelta(minutes=10))
    assert recover_calls(context, telephony) == 3

    with context.sessions() as session:
        calls = {c.call_id: c for c in session.scalars(select(Call))}
    first, second, third = (calls[c.outbound.call_id] for c in (answered, rang, never))
    assert (first.status, first.duration_s, first.answered_by) == ("completed", 95, "human")
    assert (second.status, second.provider_call_sid) == ("no-answer", rang.provider_call_sid)
    assert second.disposition == "RNR"
    assert third.status == "lost" and third.provider_call_sid is None


class _MovingClock(FixedClock):
    """Time that moves a second at every reading: a recovery pass takes time."""

    def now(self) -> datetime:
        self.advance(timedelta(seconds=1))
        return super().now()


def _one_call_without_its_sid(context: AppContext, telephony: FakeTelephony) -> Call:
    """One call the provider has (it will say busy) whose sid the CRM never stored."""
    dial(context, telephony, 1)
    (placed,) = telephony.calls
    telephony.outcomes[placed.provider_call_sid] = ProviderCall(placed.provider_call_sid, "busy")
    with context.sessions() as session, session.begin():
        session.execute(update(Call).values(provider_call_sid=None))
    with context.sessions() as session:
        call = session.scalars(select(Call)).one()
        session.expunge(call)
    return call


def _status(context: AppContext) -> tuple[str, str | None]:
    with context.sessions() as session:
        call = session.scalars(select(Call)).one()
        return call.status, call.provider_call_sid


def test_a_call_coming_of_age_during_the_pass_is_asked_about_before_it_is_written_off(
    api_settings: Settings, telephony: FakeTelephony
) -> None:
    clock = _MovingClock(NOW)
    context = AppContext.from_settings(api_settings, clock)
    try:
        call = _one_call_without_its_sid(context, telephony)
        # The pass starts half a second before the call is old enough to be looked up.
        clock.set(call.started_at + NEVER_PLACED_AFTER - timedelta(seconds=1.5))
        assert recover_calls(context, telephony) == 0
        assert _status(context) == ("initiated", None)
        assert recover_calls(context, telephony) == 1
        assert _status(context) == ("busy", telephony.calls[0].provider_call_sid)
    finally:
        context.close()


def test_a_call_the_provider_cannot_be_asked_about_stays_open_until_its_claim_lapses(
    context: AppContext,
    clock: FixedClock,
    telephony: FakeTelephony,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    call = _one_call_without_its_sid(context, telephony)
    asked = telephony.calls_to
    monkeypatch.setattr(telephony, "calls_to", unreachable)
    clock.set(call.started_at + NEVER_PLACED_AFTER + timedelta(minutes=1))
    assert recover_calls(context, telephony) == 0
    assert _status(context) == ("initiated", None)

    monkeypatch.setattr(telephony, "calls_to", asked)
    assert recover_calls(context, telephony) == 1
    assert _status(context) == ("busy", telephony.calls[0].provider_call_sid)


def test_without_the_provider_a_call_left_unasked_ends_when_its_claim_lapses(
    context: AppContext,
    clock: FixedClock,
    telephony: FakeTelephony,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    call = _one_call_without_its_sid(context, telephony)
    monkeypatch.setattr(telephony, "calls_to", unreachable)
    clock.set(call.started_at + CLAIM_TTL + timedelta(seconds=1))
    assert recover_calls(context, telephony) == 1
    assert _status(context) == ("lost", None)
