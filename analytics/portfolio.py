"""Portfolio analytics from snapshots, payments and accounts, aggregated in the database.

- Roll rates (SPEC): an account's bucket in a month is that of its latest snapshot in the
  month; the matrix counts accounts with a snapshot in both the month and the next one (an
  account that left the book, or entered it, has no transition) and each row is divided by its
  total, so it sums to 1.
- Cohort recovery (SPEC): an account's NPA date is the `as_of` of its first NPA snapshot; the
  recovery rate at d days is its payments with 0 <= paid_at − NPA date <= d over the principal
  outstanding of that snapshot, summed over the cohort (the month of the NPA date).
- Bucket distribution: accounts per bucket in each month (latest snapshot per month).
- Per product and per channel: accounts, NPA rate (accounts and principal in NPA now), and the
  recovery rate of a period = payments received in it / (those payments + overdue now).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    case,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from analytics.models import NpaAccount, RollCount, SegmentBook, SegmentPayment
from analytics.sql import connection_of, date_text, days_between
from crm.buckets import BUCKET_ORDER
from crm.models import Payment, Snapshot
from duecall.db import add_days, table_of
from duecall.errors import InvalidInput

COHORT_DAYS = tuple(range(30, 721, 30))
STEP_DAYS = 30


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str, field: str = "from_month") -> Month:
        try:
            year, month = (int(part) for part in text.split("-"))
            date(year, month, 1)
        except ValueError:
            raise InvalidInput(field, f"{text!r} is not a month (YYYY-MM)") from None
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def _latest_bucket(conn: Connection, where: ColumnElement[bool]) -> ColumnElement[str]:
    """The bucket of the latest snapshot among those matching `where`, as an aggregate.

    'YYYY-MM-DD' + bucket strings sort by date first, so their maximum is the latest snapshot's
    and its tail is that snapshot's bucket: one pass over the rows, no join back.
    """
    snapshots = table_of(Snapshot)
    tagged = case((where, date_text(conn, snapshots.c.as_of) + snapshots.c.bucket), else_=None)
    return func.substr(func.max(tagged), 11)


def _paise(amount: ColumnElement[Any]) -> ColumnElement[int]:
    """A sum of money columns as the integer paise they store (not converted to rupees)."""
    return type_coerce(amount, BigInteger)


# --- roll rates ------------------------------------------------------------------------------


def roll_rates(conn_or_session: Connection | Session, *, from_month: Month) -> dict[str, Any]:
    """The month's row of the roll counts the triggers keep (migration 0009)."""
    conn = connection_of(conn_or_session)
    rolls = table_of(RollCount)
    query = select(rolls.c.from_bucket, rolls.c.to_bucket, rolls.c.accounts).where(
        rolls.c.month == from_month.first_day, rolls.c.accounts != 0
    )
    counts: dict[str, dict[str, int]] = {}
    for source, target, n in conn.execute(query):
        counts.setdefault(source, {})[target] = int(n)
    return roll_rate_answer(from_month, counts)


