"""A tele-caller's queue and an account's live compliance state (database reads only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from compliance.engine import Decision
from compliance.policy import Policy
from compliance.screening import screen
from crm.models import Account, Borrower, Call
from dialer.models import Channel, DialQueueEntry

QUEUE_SIZE = 200  # accounts shown at once; the rest follow as these are worked
NOT_QUEUED_TIER = 99  # allocated accounts no agent campaign has queued come last


@dataclass(frozen=True, slots=True)
class Status:
    """Whether the account may be called now and, if not, why and until when."""

    allowed: bool
    reasons: tuple[str, ...]
    until: datetime | None  # local time at which it may be called, if it ever may

    @classmethod
    def of(cls, decision: Decision, zone: ZoneInfo) -> Status:
        until = decision.next_allowed_at
        return cls(
            decision.allowed,
            tuple(f"{r.rule}: {r.detail}" for r in decision.reasons),
            None if decision.allowed or until is None else until.astimezone(zone),
        )

    @property
    def summary(self) -> str:
        if self.allowed:
            return "Callable now"
        until = f" until {self.until:%a %d %b %H:%M}" if self.until else " (no end date)"
        return f"Blocked{until} — " + "; ".join(self.reasons)


@dataclass(frozen=True, slots=True)
class QueueRow:
    account_id: str
    borrower: str
    bucket: str
    dpd: int
    overdue: Decimal
    tier: int
    status: Status


def my_queue(
    session: Session, *, agent_id: str, now: datetime, policy: Policy, zone: ZoneInfo
) -> list[QueueRow]:
    """The accounts allocated to `agent_id`, most urgent first, each with its status now.

    Order: the agent campaigns' dial-queue priority (tier, then score), then accounts no agent
    campaign has queued, by amount overdue.
    """
    tier = func.coalesce(func.min(DialQueueEntry.tier), NOT_QUEUED_TIER)
    rows = session.execute(
        select(
            Account.account_id,
            Borrower.name,
            Account.bucket,
            Account.dpd,
            Account.overdue_amount,
            Account.timezone,
            tier.label("tier"),
        )
        .join(Borrower, Borrower.borrower_id == Account.borrower_id)
        .outerjoin(
            DialQueueEntry,
            and_(
                DialQueueEntry.account_id == Account.account_id,
                DialQueueEntry.channel == Channel.AGENT.value,
            ),
        )
        .where(Account.assigned_agent_id == agent_id)
        .group_by(Account.account_id, Borrower.name)
        .order_by(
            tier,
            func.coalesce(func.max(DialQueueEntry.score), 0).desc(),
            Account.overdue_amount.desc(),
            Account.account_id,
        )
        .limit(QUEUE_SIZE)
    ).all()
    decisions = screen(session.connection(), [r.account_id for r in rows], at=now, policy=policy)
    return [
        QueueRow(
            r.account_id,
            r.name,
            str(r.bucket),
            r.dpd,
            r.overdue_amount,
            r.tier,
            Status.of(
                decisions[r.account_id].decision, ZoneInfo(r.timezone) if r.timezone else zone
            ),
        )
        for r in rows
    ]


def next_account(rows: list[QueueRow], after: str | None) -> str | None:
    """The first callable account after `after` in queue order (wrapping), else None."""
    ids = [r.account_id for r in rows]
    start = ids.index(after) + 1 if after in ids else 0
    for row in rows[start:] + rows[:start]:
        if row.status.allowed and row.account_id != after:
            return row.account_id
    return None


def attempts_today(session: Session, *, account_id: str, now: datetime, zone: ZoneInfo) -> int:
    """Calls to the account since local midnight."""
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), zone)
    return (
        session.scalar(
            select(func.count())
            .select_from(Call)
            .where(
                Call.account_id == account_id,
                Call.started_at >= midnight,
                Call.started_at < midnight + timedelta(days=1),
            )
        )
        or 0
    )
