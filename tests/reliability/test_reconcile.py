"""The recovery job settles calls whose callbacks never came from the provider's own record."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from crm.models import Call
from dialer.jobs import DialGuard, dial_tick, recover_calls, refresh_queues
from dialer.telephony import FakeTelephony, ProviderCall
from duecall.clock import FixedClock
from duecall.context import AppContext
from tests.dialer.conftest import add_accounts, add_campaign


def test_calls_left_open_take_the_status_the_provider_gives(
    context: AppContext, clock: FixedClock, telephony: FakeTelephony
) -> None:
    with context.sessions() as session:
        add_accounts(session, 3, prefix="R")
        add_campaign(session, max_concurrent=10, calls_per_second=10.0)
        session.commit()
    refresh_queues(context)
    report = dial_tick(context, telephony, DialGuard())
    assert report is not None and report.placed == 3
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
