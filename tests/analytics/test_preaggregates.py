"""The pre-aggregated tables equal a recomputation from scratch after any mix of writes.

The recomputation is plain Python over the raw rows, independent of the triggers' SQL. Writes
go through bulk inserts (COPY on PostgreSQL: statement triggers over many rows), the ORM and
Core updates of one row and of many rows, and deletes, including cascades.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, delete, select, update

from analytics.generate import AgentProfile, write_calls, write_portfolio, write_snapshots
from analytics.models import (
    AgentAccounts,
    CallDay,
    CallMonth,
    NpaAccount,
    PromiseDay,
    PromiseMonth,
    Resolution,
    RollCount,
    SegmentBook,
    SegmentPayment,
)
from analytics.periods import count_plan, days_of, local_midnight
from analytics.promises import evaluate_promises
from crm.buckets import BUCKET_ORDER
from crm.models import Account, Call, Payment, Promise, Snapshot
from duecall.db import bulk_insert, table_of
from tests.conftest import Database

ZONE_START = date(2026, 1, 1)
TODAY = date(2026, 4, 1)
AGENTS = ("TC001", "TC002", "TC003", "BOT")


def _paise(amount: Decimal | None) -> int:
    return int((amount or Decimal(0)) * 100)


def _month(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _rows(conn: Connection, model: Any) -> list[Any]:
    return list(conn.execute(select(table_of(model))))


def from_scratch(conn: Connection) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Every pre-aggregated table, computed in Python from the rows they summarise."""
    calls, promises = _rows(conn, Call), _rows(conn, Promise)
    accounts, payments, snapshots = (
        _rows(conn, Account),
        _rows(conn, Payment),
        _rows(conn, Snapshot),
    )
    out: dict[str, dict[tuple[Any, ...], list[int]]] = defaultdict(lambda: defaultdict(list))

    def add(table: str, key: tuple[Any, ...], *values: int) -> None:
        row = out[table][key]
        if not row:
            row.extend([0] * len(values))
        for i, v in enumerate(values):
            row[i] += v

    agent_of = {c.call_id: c.agent_id for c in calls}
    for c in calls:
        flagged = int(c.source != "import" and c.compliance_receipt is None)
        day = c.started_at.date()
        key = (c.agent_id or "", c.disposition or "")
        add("analytics_call_days", (*key, day), 1, flagged)
        add("analytics_call_months", (*key, _month(day)), 1, flagged)
    for p in promises:
        agent = (agent_of.get(p.call_id) if p.call_id else None) or ""
        values = (1, _paise(p.amount), _paise(p.paid_amount))
        add("analytics_promise_days", (agent, p.status, p.promised_on), *values)
        add("analytics_promise_months", (agent, p.status, _month(p.promised_on)), *values)
    for a in accounts:
        if a.assigned_agent_id is not None:
            add("analytics_agent_accounts", (a.assigned_agent_id,), 1)
    last_paid: dict[str, date] = {}
    for y in payments:
        last_paid[y.account_id] = max(y.paid_at, last_paid.get(y.account_id, y.paid_at))
    first_call: dict[tuple[str, str], date] = {}
    for c in calls:
        key = (c.account_id, c.agent_id)
        first_call[key] = min(c.started_at.date(), first_call.get(key, c.started_at.date()))
    resolutions = {}
    for a in accounts:
        if a.assigned_agent_id and a.overdue_amount == 0 and a.account_id in last_paid:
            paid = last_paid[a.account_id]
            called = first_call.get((a.account_id, a.assigned_agent_id))
            days = None if called is None else (paid - called).days
            resolutions[(a.account_id,)] = (a.assigned_agent_id, paid, days)
    latest: dict[tuple[str, date], tuple[date, str]] = {}
    for s in snapshots:
        cell = (s.account_id, _month(s.as_of))
        if cell not in latest or latest[cell][0] < s.as_of:
            latest[cell] = (s.as_of, str(s.bucket))
    for (account, month), (_day, bucket) in latest.items():
        following = latest.get((account, _next_month(month)))
        if following is not None:
            add("analytics_roll_counts", (month, bucket, following[1]), 1)
    first_npa: dict[tuple[str], tuple[date, int | None]] = {}
    for s in sorted(snapshots, key=lambda s: s.as_of):
        if str(s.bucket) == "NPA" and (s.account_id,) not in first_npa:
            principal = None if s.principal_outstanding is None else _paise(s.principal_outstanding)
            first_npa[(s.account_id,)] = (s.as_of, principal)
    by_account = {a.account_id: a for a in accounts}
    for a in accounts:
        npa = str(a.bucket) == "NPA"
        principal = _paise(a.principal_outstanding)
        for dimension in ("product", "channel"):
            key = (dimension, getattr(a, dimension) or "")
            add("analytics_segment_book", key, 1, npa, principal, principal * npa,
                _paise(a.overdue_amount))  # fmt: skip
    for y in payments:
        account = by_account[y.account_id]
        for dimension in ("product", "channel"):
            key = (dimension, getattr(account, dimension) or "", y.paid_at)
            add("analytics_segment_payments", key, _paise(y.amount))
    answer = {name: {k: tuple(v) for k, v in rows.items()} for name, rows in out.items()}
    answer["analytics_resolutions"] = resolutions
    answer["analytics_npa_accounts"] = first_npa
    return answer


