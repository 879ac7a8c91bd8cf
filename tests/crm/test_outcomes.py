"""Recording an outcome sets the disposition and applies SPEC's effects, once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance.policy import load_policy
from crm.buckets import Bucket
from crm.models import Account, Call, ContactPreference, Hold, Phone, PhoneStatus, Promise
from crm.outcomes import AvoidRequest, Outcome, promise_problems, record_outcome
from duecall.errors import InvalidInput
from tests.conftest import NOW
from tests.factories import add_account, add_call

RBI = load_policy("rbi")
TODAY = date(2026, 3, 2)


def record(session: Session, call: Call, outcome: Outcome) -> None:
    record_outcome(session, call, outcome, now=NOW, today=TODAY, policy=RBI)
    record_outcome(session, call, outcome, now=NOW, today=TODAY, policy=RBI)  # a replay: no change


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_wrong_number_marks_the_phone(session: Session) -> None:
    add_account(session, "A1", phones=("+919812345678", "+919812345679"))
    call = add_call(session, "A1", phone="+919812345679", disposition=None)
    record(session, call, Outcome("wrong_number"))
    statuses = dict(session.execute(select(Phone.number, Phone.status)).all())
    assert statuses == {"+919812345678": PhoneStatus.OK, "+919812345679": PhoneStatus.WRONG_NUMBER}
    assert call.disposition == "WRONG_NUMBER"


def test_dispute_puts_an_open_hold(session: Session) -> None:
    add_account(session, "A1")
    call = add_call(session, "A1", disposition=None)
    record(session, call, Outcome("DISPUTE", note="amount wrong"))
    [hold] = session.scalars(select(Hold)).all()
    assert (hold.kind, hold.until, hold.reason, hold.call_id) == (
        "dispute",
        None,
        "amount wrong",
        call.call_id,
    )


@pytest.mark.parametrize(
    ("outcome", "kind"),
    [
        (Outcome("DECEASED"), "deceased"),
        (Outcome("CALLBACK", callback_at=NOW + timedelta(days=3), bereavement=True), "bereavement"),
    ],
)
def test_death_and_bereavement_put_a_hold_for_the_policy_days(
    session: Session, outcome: Outcome, kind: str
) -> None:
    add_account(session, "A1")
    call = add_call(session, "A1", disposition=None)
    record(session, call, outcome)
    [hold] = session.scalars(select(Hold)).all()
    assert (hold.kind, hold.until) == (kind, TODAY + timedelta(days=30))


def test_ptp_records_one_promise_and_callback_the_time(session: Session) -> None:
    add_account(session, "A1")
    call = add_call(session, "A1", disposition=None)
    record(session, call, Outcome("PTP", ptp_amount=Decimal("2500"), ptp_date=date(2026, 3, 5)))
    [promise] = session.scalars(select(Promise)).all()
    assert (promise.amount, promise.promised_on, promise.promised_date) == (
        Decimal("2500.00"),
        TODAY,
        date(2026, 3, 5),
    )
    later = add_call(session, "A1", disposition=None)
    record(
        session,
        later,
        Outcome("CALLBACK", callback_at=datetime(2026, 3, 3, 12, 30, tzinfo=NOW.tzinfo)),
    )
    assert later.callback_at == datetime(2026, 3, 3, 12, 30, tzinfo=NOW.tzinfo)
    assert count(session, Promise) == 1


def test_avoid_requests_become_preferences(session: Session) -> None:
    add_account(session, "A1")
    call = add_call(session, "A1", phone="+919812345678", disposition=None)
    record(session, call, Outcome("REFUSED", avoid=(
        AvoidRequest(this_phone_only=True, days=("mon", "tue", "wed", "thu", "fri"), start=time(9), end=time(18), note="office"),
        AvoidRequest(start=time(0), end=time(18), note="call after 6"),
    )))  # fmt: skip
    stored = [
        (p.phone, p.days, p.start, p.end)
        for p in session.scalars(select(ContactPreference).order_by(ContactPreference.id))
    ]
    assert stored == [
        ("+919812345678", ["mon", "tue", "wed", "thu", "fri"], time(9), time(18)),
        (None, [], time(0), time(18)),
    ]


@pytest.mark.parametrize(
    ("outcome", "field"),
    [
        (Outcome("MAYBE"), "disposition"),
        (Outcome("PTP", ptp_amount=Decimal(5)), "ptp"),
        (Outcome("CALLBACK"), "callback_at"),
    ],
)
def test_incomplete_outcomes_are_refused(session: Session, outcome: Outcome, field: str) -> None:
    add_account(session, "A1")
    call = add_call(session, "A1", disposition=None)
    with pytest.raises(InvalidInput) as refused:
        record_outcome(session, call, outcome, now=NOW, today=TODAY, policy=RBI)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("amount", "when", "bucket", "problems"),
    [
        ("5000", date(2026, 3, 10), Bucket.SMA_1, []),
        ("0", date(2026, 3, 10), Bucket.SMA_1, ["the amount must be more than zero"]),
        (
            "200000",
            date(2026, 3, 10),
            Bucket.SMA_1,
            ["the amount is more than the total outstanding (₹125,000.00)"],
        ),
        ("5000", date(2026, 3, 1), Bucket.SMA_1, ["the date has passed"]),
        ("5000", date(2026, 4, 1), Bucket.SMA_1, []),  # 30 days: the horizon itself
        (
            "5000",
            date(2026, 4, 2),
            Bucket.SMA_1,
            ["the date is more than 30 days away (the limit for SMA-1)"],
        ),
        (
            "5000",
            date(2026, 3, 13),
            Bucket.NPA,
            ["the date is more than 10 days away (the limit for NPA)"],
        ),
    ],
)
def test_promise_rules(amount: str, when: date, bucket: Bucket, problems: list[str]) -> None:
    account = Account(
        overdue_amount=Decimal("5000"), principal_outstanding=Decimal("120000"), bucket=bucket
    )
    assert promise_problems(account, Decimal(amount), when, today=TODAY, policy=RBI) == problems
