"""Reports on small hand-made books whose every figure can be worked out by hand."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from analytics.agents import LENDER_ZONE, agents_report, disposition_counts
from analytics.periods import Period
from analytics.portfolio import Month, bucket_distribution, cohorts, roll_rates, segments
from analytics.promises import evaluate_promises, ptp_report
from crm.buckets import bucket_for_dpd
from crm.models import Call, Payment, Promise, PromiseStatus, Snapshot
from tests.conftest import Database
from tests.factories import add_account, add_call

IST_MIDNIGHT_MARCH_1 = datetime(2026, 2, 28, 18, 30, tzinfo=UTC)
CODES = ("RNR", "PTP", "BUSY", "WRONG_NUMBER", "REFUSED", None)


def test_per_day_counts_stay_exact_through_inserts_updates_and_deletes(db: Database) -> None:
    rng = random.Random(4)
    with db.session() as session, session.begin():
        add_account(session, "A1")
        ids = []
        for _n in range(300):
            started = IST_MIDNIGHT_MARCH_1 + timedelta(minutes=rng.randrange(0, 6 * 24 * 60))
            source = rng.choice(["import", "dialer"])
            receipt = rng.choice([None, {"policy": "rbi"}])
            call = add_call(
                session, "A1", started_at=started, disposition=rng.choice(CODES),
                agent_id=rng.choice(["TC1", "TC2", "BOT"]), source=source,
                compliance_receipt=receipt,
            )  # fmt: skip
            ids.append(call.call_id)
        for call_id in rng.sample(ids, 80):
            session.execute(
                update(Call)
                .where(Call.call_id == call_id)
                .values(
                    disposition=rng.choice(CODES[:-1]),
                    agent_id=rng.choice(["TC1", "TC2"]),
                    started_at=IST_MIDNIGHT_MARCH_1 + timedelta(hours=rng.randrange(0, 140)),
                )
            )
        session.execute(delete(Call).where(Call.call_id.in_(rng.sample(ids, 40))))
    for start, end in [((2026, 3, 1), (2026, 3, 6)), ((2026, 3, 2), (2026, 3, 2)),
                       ((2026, 3, 3), (2026, 3, 4))]:  # fmt: skip
        period = Period(date(*start), date(*end))
        with db.engine.connect() as conn:
            counted = {
                (a, d): (n, u) for a, d, n, u in disposition_counts(conn, period, LENDER_ZONE)
            }
        with db.session() as session:
            assert counted == _direct_counts(session, period)


def _direct_counts(session: Session, period: Period) -> dict[tuple[str, str], tuple[int, int]]:
    """The same figures straight from the calls, in Python, for comparison."""
    start = datetime.combine(period.start, datetime.min.time(), LENDER_ZONE)
    end = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), LENDER_ZONE)
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for call in session.scalars(select(Call)):
        if start <= call.started_at < end:
            key = (call.agent_id or "", call.disposition or "")
            n, u = out.get(key, (0, 0))
            flagged = call.source != "import" and call.compliance_receipt is None
            out[key] = (n + 1, u + flagged)
    return out


def test_agent_report_figures(db: Database) -> None:
    day = IST_MIDNIGHT_MARCH_1 + timedelta(hours=5)  # 10:30 on 1 March in Mumbai
    with db.session() as session, session.begin():
        add_account(session, "A1", assigned_agent_id="TC1", overdue_amount=Decimal("0"), dpd=0)
        add_account(session, "A2", assigned_agent_id="TC1")
        for code in ("RNR", "RNR", "BUSY", "WRONG_NUMBER", "REFUSED", "ESCALATED"):
            add_call(session, "A2", started_at=day, disposition=code, agent_id="TC1")
        first = add_call(session, "A1", started_at=day, disposition="PTP", agent_id="TC1")
        add_call(
            session, "A1", started_at=day - timedelta(minutes=1), disposition="RNR", agent_id="TC1"
        )
        second = add_call(session, "A2", started_at=day, disposition="PTP", agent_id="TC1")
        add_call(session, "A2", started_at=day, disposition="RNR", agent_id="BOT", source="dialer")
        for call, amount, status, paid in ((first, "1000", PromiseStatus.KEPT, "1000"),
                                           (second, "3000", PromiseStatus.BROKEN, "500")):  # fmt: skip
            session.add(Promise(
                account_id=call.account_id, call_id=call.call_id, amount=Decimal(amount),
                promised_on=date(2026, 3, 1), promised_date=date(2026, 3, 5), status=status,
                paid_amount=Decimal(paid), created_at=day,
            ))  # fmt: skip
        session.add(Payment(account_id="A1", paid_at=date(2026, 3, 4), amount=Decimal("1000")))
    with db.engine.connect() as conn:
        report = agents_report(conn, start=date(2026, 3, 1), end=date(2026, 3, 10))
    by_agent = {a["agent_id"]: a for a in report["agents"]}
    tc1, bot = by_agent["TC1"], by_agent["BOT"]
    assert (tc1["attempts"], tc1["contacts"], tc1["rpc"], tc1["ptp"]) == (9, 5, 4, 2)
    assert tc1["dispositions"] == {"PTP": 2, "REFUSED": 1, "ESCALATED": 1, "WRONG_NUMBER": 1,
                                   "RNR": 3, "BUSY": 1}  # fmt: skip
    assert tc1["rates"] == {"contact": 0.5556, "rpc": 0.4444, "ptp": 0.5, "rnr": 0.3333,
                            "wrong_number": 0.2}  # fmt: skip
    assert (tc1["ptp_kept_rate"], tc1["ptp_kept_amount_rate"]) == (0.5, 0.25)
    assert (tc1["kept_amount"], tc1["recovered_amount"], tc1["promised_amount"]) == (
        "1000.00", "1500.00", "4000.00",
    )  # fmt: skip
    assert (tc1["cases_assigned"], tc1["cases_resolved"], tc1["resolution_rate"]) == (2, 1, 0.5)
    # First call by TC1 on A1: 10:29 on 1 March in Mumbai, 28 February in UTC; paid 4 March.
    assert tc1["avg_resolution_days"] == 4.0
    assert (tc1["complaints"], tc1["compliance_flags"], tc1["qa_score"]) == (1, 0, None)
    assert (tc1["outlier"], tc1["outlier_reasons"]) == (False, [])
    # The bot is an agent like any other; its dialer call had no compliance receipt.
    assert (bot["kind"], bot["attempts"], bot["compliance_flags"]) == ("bot", 1, 1)
    assert report["agencies"][0]["attempts"] == 10
    with db.engine.connect() as conn:  # the local day before holds none of these calls
        before = agents_report(conn, start=date(2026, 2, 28), end=date(2026, 2, 28))
    # TC1 is listed for its cases; no call or promise of 1 March counts on 28 February.
    assert [(a["agent_id"], a["attempts"], a["promised_amount"]) for a in before["agents"]] == [
        ("TC1", 0, "0.00")
    ]
    with db.engine.connect() as conn:
        own = agents_report(conn, start=date(2026, 3, 1), end=date(2026, 3, 1), only_agent="BOT")
    assert [a["agent_id"] for a in own["agents"]] == ["BOT"]


@pytest.mark.parametrize(
    ("paid_on", "amount", "today", "status"),
    [
        (date(2026, 3, 7), "5000", date(2026, 3, 20), PromiseStatus.KEPT),  # date + 2: grace
        (date(2026, 3, 8), "5000", date(2026, 3, 20), PromiseStatus.BROKEN),  # a day late
        (date(2026, 2, 28), "5000", date(2026, 3, 20), PromiseStatus.BROKEN),  # before the promise
        (date(2026, 3, 1), "4999", date(2026, 3, 20), PromiseStatus.BROKEN),  # short by a rupee
        (date(2026, 3, 1), "4999", date(2026, 3, 7), PromiseStatus.PENDING),  # window still open
        (date(2026, 3, 1), "5000", date(2026, 3, 2), PromiseStatus.KEPT),  # kept early
    ],
)
def test_a_promise_is_kept_when_payments_in_its_window_reach_it(
    db: Database, paid_on: date, amount: str, today: date, status: PromiseStatus
) -> None:
    with db.session() as session, session.begin():
        add_account(session, "A1")
        call = add_call(session, "A1", disposition="PTP")
        session.add(Promise(
            account_id="A1", call_id=call.call_id, amount=Decimal("5000"),
            promised_on=date(2026, 3, 1), promised_date=date(2026, 3, 5), created_at=call.started_at,
        ))  # fmt: skip
        session.add(Payment(account_id="A1", paid_at=paid_on, amount=Decimal(amount)))
    now = datetime(2026, 3, 20, tzinfo=UTC)
    with db.session() as session, session.begin():
        evaluate_promises(session, today=today, grace_days=2, now=now)
    with db.session() as session:
        promise = session.scalars(select(Promise)).one()
        assert promise.status is status
        counted = Decimal(amount) if date(2026, 3, 1) <= paid_on <= date(2026, 3, 7) else 0
        assert promise.paid_amount == counted
    with db.engine.connect() as conn:
        report = ptp_report(conn, start=date(2026, 3, 1), end=date(2026, 3, 1))
    assert report["total"][status.value] == 1


def _snapshot(
    session: Session, account: str, as_of: str, dpd: int, principal: str = "100000"
) -> None:
    session.add(Snapshot(
        account_id=account, as_of=date.fromisoformat(as_of), dpd=dpd,
        principal_outstanding=Decimal(principal), bucket=bucket_for_dpd(dpd),
    ))  # fmt: skip


def test_roll_rates_use_the_latest_snapshot_of_each_month(db: Database) -> None:
    with db.session() as session, session.begin():
        for account in ("A1", "A2", "A3", "A4"):
            add_account(session, account)
        _snapshot(session, "A1", "2026-01-15", 100)  # superseded by the month-end snapshot
        _snapshot(session, "A1", "2026-01-31", 0)
        _snapshot(session, "A1", "2026-02-28", 20)
        _snapshot(session, "A2", "2026-01-31", 0)
        _snapshot(session, "A2", "2026-02-10", 45)
        _snapshot(session, "A3", "2026-01-31", 40)
        _snapshot(session, "A3", "2026-02-28", 70)
        _snapshot(session, "A4", "2026-01-31", 40)  # no February snapshot: no transition
    with db.engine.connect() as conn:
        answer = roll_rates(conn, from_month=Month(2026, 1))
        distribution = bucket_distribution(conn, start=date(2026, 1, 1), end=date(2026, 2, 28))
    assert answer["matrix"]["STANDARD"] == {"STANDARD": 0.0, "SMA-0": 0.5, "SMA-1": 0.5,
                                            "SMA-2": 0.0, "NPA": 0.0}  # fmt: skip
    assert answer["counts"]["SMA-1"]["SMA-2"] == 1
    assert list(answer["matrix"]) == ["STANDARD", "SMA-1"]
    assert distribution["months"] == [
        {
            "month": "2026-01",
            "buckets": {"STANDARD": 2, "SMA-0": 0, "SMA-1": 2, "SMA-2": 0, "NPA": 0},
        },
        {
            "month": "2026-02",
            "buckets": {"STANDARD": 0, "SMA-0": 1, "SMA-1": 1, "SMA-2": 1, "NPA": 0},
        },
    ]


def test_cohort_recovery_curves(db: Database) -> None:
    with db.session() as session, session.begin():
        for account in ("A1", "A2", "A3"):
            add_account(session, account)
        _snapshot(session, "A1", "2025-12-31", 60)
        _snapshot(session, "A1", "2026-01-10", 95, "100000")  # NPA date 10 January
        _snapshot(session, "A1", "2026-01-31", 110, "90000")
        _snapshot(session, "A2", "2026-01-20", 100, "300000")  # NPA date 20 January
        _snapshot(session, "A3", "2026-02-05", 91, "50000")
        for account, paid_at, amount in [
            ("A1", "2026-01-09", "9999"),  # before the NPA date: not a recovery
            ("A1", "2026-01-10", "4000"),  # day 0
            ("A1", "2026-02-09", "6000"),  # day 30
            ("A2", "2026-02-20", "20000"),  # day 31
            ("A2", "2028-01-11", "50000"),  # day 721: past the last point
        ]:
            session.add(Payment(account_id=account, paid_at=date.fromisoformat(paid_at),
                                amount=Decimal(amount)))  # fmt: skip
    with db.engine.connect() as conn:
        answer = cohorts(conn)
        only_february = cohorts(conn, start=date(2026, 2, 1), end=date(2026, 2, 28))
    january, february = answer["cohorts"]
    assert (january["cohort"], january["accounts"], january["outstanding"]) == (
        "2026-01",
        2,
        "400000.00",
    )
    rates = {p["days"]: p["recovery_rate"] for p in january["points"]}
    assert (rates[30], rates[60], rates[720]) == (0.025, 0.075, 0.075)
    assert len(rates) == 24 and min(rates) == 30
    assert (february["cohort"], february["points"][-1]["recovery_rate"]) == ("2026-02", 0.0)
    assert [c["cohort"] for c in only_february["cohorts"]] == ["2026-02"]


def test_segments_by_product(db: Database) -> None:
    with db.session() as session, session.begin():
        add_account(session, "A1", product="Gold Loan", dpd=100, overdue_amount=Decimal("3000"))
        add_account(session, "A2", product="Gold Loan", dpd=0, overdue_amount=Decimal("0"))
        add_account(session, "A3", product="Personal Loan")
        session.add(Payment(account_id="A1", paid_at=date(2026, 3, 2), amount=Decimal("1000")))
        session.add(Payment(account_id="A3", paid_at=date(2026, 1, 2), amount=Decimal("1000")))
    with db.engine.connect() as conn:
        answer = segments(conn, by="product", start=date(2026, 3, 1), end=date(2026, 3, 31))
    gold, personal = answer["rows"]
    assert (gold["product"], gold["accounts"], gold["npa_accounts"], gold["npa_rate"]) == (
        "Gold Loan", 2, 1, 0.5)  # fmt: skip
    assert (gold["recovered_amount"], gold["recovery_rate"]) == ("1000.00", 0.25)
    assert (personal["recovered_amount"], personal["recovery_rate"]) == ("0.00", 0.0)