KEYS = {
    CallDay: ("agent_key", "disposition_key", "day"),
    CallMonth: ("agent_key", "disposition_key", "month"),
    PromiseDay: ("agent_key", "status", "promised_on"),
    PromiseMonth: ("agent_key", "status", "month"),
    AgentAccounts: ("agent_id",),
    Resolution: ("account_id",),
    RollCount: ("month", "from_bucket", "to_bucket"),
    NpaAccount: ("account_id",),
    SegmentBook: ("dimension", "segment"),
    SegmentPayment: ("dimension", "segment", "paid_on"),
}


def stored(conn: Connection) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """The tables as the triggers left them; rows counting nothing are left out."""
    answer = {}
    for model, key in KEYS.items():
        table = table_of(model)
        values = [c.name for c in table.columns if c.name not in key]
        rows = {}
        for row in conn.execute(select(table)):
            data = row._mapping
            value = tuple(data[c] for c in values)
            if model in (Resolution, NpaAccount) or any(value):
                rows[tuple(data[c] for c in key)] = value
        answer[table.name] = rows
    return answer


def assert_exact(db: Database) -> None:
    with db.engine.connect() as conn:
        assert_exact_in(conn)


def assert_exact_in(conn: Connection) -> None:
    expected, found = from_scratch(conn), stored(conn)
    for table in found:
        assert found[table] == expected.get(table, {}), table
    # The data exercises every table.
    assert all(len(rows) >= 3 for rows in found.values()), {t: len(r) for t, r in found.items()}


def _load(db: Database) -> list[str]:
    ids = write_portfolio(db.engine, accounts=150, seed=7, as_of=date(2026, 3, 31))
    profiles = [AgentProfile(agent) for agent in AGENTS[:-1]] + [AgentProfile("BOT", kind="bot")]
    with db.engine.begin() as conn:
        # Give a share of the book to the callers so that cases get resolved.
        conn.execute(
            update(Account)
            .where(Account.account_id.in_(ids[::3]))
            .values(assigned_agent_id="TC001", overdue_amount=0)
        )
        write_calls(
            conn, profiles=profiles, calls_per_agent=150, account_ids=ids[:60],
            start=local_midnight(ZONE_START, UTC), end=local_midnight(TODAY, UTC), seed=3,
            today=TODAY,
        )  # fmt: skip
        write_snapshots(conn, account_ids=ids, last_month_end=date(2026, 3, 31), months=4, seed=4)
        evaluate_promises(conn, today=TODAY, grace_days=2, now=datetime.now(UTC))
    return ids


def test_bulk_loads_leave_the_tables_exact(db: Database) -> None:
    _load(db)
    assert_exact(db)


