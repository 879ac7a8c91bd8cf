"""Scheduled work: dialer passes and the nightly job, as several replicas run them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.models import Account, Call
from dialer.jobs import dial_pass, nightly
from dialer.models import JobRun
from dialer.queue import refresh
from dialer.telephony import FakeTelephony
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.errors import ProviderError
from duecall.settings import Settings
from tests.conftest import NOW
from tests.dialer.conftest import add_accounts, add_campaign
from tests.dialer.test_queue import RBI, TODAY


def test_nightly_runs_once_per_night_across_replicas(
    context: AppContext, api_settings: Settings, clock: FixedClock
) -> None:
    with context.sessions() as session:
        add_accounts(session, 3, dpd=29, due_date=TODAY - timedelta(days=30))
        session.commit()
    replica = AppContext.from_settings(api_settings, clock)
    try:
        assert [nightly(context), nightly(replica), nightly(context)] == [True, False, False]
        with context.sessions() as session:
            assert set(session.scalars(select(Account.dpd))) == {30}
        clock.advance(timedelta(days=1))
        assert [nightly(replica), nightly(context)] == [True, False]
    finally:
        replica.close()
    with context.sessions() as session:
        runs = session.scalars(select(JobRun.period).where(JobRun.job == "nightly")).all()
    assert sorted(runs) == ["2026-03-02", "2026-03-03"]


def test_dial_pass_claims_places_and_reports(context: AppContext, telephony: FakeTelephony) -> None:
    with context.sessions() as session:
        ids = add_accounts(session, 5)
        campaign = add_campaign(session, max_concurrent=3)
        refresh(session, campaign, now=NOW, today=TODAY, policy=RBI)
        session.commit()
    telephony.fail_next(ProviderError("invalid number (Twilio 21211)"))
    report = dial_pass(context, telephony)
    assert (report.claimed, report.placed, report.failed, report.blocked) == (3, 2, 1, 0)
    assert report.campaigns == ["test campaign"]
    with context.sessions() as session:
        calls = session.scalars(select(Call).order_by(Call.started_at)).all()
    assert [c.status for c in calls] == ["failed", "initiated", "initiated"]
    assert {c.account_id for c in calls} == set(ids[:3])
    assert [c.outbound.call_id for c in telephony.calls] == [c.call_id for c in calls[1:]]
    # Two calls are live and one slot is free again: the next pass takes one more.
    assert dial_pass(context, telephony).claimed == 1


def test_dial_pass_leaves_a_closed_campaign_alone(
    context: AppContext, telephony: FakeTelephony, clock: FixedClock
) -> None:
    with context.sessions() as session:
        add_accounts(session, 2)
        campaign = add_campaign(session, days=["tue"])  # NOW is a Monday
        refresh(session, campaign, now=NOW, today=TODAY, policy=RBI)
        session.commit()
    assert dial_pass(context, telephony).claimed == 0
    clock.advance(timedelta(days=1))
    assert dial_pass(context, telephony).claimed == 2
