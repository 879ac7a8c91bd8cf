"""CRM reads and writes (database only; no HTTP, no vendors)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from crm.buckets import BUCKET_ORDER, Bucket
from crm.models import Account, Call

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