def test_row_updates_and_deletes_keep_the_tables_exact(db: Database) -> None:
    ids = _load(db)
    rng = random.Random(11)
    with db.engine.begin() as conn:
        call_ids = list(conn.scalars(select(Call.call_id).order_by(Call.call_id)))
        promised = set(conn.scalars(select(Promise.call_id)))
        # Accounts: reassigned, settled, back in arrears; a claim changes nothing counted.
        for account in rng.sample(ids, 40):
            conn.execute(
                update(Account)
                .where(Account.account_id == account)
                .values(
                    assigned_agent_id=rng.choice([None, *AGENTS]),
                    overdue_amount=rng.choice([0, 0, 1500]),
                )
            )
        conn.execute(update(Account).values(claimed_by="C1"))
        # Another product, channel, bucket or principal.
        for account in rng.sample(ids, 40):
            conn.execute(
                update(Account)
                .where(Account.account_id == account)
                .values(
                    product=rng.choice([None, "gold", "two-wheeler"]),
                    channel=rng.choice([None, "dsa", "branch"]),
                    bucket=rng.choice(BUCKET_ORDER).value,
                    principal_outstanding=rng.choice([None, Decimal("2500.00")]),
                )
            )
        # Payments: new ones, moved in time and between accounts, deleted.
        bulk_insert(
            conn, "payments",
            [(rng.choice(ids[:60]), date(2026, 3, rng.randint(1, 31)), 10_000, f"R{n}")
             for n in range(40)],
            ("account_id", "paid_at", "amount", "reference"),
        )  # fmt: skip
        payment_ids = list(conn.scalars(select(Payment.id).order_by(Payment.id)))
        for pid in rng.sample(payment_ids, 20):
            conn.execute(
                update(Payment)
                .where(Payment.id == pid)
                .values(paid_at=date(2026, 2, rng.randint(1, 28)), account_id=rng.choice(ids[:60]))
            )
        conn.execute(delete(Payment).where(Payment.id.in_(rng.sample(payment_ids, 15))))
        # Calls: another agent, day, disposition or account; some deleted.
        for call_id in rng.sample(call_ids, 60):
            conn.execute(
                update(Call)
                .where(Call.call_id == call_id)
                .values(
                    agent_id=rng.choice(AGENTS),
                    started_at=datetime(2026, 1, 1, tzinfo=UTC)
                    + timedelta(hours=rng.randrange(0, 2000)),
                    disposition=rng.choice(["RNR", "BUSY", "PTP", "REFUSED"]),
                    account_id=rng.choice(ids[:60]),
                )
            )
        conn.execute(update(Call).where(Call.call_id.in_(call_ids[:50])).values(status="ended"))
        unpromised = [c for c in call_ids if c not in promised]
        conn.execute(delete(Call).where(Call.call_id.in_(rng.sample(unpromised, 30))))
        # Snapshots: another bucket, another day in or out of the month, deleted.
        cells = list(conn.execute(select(Snapshot.account_id, Snapshot.as_of)))
        for account, as_of in rng.sample(cells, 50):
            moved = as_of - timedelta(days=rng.choice([0, 3, 20, 40]))
            taken = conn.execute(
                select(Snapshot.as_of).where(
                    Snapshot.account_id == account, Snapshot.as_of == moved
                )
            ).first()
            conn.execute(
                update(Snapshot)
                .where(Snapshot.account_id == account, Snapshot.as_of == as_of)
                .values(
                    bucket=rng.choice(BUCKET_ORDER).value,
                    as_of=as_of if taken and moved != as_of else moved,
                )
            )
        for account, as_of in rng.sample(cells, 30):
            conn.execute(
                delete(Snapshot).where(Snapshot.account_id == account, Snapshot.as_of == as_of)
            )
    assert_exact(db)
    with db.engine.begin() as conn:
        # Statements over many rows at once.
        conn.execute(update(Snapshot).where(Snapshot.dpd > 80).values(bucket="NPA"))
        conn.execute(
            update(Snapshot)
            .where(Snapshot.bucket == "NPA", Snapshot.dpd < 120)
            .values(principal_outstanding=Decimal("1234.50"))
        )
        conn.execute(
            update(Snapshot)
            .where(Snapshot.as_of == date(2026, 2, 28))
            .values(as_of=date(2026, 2, 27))
        )
        conn.execute(update(Account).where(Account.dpd < 20).values(overdue_amount=0))
        conn.execute(update(Account).where(Account.dpd > 60).values(assigned_agent_id="TC002"))
        conn.execute(
            update(Payment).where(Payment.amount > 5_000).values(paid_at=date(2026, 3, 15))
        )
        conn.execute(update(Call).where(Call.agent_id == "TC003").values(agent_id="TC002"))
        evaluate_promises(
            conn, today=TODAY + timedelta(days=30), grace_days=2, now=datetime.now(UTC)
        )
        conn.execute(delete(Snapshot).where(Snapshot.as_of == date(2026, 1, 31)))
        # An account without calls goes, with its payments and snapshots (cascades).
        called = set(conn.scalars(select(Call.account_id)))
        gone = [a for a in ids if a not in called][:5]
        bulk_insert(
            conn, "payments", [(a, date(2026, 3, 3), 7_500, "GONE") for a in gone],
            ("account_id", "paid_at", "amount", "reference"),
        )  # fmt: skip
        assert_exact_in(conn)
        conn.execute(delete(Account).where(Account.account_id.in_(gone)))
        conn.execute(update(Account).where(Account.dpd > 30).values(channel="collections"))
    assert_exact(db)


