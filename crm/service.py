"""CRM reads and writes (database only; no HTTP, no vendors)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, case, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from crm.buckets import BUCKET_ORDER, NPA_FIRST_DPD, Bucket, bucket_sql
from crm.models import Account, Call
from duecall.db import add_days, days_since, table_of

RECENT_CALLS = 20


def get_account(session: Session, *, account_id: str) -> Account | None:
    """The account with its borrower, phones, flags, holds, preferences and promises."""
    return session.scalar(
        select(Account)
        .where(Account.account_id == account_id)
        .options(
            selectinload(Account.borrower),
            selectinload(Account.phones),
            selectinload(Account.flags),
            selectinload(Account.holds),
            selectinload(Account.preferences),
            selectinload(Account.promises),
        )
    )


def recent_calls(session: Session, *, account_id: str, limit: int = RECENT_CALLS) -> list[Call]:
    return list(
        session.scalars(
            select(Call)
            .where(Call.account_id == account_id)
            .order_by(Call.started_at.desc(), Call.call_id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class BucketSummary:
    bucket: Bucket
    accounts: int
    overdue: Decimal
    principal: Decimal


def portfolio_by_bucket(session: Session) -> list[BucketSummary]:
    """Accounts, overdue and principal outstanding per bucket, in bucket order."""
    rows = session.execute(
        select(
            Account.bucket,
            func.count(),
            func.coalesce(func.sum(Account.overdue_amount), 0),
            func.coalesce(func.sum(Account.principal_outstanding), 0),
        ).group_by(Account.bucket)
    ).all()
    zero = Decimal("0.00")
    found = {bucket: BucketSummary(bucket, n, o or zero, p or zero) for bucket, n, o, p in rows}
    return [found.get(b, BucketSummary(b, 0, zero, zero)) for b in BUCKET_ORDER]


def apply_borrower_wise_npa(conn: Connection) -> None:
    """Make every account of a borrower NPA when one of them is (RBI IRAC: borrower-wise).

    Runs over the whole book, so accounts that moved between borrowers are put right too; only
    accounts whose own dpd is below NPA can differ from their own bucket.
    """
    accounts = table_of(Account)
    npa_borrowers = select(accounts.c.borrower_id).where(accounts.c.dpd >= NPA_FIRST_DPD).distinct()
    sibling = accounts.alias("sibling")
    earliest_npa = (
        select(func.min(sibling.c.npa_since))
        .where(sibling.c.borrower_id == accounts.c.borrower_id, sibling.c.dpd >= NPA_FIRST_DPD)
        .scalar_subquery()
    )
    conn.execute(
        update(accounts)
        .where(
            accounts.c.dpd < NPA_FIRST_DPD,
            accounts.c.borrower_id.in_(npa_borrowers),
            or_(
                accounts.c.bucket != Bucket.NPA.value,
                accounts.c.npa_since.is_distinct_from(earliest_npa),
            ),
        )
        .values(bucket=Bucket.NPA.value, npa_since=earliest_npa)
    )
    conn.execute(
        update(accounts)
        .where(
            accounts.c.dpd < NPA_FIRST_DPD,
            accounts.c.bucket == Bucket.NPA.value,
            accounts.c.borrower_id.not_in(npa_borrowers),
        )
        .values(bucket=bucket_sql(accounts.c.dpd), npa_since=None)
    )


def refresh_buckets(conn: Connection, *, today: date) -> int:
    """Age overdue accounts to `today`, then rebucket them borrower-wise (the nightly refresh).

    An overdue account's dpd is the days since its earliest unpaid due date, so between two
    files from the lender (which stay authoritative, and carry cures) it grows by itself.
    Returns the accounts whose dpd changed.
    """
    accounts = table_of(Account)
    aged = days_since(conn, accounts.c.due_date, today)
    npa_day = add_days(conn, accounts.c.due_date, NPA_FIRST_DPD)
    changed = conn.execute(
        update(accounts)
        .where(accounts.c.overdue_amount > 0, accounts.c.due_date < today, aged > accounts.c.dpd)
        .values(
            dpd=aged,
            # NPA from the day dpd reached 91: 91 days after the earliest unpaid due date.
            npa_since=case(
                (aged >= NPA_FIRST_DPD, func.coalesce(accounts.c.npa_since, npa_day)),
                else_=None,
            ),
        )
    ).rowcount
    conn.execute(
        update(accounts)
        .where(accounts.c.dpd >= NPA_FIRST_DPD, accounts.c.bucket != Bucket.NPA.value)
        .values(bucket=Bucket.NPA.value)
    )
    conn.execute(
        update(accounts)
        .where(accounts.c.dpd < NPA_FIRST_DPD, accounts.c.bucket != bucket_sql(accounts.c.dpd))
        .values(bucket=bucket_sql(accounts.c.dpd))
    )
    apply_borrower_wise_npa(conn)
    return int(changed)