def roll_rate_answer(from_month: Month, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """SPEC's shape, rows and columns in bucket order; every row present sums to 1."""
    order = [b.value for b in BUCKET_ORDER]
    matrix: dict[str, dict[str, float]] = {}
    ordered: dict[str, dict[str, int]] = {}
    for source in order:
        row = counts.get(source)
        if not row:
            continue
        total = sum(row.values())
        ordered[source] = {t: row.get(t, 0) for t in order}
        matrix[source] = {t: row.get(t, 0) / total for t in order}
    return {
        "from_month": str(from_month),
        "to_month": str(from_month.next()),
        "matrix": matrix,
        "counts": ordered,
    }


def latest_snapshot_month(conn_or_session: Connection | Session) -> Month | None:
    conn = connection_of(conn_or_session)
    latest = conn.execute(select(func.max(table_of(Snapshot).c.as_of))).scalar()
    if latest is None:
        return None
    return Month.of(latest if isinstance(latest, date) else date.fromisoformat(latest))


# --- cohorts ------------------------------------------------------------------------------


def cohorts(
    conn_or_session: Connection | Session, *, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """Recovery curves of NPA cohorts (SPEC); `start`/`end` limit the NPA dates."""
    conn = connection_of(conn_or_session)
    first_npa, payments = table_of(NpaAccount), table_of(Payment)
    # Each account's first NPA snapshot, kept by triggers (migration 0009).
    cohort = func.substr(date_text(conn, first_npa.c.npa_date), 1, 7)
    npa_query = select(
        first_npa.c.account_id,
        first_npa.c.npa_date,
        cohort.label("cohort"),
        first_npa.c.principal.label("principal_outstanding"),
    )
    if start is not None:
        npa_query = npa_query.where(first_npa.c.npa_date >= start)
    if end is not None:
        npa_query = npa_query.where(first_npa.c.npa_date <= end)
    npa = npa_query.subquery()
    sizes = select(
        npa.c.cohort, func.count(), _paise(func.coalesce(func.sum(npa.c.principal_outstanding), 0))
    ).group_by(npa.c.cohort)
    days = days_between(conn, payments.c.paid_at, npa.c.npa_date)
    # Payments on day 0 belong to the first point (30 days), as do days 1..30.
    step = case((days == 0, 1), else_=(days + (STEP_DAYS - 1)) // STEP_DAYS)
    recovered = (
        select(npa.c.cohort, step.label("step"), _paise(func.sum(payments.c.amount)))
        .join(payments, payments.c.account_id == npa.c.account_id)
        .where(
            payments.c.paid_at >= npa.c.npa_date,
            payments.c.paid_at <= add_days(conn, npa.c.npa_date, COHORT_DAYS[-1]),
        )
        .group_by(npa.c.cohort, step)
    )
    by_step: dict[str, dict[int, int]] = {}
    for name, k, amount in conn.execute(recovered):
        by_step.setdefault(name, {})[int(k)] = int(amount)
    answer = []
    for name, accounts, outstanding in conn.execute(sizes.order_by(npa.c.cohort)):
        steps, total, points = by_step.get(name, {}), 0, []
        for index, d in enumerate(COHORT_DAYS, start=1):
            total += steps.get(index, 0)
            rate = total / int(outstanding) if outstanding else None
            points.append({"days": d, "recovery_rate": None if rate is None else round(rate, 6)})
        answer.append(
            {
                "cohort": name,
                "accounts": int(accounts),
                "outstanding": f"{Decimal(int(outstanding)) / 100:.2f}",
                "points": points,
            }
        )
    return {"cohorts": answer}


# --- bucket distribution, products and channels --------------------------------------------


def bucket_distribution(
    conn_or_session: Connection | Session, *, start: date, end: date
) -> dict[str, Any]:
    """Accounts per bucket in each month from `start`'s to `end`'s (latest snapshot a month)."""
    conn = connection_of(conn_or_session)
    snapshots = table_of(Snapshot)
    month = func.substr(date_text(conn, snapshots.c.as_of), 1, 7)
    first, stop = Month.of(start).first_day, Month.of(end).next().first_day
    per_account = (
        select(month.label("month"), _latest_bucket(conn, literal(True)).label("bucket"))
        .where(snapshots.c.as_of >= first, snapshots.c.as_of < stop)
        .group_by(snapshots.c.account_id, month)
        .subquery()
    )
    query = select(per_account.c.month, per_account.c.bucket, func.count()).group_by(
        per_account.c.month, per_account.c.bucket
    )
    months: dict[str, dict[str, int]] = {}
    for name, bucket, n in conn.execute(query):
        months.setdefault(name, {b.value: 0 for b in BUCKET_ORDER})[bucket] = int(n)
    return {"months": [{"month": m, "buckets": months[m]} for m in sorted(months)]}


def segments(
    conn_or_session: Connection | Session, *, by: str, start: date, end: date
) -> dict[str, Any]:
    """Per product or channel: accounts, NPA rates now, and the period's recovery rate."""
    if by not in ("product", "channel"):
        raise InvalidInput("by", f"{by!r} is not one of product, channel")
    conn = connection_of(conn_or_session)
    # Kept by triggers (migration 0009): the book per segment now, payments per segment and day.
    book_table, paid_table = table_of(SegmentBook), table_of(SegmentPayment)
    book = select(
        book_table.c.segment,
        book_table.c.accounts,
        book_table.c.npa_accounts,
        book_table.c.principal,
        book_table.c.npa_principal,
        book_table.c.overdue,
    ).where(book_table.c.dimension == by, book_table.c.accounts != 0)
    paid = (
        select(paid_table.c.segment, func.sum(paid_table.c.amount))
        .where(
            paid_table.c.dimension == by,
            paid_table.c.paid_on >= start,
            paid_table.c.paid_on <= end,
        )
        .group_by(paid_table.c.segment)
    )
    received = {name: int(amount) for name, amount in conn.execute(paid)}
    rows = []
    for name, n, npa, principal, npa_principal, overdue in conn.execute(
        book.order_by(book_table.c.segment)
    ):
        got = received.get(name, 0)
        demand = got + int(overdue)
        rows.append(
            {
                by: name or None,
                "accounts": int(n),
                "npa_accounts": int(npa),
                "npa_rate": round(int(npa) / int(n), 4),
                "npa_principal_rate": round(int(npa_principal) / int(principal), 4)
                if int(principal)
                else None,
                "recovered_amount": f"{Decimal(got) / 100:.2f}",
                "recovery_rate": round(got / demand, 4) if demand else None,
            }
        )
    return {"from": start.isoformat(), "to": end.isoformat(), "by": by, "rows": rows}


def months_back(day: date, months: int) -> date:
    """The first day of the month `months` before `day`'s."""
    first = day.replace(day=1)
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    return first
