"""A call's life: placing it, its status callbacks in any order, its end and the next try."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm.models import Account, Call
from dialer.calls import NEVER_PLACED_AFTER, Placement, apply_status, place, recover
from dialer.models import Campaign, Channel, DialQueueEntry
from dialer.queue import CLAIM_TTL, Claimed, claim, refresh
from dialer.telephony import FakeTelephony
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.errors import ProviderError, ProviderTimeout
from server import create_app
from tests.conftest import NOW
from tests.dialer.conftest import add_accounts, add_campaign
from tests.dialer.test_queue import RBI, TODAY
from tests.factories import add_call

ZONE = ZoneInfo("Asia/Kolkata")
TOMORROW = datetime(2026, 3, 3, tzinfo=ZONE)


def claimed_call(session: Session, **campaign: object) -> tuple[Campaign, Claimed]:
    add_accounts(session, 1)
    chosen = add_campaign(session, **campaign)
    refresh(session, chosen, now=NOW, today=TODAY, policy=RBI)
    (claimed,) = claim(session, chosen, channel=Channel.BOT, count=1, now=NOW, policy=RBI).claimed
    session.commit()
    return chosen, claimed


def callback(
    session: Session, call_id: str, status: str, at: datetime = NOW, **extra: object
) -> Call:
    call = session.get_one(Call, call_id)
    apply_status(
        session, call, status=status, provider_call_sid=f"CA{call_id}",
        duration_s=extra.get("duration_s"),  # type: ignore[arg-type]
        answered_by=extra.get("answered_by"),  # type: ignore[arg-type]
        now=at, policy=RBI, zone=ZONE,
    )  # fmt: skip
    session.flush()
    return call


def due_at(session: Session, campaign_id: int, account_id: str) -> DialQueueEntry:
    return session.get_one(DialQueueEntry, (campaign_id, account_id))


@pytest.mark.parametrize(
    ("statuses", "disposition"),
    [
        (["initiated", "ringing", "busy"], "BUSY"),
        (["initiated", "ringing", "no-answer"], "RNR"),
        (["initiated", "failed"], "FAILED"),
        (["initiated", "ringing", "canceled"], "FAILED"),
        (["initiated", "ringing", "completed"], "RNR"),  # rang out without an answer
        (["initiated", "ringing", "in-progress", "completed"], "DROPPED"),  # no outcome reached
    ],
)
def test_final_status_gives_the_disposition(
    session: Session, statuses: list[str], disposition: str
) -> None:
    _campaign, claimed = claimed_call(session)
    for status in statuses:
        call = callback(session, claimed.call_id, status)
    assert (call.status, call.disposition, call.ended_at) == (statuses[-1], disposition, NOW)
    session.expire_all()
    assert session.get_one(Account, claimed.account_id).claimed_by is None


def test_a_machine_is_a_voicemail(session: Session) -> None:
    _campaign, claimed = claimed_call(session)
    callback(session, claimed.call_id, "in-progress", answered_by="machine_end_beep")
    call = callback(session, claimed.call_id, "completed", duration_s=25)
    assert (call.disposition, call.duration_s) == ("VOICEMAIL", 25)


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["initiated", "ringing", "in-progress", "completed"]))
)
def test_callbacks_in_any_order_never_move_a_call_backwards(
    session: Session, order: tuple[str, ...]
) -> None:
    _campaign, claimed = claimed_call(session)
    rank = ["queued", "initiated", "ringing", "in-progress", "completed"]
    seen = []
    for status in (*order, *order):  # and every one again, as a retry
        seen.append(rank.index(callback(session, claimed.call_id, status).status))
    assert seen == sorted(seen)
    assert seen[-1] == rank.index("completed")


def test_a_finished_call_stays_as_it_finished(session: Session) -> None:
    _campaign, claimed = claimed_call(session)
    callback(session, claimed.call_id, "busy")
    call = callback(
        session, claimed.call_id, "completed", NOW + timedelta(minutes=1), duration_s=40
    )
    assert (call.status, call.disposition, call.ended_at, call.duration_s) == (
        "busy",
        "BUSY",
        NOW,
        None,
    )


def test_retry_rules_plan_the_next_try(session: Session) -> None:
    campaign, claimed = claimed_call(session)
    callback(session, claimed.call_id, "busy")
    entry = due_at(session, campaign.id, claimed.account_id)
    assert (entry.due_at, entry.reason) == (NOW + timedelta(minutes=30), "BUSY: retry")
    # Two more busy calls today reach the rule's max_per_day: the next try is tomorrow.
    for minutes in (40, 80):
        add_call(
            session,
            claimed.account_id,
            started_at=NOW + timedelta(minutes=minutes),
            disposition="BUSY",
        )
    add_call(
        session,
        claimed.account_id,
        started_at=NOW + timedelta(minutes=90),
        disposition=None,
        status="ringing",
        campaign_id=campaign.id,
        call_id="LAST",
    )
    callback(session, "LAST", "busy", NOW + timedelta(minutes=91))
    entry = due_at(session, campaign.id, claimed.account_id)
    assert (entry.due_at, entry.reason) == (TOMORROW, "BUSY: 4 today (at most 3)")


@pytest.mark.parametrize(
    ("disposition", "callback_at", "expected", "reason"),
    [
        ("PTP", None, TOMORROW, "PTP: next day"),
        (
            "CALLBACK",
            NOW + timedelta(hours=5),
            NOW + timedelta(hours=5) - RBI.callback_tolerance,
            "callback the borrower asked for",
        ),
    ],
)
def test_outcomes_without_a_retry_rule(
    session: Session,
    disposition: str,
    callback_at: datetime | None,
    expected: datetime,
    reason: str,
) -> None:
    campaign, claimed = claimed_call(session)
    call = session.get_one(Call, claimed.call_id)
    call.disposition, call.callback_at = disposition, callback_at  # what the conversation decided
    callback(session, claimed.call_id, "completed", duration_s=100)
    entry = due_at(session, campaign.id, claimed.account_id)
    assert (call.disposition, entry.due_at, entry.reason) == (disposition, expected, reason)


@pytest.mark.parametrize(
    "error",
    [
        ProviderError("invalid number (Twilio 21211): The 'To' number is not valid"),
        ProviderError("the provider refused our credentials (Twilio 20003)"),
        ProviderError("rate limited by the provider (Twilio 20429)", retryable=True),
    ],
)
def test_a_provider_error_fails_the_call_and_releases_the_account(
    context: AppContext, clock: FixedClock, error: ProviderError
) -> None:
    with context.sessions() as session:
        _campaign, claimed = claimed_call(session)
    telephony = FakeTelephony()
    telephony.fail_next(error)
    placement = place(
        context.sessions,
        telephony,
        claimed,
        clock=clock,
        public_base_url="http://x",
        policy=RBI,
        zone=ZONE,
    )
    with context.sessions() as session:
        call = session.get_one(Call, claimed.call_id)
        account = session.get_one(Account, claimed.account_id)
    assert placement is Placement.FAILED
    assert (call.status, call.disposition, call.failure_reason) == ("failed", "FAILED", str(error))
    assert account.claimed_by is None


def test_a_timeout_waits_for_callbacks_then_recover_ends_it(
    context: AppContext, clock: FixedClock
) -> None:
    with context.sessions() as session:
        _campaign, claimed = claimed_call(session)
    telephony = FakeTelephony()
    telephony.fail_next(ProviderTimeout("the provider did not answer in time"))
    placement = place(
        context.sessions,
        telephony,
        claimed,
        clock=clock,
        public_base_url="http://x",
        policy=RBI,
        zone=ZONE,
    )
    assert placement is Placement.UNCONFIRMED
    with context.sessions() as session:
        assert (
            recover(
                session, now=NOW + NEVER_PLACED_AFTER - timedelta(seconds=1), policy=RBI, zone=ZONE
            )
            == 0
        )
        assert (
            recover(
                session, now=NOW + NEVER_PLACED_AFTER + timedelta(seconds=1), policy=RBI, zone=ZONE
            )
            == 1
        )
        call = session.get_one(Call, claimed.call_id)
        session.commit()
        assert (call.status, call.disposition) == ("lost", "FAILED")
        assert call.failure_reason is not None and "never placed" in call.failure_reason
        assert session.get_one(Account, claimed.account_id).claimed_by is None


def test_recover_ends_a_placed_call_with_no_final_status_after_the_claim_ttl(
    session: Session,
) -> None:
    _campaign, claimed = claimed_call(session)
    callback(session, claimed.call_id, "ringing")
    assert recover(session, now=NOW + CLAIM_TTL - timedelta(seconds=1), policy=RBI, zone=ZONE) == 0
    assert recover(session, now=NOW + CLAIM_TTL + timedelta(seconds=1), policy=RBI, zone=ZONE) == 1
    call = session.get_one(Call, claimed.call_id)
    assert (call.status, call.disposition, call.failure_reason) == (
        "lost",
        "FAILED",
        "no final status from the provider",
    )


def test_status_webhook_checks_the_signature_and_ignores_duplicates(
    context: AppContext, clock: FixedClock
) -> None:
    with context.sessions() as session:
        campaign, claimed = claimed_call(session)
    telephony = FakeTelephony()
    assert (
        place(
            context.sessions,
            telephony,
            claimed,
            clock=clock,
            public_base_url=context.settings.public_base_url,
            policy=RBI,
            zone=ZONE,
        )
        is Placement.PLACED
    )
    sid = telephony.call_for(claimed.call_id).provider_call_sid
    url = telephony.call_for(claimed.call_id).outbound.status_url
    app = create_app(context.settings, clock, telephony)
    with TestClient(app) as client:
        path = url.removeprefix(context.settings.public_base_url)

        def post(params: dict[str, str], signature: str | None = None) -> int:
            headers = {"X-Twilio-Signature": signature or telephony.sign(url, params)}
            return client.post(path, data=params, headers=headers).status_code

        busy = {"CallSid": sid, "CallStatus": "busy", "SequenceNumber": "2"}
        assert post(busy, signature="forged") == 403
        assert post({"CallSid": sid, "CallStatus": "ringing", "SequenceNumber": "1"}) == 204
        assert post(busy) == 204
        clock.advance(timedelta(minutes=5))
        assert post(busy) == 204  # a retry: applied once
    with context.sessions() as session:
        call = session.get_one(Call, claimed.call_id)
        entry = due_at(session, campaign.id, claimed.account_id)
    assert (call.status, call.disposition, call.ended_at) == ("busy", "BUSY", NOW)
    assert entry.due_at == NOW + timedelta(minutes=30)


def test_a_call_recovered_before_it_was_placed_is_never_placed(
    context: AppContext, clock: FixedClock
) -> None:
    with context.sessions() as session:
        _campaign, claimed = claimed_call(session)
        recover(session, now=NOW + NEVER_PLACED_AFTER + timedelta(seconds=1), policy=RBI, zone=ZONE)
        session.commit()
    telephony = FakeTelephony()
    placement = place(
        context.sessions, telephony, claimed, clock=clock, public_base_url="http://x",
        policy=RBI, zone=ZONE,
    )  # fmt: skip
    assert (placement, telephony.calls) == (Placement.FAILED, [])