def test_dispositions_set_as_calls_end_keep_the_tables_exact(db: Database) -> None:
    _load(db)
    with db.engine.begin() as conn:
        call_ids = list(conn.scalars(select(Call.call_id).order_by(Call.call_id)))[:40]
        for n, call_id in enumerate(call_ids):
            # Ended (a disposition only), some twice, some then given to another agent.
            conn.execute(
                update(Call).where(Call.call_id == call_id).values(disposition=["RNR", None][n % 2])
            )
            if n % 3 == 0:
                conn.execute(update(Call).where(Call.call_id == call_id).values(disposition="PTP"))
            if n % 5 == 0:
                conn.execute(update(Call).where(Call.call_id == call_id).values(agent_id="TC002"))
    assert_exact(db)


def test_a_call_ending_leaves_the_shared_counts_unlocked_until_it_commits(db: Database) -> None:
    """Calls ending at once share their day's rows: none may hold them while its transaction
    goes on (on PostgreSQL they are counted at commit)."""
    if db.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: transactions never overlap")
    _load(db)
    with db.engine.connect() as first, db.engine.connect() as second:
        call_id, day, agent, was = first.execute(
            select(Call.call_id, Call.started_at, Call.agent_id, Call.disposition)
            .where(Call.agent_id == "BOT", Call.disposition != "PTP")
            .limit(1)
        ).one()
        first.rollback()
        with first.begin():
            first.execute(update(Call).where(Call.call_id == call_id).values(disposition="PTP"))
            with second.begin():
                # NOWAIT: an error if the ending call's transaction holds the row.
                second.execute(
                    select(table_of(CallDay))
                    .where(
                        CallDay.day == day.date(),
                        CallDay.agent_key == agent,
                        CallDay.disposition_key.in_([was, "PTP"]),
                    )
                    .with_for_update(nowait=True)
                )
    assert_exact(db)


def test_recomputation_notices_a_wrong_row(db: Database) -> None:
    _load(db)
    with db.engine.begin() as conn:
        conn.execute(
            update(RollCount).where(RollCount.accounts > 0).values(accounts=RollCount.accounts + 1)
        )
    with db.engine.connect() as conn:
        expected, found = from_scratch(conn), stored(conn)
    assert found["analytics_roll_counts"] != expected["analytics_roll_counts"]


def test_count_plan_covers_exactly_the_days_asked_for() -> None:
    rng = random.Random(5)
    for _ in range(300):
        first = date(2025, 1, 1) + timedelta(days=rng.randrange(0, 700))
        days = days_of(first, first + timedelta(days=rng.randrange(0, 400)))
        if days and rng.random() < 0.5:
            days.append(days[-1] + timedelta(days=1))  # an edge read as a whole day
        months, runs = count_plan(days)
        covered: dict[date, int] = defaultdict(int)
        for sign, start, end in months:
            month = start
            while month < end:
                for day in days_of(month, _next_month(month)):
                    covered[day] += sign
                month = _next_month(month)
        for sign, start, end in runs:
            for day in days_of(start, end):
                covered[day] += sign
        assert {d for d, n in covered.items() if n} == set(days)
        assert all(n in (0, 1) for n in covered.values())
        # At most half a month of days is read at each end.
        assert sum((end - start for _, start, end in runs), timedelta()) <= timedelta(days=32)
