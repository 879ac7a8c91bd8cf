"""The compliance check's JSON input (CLI and API), validated field by field, as SPEC defines it.

Omitted fields mean empty or none. Unknown fields are refused: a misspelt `holds` must not make
a blocked call look allowed.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from compliance.facts import WEEKDAYS, AccountFacts, Attempt, Case, Hold, Preference
from compliance.zones import zone
from crm.dispositions import BY_CODE
from crm.models import AccountFlagCode
from crm.phones import parse_phone

# Calls, holds and promises fall in these years; the engine's searches run two years past a case
# and must stay inside the calendar.
YEARS = (1970, 2199)
_Dated = TypeVar("_Dated", date, datetime)


def _instant(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs an offset, e.g. 2026-03-02T10:15:00+05:30")
    return _in_years(value)


def _in_years(value: _Dated) -> _Dated:
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"{value.isoformat()} is outside the years {YEARS[0]}-{YEARS[1]}")
    return value


def _phone(value: str) -> str:
    try:
        return parse_phone(value).number
    except ValueError as exc:
        raise ValueError(f"{value!r} is {exc}") from None


def _hhmm(value: object) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a time HH:MM")
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{value!r} is not a time HH:MM") from None


Instant = Annotated[datetime, AfterValidator(_instant)]
Day = Annotated[date, AfterValidator(_in_years)]
Phone = Annotated[str, AfterValidator(_phone)]
HHMM = Annotated[time, BeforeValidator(_hhmm)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HoldIn(_Strict):
    kind: str
    until: Day | None = None


class PreferenceIn(_Strict):
    kind: str = "avoid"
    phone: Phone | None = None
    days: list[str] = []
    start: HHMM | None = None
    end: HHMM | None = None

    @field_validator("kind")
    @classmethod
    def _avoid(cls, value: str) -> str:
        if value != "avoid":
            raise ValueError("only 'avoid' preferences are understood")
        return value

    @field_validator("days")
    @classmethod
    def _weekdays(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v.lower() not in WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown day {', '.join(unknown)} (use {', '.join(WEEKDAYS)})")
        return [v.lower() for v in values]

    def facts(self) -> Preference:
        return Preference(
            kind=self.kind,
            phone=self.phone,
            days=frozenset(WEEKDAYS.index(d) for d in self.days),
            start=self.start,
            end=self.end,
        )


class AccountIn(_Strict):
    account_id: str | None = None
    dpd: Annotated[int, Field(ge=0)] | None = None
    timezone: str | None = None
    phones: list[Phone] = []
    flags: list[AccountFlagCode] = []
    holds: list[HoldIn] = []
    preferences: list[PreferenceIn] = []

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zone(value)
            except (KeyError, ValueError, OSError):
                raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value


class AttemptIn(_Strict):
    at: Instant
    phone: Phone | None = None
    disposition: str | None = None
    ptp_date: Day | None = None
    callback_at: Instant | None = None

    @field_validator("disposition")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in BY_CODE:
            raise ValueError(f"unknown disposition {value!r}")
        return value.upper() if value is not None else None


class CaseIn(_Strict):
    """SPEC's compliance case."""

    policy: str | None = None
    at: Instant
    phone: Phone
    account: AccountIn
    history: list[AttemptIn] = []

    def facts(self) -> Case:
        account = self.account
        return Case(
            at=self.at,
            phone=self.phone,
            account=AccountFacts(
                account_id=account.account_id,
                dpd=account.dpd,
                timezone=account.timezone,
                phones=tuple(account.phones),
                flags=frozenset(f.value for f in account.flags),
                holds=tuple(Hold(h.kind, h.until) for h in account.holds),
                preferences=tuple(p.facts() for p in account.preferences),
            ),
            history=tuple(
                Attempt(a.at, a.phone, a.disposition, a.ptp_date, a.callback_at)
                for a in self.history
            ),
        )


class ReasonOut(BaseModel):
    rule: str
    detail: str


class PolicyOut(BaseModel):
    name: str
    version: str


class DecisionOut(BaseModel):
    allowed: bool
    reasons: list[ReasonOut]
    next_allowed_at: str | None
    policy: PolicyOut
    zones: list[str]
