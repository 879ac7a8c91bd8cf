"""What the engine decides on: plain, immutable data, built from JSON or from the CRM store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Hold:
    kind: str
    until: date | None  # last local date of the hold, inclusive; none: until released


@dataclass(frozen=True, slots=True)
class Preference:
    """An avoid-preference: no calls on these weekdays between start and end (local time)."""

    kind: str = "avoid"
    phone: str | None = None  # none: every phone of the account
    days: frozenset[int] = frozenset()  # 0 = Monday; empty: every day
    start: time | None = None  # start and end none: the whole day
    end: time | None = None  # end at or before start: the range runs past midnight


@dataclass(frozen=True, slots=True)
class Attempt:
    """One earlier call attempt to the account."""

    at: datetime
    phone: str | None = None
    disposition: str | None = None
    ptp_date: date | None = None
    callback_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AccountFacts:
    account_id: str | None = None
    dpd: int | None = None  # unknown dpd is treated as overdue, the stricter case
    timezone: str | None = None
    phones: tuple[str, ...] = ()
    flags: frozenset[str] = frozenset()
    holds: tuple[Hold, ...] = ()
    preferences: tuple[Preference, ...] = ()
    wrong_numbers: frozenset[str] = frozenset()  # phones the store already marks wrong_number
    phones_known_valid: bool = False  # phones come from the store, validated at import


@dataclass(frozen=True, slots=True)
class Case:
    at: datetime
    phone: str
    account: AccountFacts
    history: tuple[Attempt, ...] = field(default=())
