"""A call's outcome and its effects on the account, recorded the same way by the bot and people.

Effects (SPEC): WRONG_NUMBER marks that phone wrong for the account; DISPUTE puts a dispute hold
on the account; DECEASED or a reported bereavement puts a bereavement hold on it (the policy's
`bereavement_days`); PTP records a promise; CALLBACK records the time. A borrower's request not
to be called at some times or on some number is stored as an avoid-preference. Recording the
same outcome for a call again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.policy import Policy
from crm.dispositions import BY_CODE
from crm.models import (
    Account,
    Call,
    ContactPreference,
    Hold,
    Phone,
    PhoneStatus,
    Promise,
    PromiseStatus,
)
from duecall.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class AvoidRequest:
    """The borrower asked not to be called: on this phone or any, these days, these hours."""

    this_phone_only: bool = False
    days: tuple[str, ...] = ()  # mon..sun; empty: every day
    start: time | None = None
    end: time | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    disposition: str
    ptp_amount: Decimal | None = None
    ptp_date: date | None = None
    callback_at: datetime | None = None
    bereavement: bool = False  # a death in the family reported; DECEASED implies it
    avoid: tuple[AvoidRequest, ...] = field(default=())
    note: str | None = None


def promise_problems(
    account: Account, amount: Decimal | None, when: date | None, *, today: date, policy: Policy
) -> list[str]:
    """Why a promise on `account` is outside the lender's rules (empty when it is within them)."""
    return promise_rule_problems(
        amount,
        when,
        total_outstanding=(account.principal_outstanding or Decimal(0)) + account.overdue_amount,
        horizon_days=policy.promise_horizon(account.bucket),
        bucket=account.bucket,
        today=today,
    )


def promise_rule_problems(
    amount: Decimal | None,
    when: date | None,
    *,
    total_outstanding: Decimal,
    horizon_days: int,
    bucket: str,
    today: date,
) -> list[str]:
    """Why a promise is outside the lender's rules, over plain values (empty when within them)."""
    return promise_amount_problems(amount, total_outstanding=total_outstanding) + (
        promise_date_problems(when, horizon_days=horizon_days, bucket=bucket, today=today)
    )


def promise_amount_problems(amount: Decimal | None, *, total_outstanding: Decimal) -> list[str]:
    """A promise is for more than zero and at most the total outstanding (bank's policy)."""
    if amount is None or amount <= 0:
        return ["the amount must be more than zero"]
    if total_outstanding > 0 and amount > total_outstanding:
        return [f"the amount is more than the total outstanding (₹{total_outstanding:,.2f})"]
    return []


def promise_date_problems(
    when: date | None, *, horizon_days: int, bucket: str, today: date
) -> list[str]:
    """A promise falls between today and the policy's horizon for the bucket (bank's policy)."""
    if when is None:
        return ["a promise needs a date"]
    if when < today:
        return ["the date has passed"]
    if when > today + timedelta(days=horizon_days):
        return [f"the date is more than {horizon_days} days away (the limit for {bucket})"]
    return []


def record_outcome(
    session: Session, call: Call, outcome: Outcome, *, now: datetime, today: date, policy: Policy
) -> None:
    """Set the call's disposition and apply its effects to the account (idempotent per call)."""
    code = outcome.disposition.upper()
    if code not in BY_CODE:
        raise InvalidInput("disposition", f"unknown code {outcome.disposition!r}")
    if code == "PTP" and (outcome.ptp_amount is None or outcome.ptp_date is None):
        raise InvalidInput("ptp", "a PTP needs an amount and a date")
    if code == "CALLBACK" and outcome.callback_at is None:
        raise InvalidInput("callback_at", "a CALLBACK needs the time the borrower asked for")
    call.disposition = code
    if outcome.callback_at is not None:
        call.callback_at = outcome.callback_at
    account_id = call.account_id

    if code == "WRONG_NUMBER" and call.phone:
        phone = session.get(Phone, (account_id, call.phone))
        if phone is None:
            session.add(
                Phone(
                    account_id=account_id,
                    number=call.phone,
                    source="call",
                    status=PhoneStatus.WRONG_NUMBER,
                    status_changed_at=now,
                )
            )
        elif phone.status is not PhoneStatus.WRONG_NUMBER:
            phone.status, phone.status_changed_at = PhoneStatus.WRONG_NUMBER, now
    if code == "DISPUTE":
        _hold(session, call, "dispute", None, now, outcome.note)
    if code == "DECEASED" or outcome.bereavement:
        until = today + timedelta(days=policy.bereavement_days)
        _hold(
            session,
            call,
            "deceased" if code == "DECEASED" else "bereavement",
            until,
            now,
            outcome.note,
        )
    if code == "PTP":
        assert outcome.ptp_amount is not None and outcome.ptp_date is not None
        promise = session.scalar(select(Promise).where(Promise.call_id == call.call_id))
        if promise is None:
            session.add(
                Promise(
                    account_id=account_id,
                    call_id=call.call_id,
                    amount=outcome.ptp_amount,
                    promised_on=today,
                    promised_date=outcome.ptp_date,
                    status=PromiseStatus.PENDING,
                    created_at=now,
                )
            )
        else:
            promise.amount, promise.promised_date = outcome.ptp_amount, outcome.ptp_date
    record_preferences(session, call, outcome.avoid, now=now)


def _hold(
    session: Session, call: Call, kind: str, until: date | None, now: datetime, reason: str | None
) -> None:
    exists = session.scalar(select(Hold.id).where(Hold.call_id == call.call_id, Hold.kind == kind))
    if exists is None:
        session.add(
            Hold(
                account_id=call.account_id,
                kind=kind,
                until=until,
                reason=reason,
                call_id=call.call_id,
                created_at=now,
            )
        )


def record_preferences(
    session: Session, call: Call, requests: tuple[AvoidRequest, ...], *, now: datetime
) -> None:
    """Store the borrower's avoid-requests made on `call`, each once however often it is said."""
    for avoid in requests:
        _preference(session, call, avoid, now)
    session.flush()


def _preference(session: Session, call: Call, avoid: AvoidRequest, now: datetime) -> None:
    phone = call.phone if avoid.this_phone_only else None
    same = session.scalar(
        select(ContactPreference.id).where(
            ContactPreference.call_id == call.call_id,
            ContactPreference.phone.is_(None)
            if phone is None
            else ContactPreference.phone == phone,
            ContactPreference.start.is_(None)
            if avoid.start is None
            else ContactPreference.start == avoid.start,
            ContactPreference.end.is_(None)
            if avoid.end is None
            else ContactPreference.end == avoid.end,
        )
    )
    if same is None:
        session.add(
            ContactPreference(
                account_id=call.account_id,
                kind="avoid",
                phone=phone,
                days=list(avoid.days),
                start=avoid.start,
                end=avoid.end,
                note=avoid.note,
                call_id=call.call_id,
                created_at=now,
            )
        )
