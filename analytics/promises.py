"""Promise tracking: which promises to pay were kept, in SQL, and the PTP report.

A promise is kept when the account's payments from the day it was made (`promised_on`) to its
date plus the grace period (`promised_date + grace_days`, both inclusive) reach the promised
amount; it is broken when that window has closed without them. A payment counts toward every
promise whose window covers it (a borrower who repeats a promise keeps both with one payment).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, case, func, literal, or_, select, update
from sqlalchemy.orm import Session

from analytics.agents import promise_counts
from analytics.periods import Period
from analytics.sql import connection_of
from crm.models import Payment, Promise, PromiseStatus
from duecall.db import add_days, table_of


def evaluate_promises(
    conn_or_session: Connection | Session, *, today: date, grace_days: int, now: datetime
) -> int:
    """Mark promises kept or broken as of `today` (the lender's local date); returns how many
    changed. Pending and broken promises are looked at again, so a payment imported late still
    keeps a promise; a kept promise stays kept."""
    conn = connection_of(conn_or_session)
    promises, payments = table_of(Promise), table_of(Payment)
    window_end = add_days(conn, promises.c.promised_date, grace_days)
    paid = func.coalesce(
        select(func.sum(payments.c.amount))
        .where(
            payments.c.account_id == promises.c.account_id,
            payments.c.paid_at >= promises.c.promised_on,
            payments.c.paid_at <= window_end,
        )
        .scalar_subquery(),
        0,
    )
    status = case(
        (paid >= promises.c.amount, literal(PromiseStatus.KEPT.value)),
        (window_end < literal(today, Date), literal(PromiseStatus.BROKEN.value)),
        else_=literal(PromiseStatus.PENDING.value),
    )
    result = conn.execute(
        update(promises)
        .where(
            promises.c.status != PromiseStatus.KEPT.value,
            or_(promises.c.status != status, promises.c.paid_amount.is_distinct_from(paid)),
        )
        .values(status=status, paid_amount=paid, evaluated_at=now)
    )
    return int(result.rowcount)


def ptp_report(conn_or_session: Connection | Session, *, start: date, end: date) -> dict[str, Any]:
    """Promises made in the period per agent: how many, how much, kept, broken, pending."""
    per_agent: dict[str, dict[str, tuple[int, int, int]]] = defaultdict(dict)
    for agent, status, n, amount, paid in promise_counts(
        connection_of(conn_or_session), Period(start, end)
    ):
        per_agent[agent][status] = (n, amount, paid)
    rows = [_ptp_row(agent, by_status) for agent, by_status in sorted(per_agent.items())]
    total: dict[str, tuple[int, int, int]] = {}
    for by_status in per_agent.values():
        for status, (n, amount, paid) in by_status.items():
            n0, a0, p0 = total.get(status, (0, 0, 0))
            total[status] = (n0 + n, a0 + amount, p0 + paid)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "agents": rows,
        "total": _ptp_row(None, total),
    }


def _ptp_row(agent: str | None, by_status: dict[str, tuple[int, int, int]]) -> dict[str, Any]:
    def get(status: PromiseStatus) -> tuple[int, int, int]:
        return by_status.get(status.value, (0, 0, 0))

    kept, broken, pending = (
        get(PromiseStatus.KEPT),
        get(PromiseStatus.BROKEN),
        get(PromiseStatus.PENDING),
    )
    evaluated = kept[0] + broken[0]
    evaluated_amount = kept[1] + broken[1]
    return {
        "agent_id": agent or None,
        "promises": kept[0] + broken[0] + pending[0],
        "promised_amount": _rupees(kept[1] + broken[1] + pending[1]),
        "kept": kept[0],
        "broken": broken[0],
        "pending": pending[0],
        "kept_rate": round(kept[0] / evaluated, 4) if evaluated else None,
        "kept_amount": _rupees(kept[1]),
        "kept_amount_rate": round(kept[1] / evaluated_amount, 4) if evaluated_amount else None,
        "paid_amount": _rupees(kept[2] + broken[2] + pending[2]),
    }


def _rupees(paise: int) -> str:
    return f"{Decimal(paise) / 100:.2f}"
