"""Compliance policies: TOML files with the engine's knobs; `rbi` and `us-regf` are bundled."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crm.buckets import Bucket
from crm.models import AccountFlagCode
from duecall.errors import ConfigurationError

POLICY_DIR = Path(__file__).resolve().parent / "policies"
BUNDLED = tuple(sorted(p.stem for p in POLICY_DIR.glob("*.toml")))
# Rules a requested callback may be exempt from (the others always apply).
EXEMPTIBLE = frozenset({"min_gap", "daily_conversations", "daily_attempts"})


@dataclass(frozen=True, slots=True)
class Window:
    """Local wall-clock range, start inclusive, end exclusive."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    title: str
    fallback_zones: tuple[str, ...]
    window_current: Window  # dpd 0
    window_overdue: Window  # dpd 1 and over
    holidays: frozenset[date]
    callback_tolerance: timedelta
    callback_current: Window
    callback_overdue: Window
    callback_exempt: frozenset[str]
    daily_attempts: int  # 0: no cap
    daily_conversations: int
    min_gap: timedelta
    rolling_attempts: int
    rolling_window: timedelta
    weekly_attempts: int  # per 7 consecutive local days
    weekly_days: int
    post_conversation_days: int
    bereavement_days: int
    promise_grace_days: int
    promise_horizon_days: int
    promise_horizon_by_bucket: dict[Bucket, int]
    blocking_flags: frozenset[str]
    voicemail_limited_content: bool

    def window(self, *, overdue: bool, callback: bool) -> Window:
        if callback:
            return self.callback_overdue if overdue else self.callback_current
        return self.window_overdue if overdue else self.window_current

    def promise_horizon(self, bucket: Bucket) -> int:
        return self.promise_horizon_by_bucket.get(bucket, self.promise_horizon_days)


# --- the file format ----------------------------------------------------------------------


def _hhmm(value: str) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{value!r} is not a time HH:MM") from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Range(_Strict):
    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            if len(value) != 2 or not all(isinstance(v, str) for v in value):
                raise ValueError('must be ["HH:MM", "HH:MM"]')
            return {"start": _hhmm(value[0]), "end": _hhmm(value[1])}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> _Range:
        if self.end <= self.start:
            raise ValueError("the end must be after the start")
        return self

    def window(self) -> Window:
        return Window(self.start, self.end)


NonNegative = Annotated[int, Field(ge=0)]


class _TimeZones(_Strict):
    fallback: list[str] = Field(min_length=1)

    @field_validator("fallback")
    @classmethod
    def _known(cls, zones: list[str]) -> list[str]:
        for name in zones:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown IANA time zone {name!r}") from None
        return zones


class _Windows(_Strict):
    current: _Range
    overdue: _Range
    holidays: list[date] = []


class _Callback(_Strict):
    tolerance_minutes: NonNegative
    current: _Range
    overdue: _Range
    exempt: list[str] = []

    @field_validator("exempt")
    @classmethod
    def _exemptible(cls, rules: list[str]) -> list[str]:
        unknown = sorted(set(rules) - EXEMPTIBLE)
        if unknown:
            raise ValueError(
                f"cannot exempt {', '.join(unknown)} (only {', '.join(sorted(EXEMPTIBLE))})"
            )
        return rules


class _Frequency(_Strict):
    daily_attempts: NonNegative
    daily_conversations: NonNegative
    min_gap_minutes: NonNegative
    rolling_attempts: NonNegative
    rolling_hours: Annotated[int, Field(gt=0)]
    weekly_attempts: NonNegative
    weekly_days: Annotated[int, Field(gt=0)] = 7
    post_conversation_days: NonNegative


class _Holds(_Strict):
    bereavement_days: Annotated[int, Field(gt=0)]


class _Promises(_Strict):
    grace_days: NonNegative
    horizon_days: Annotated[int, Field(gt=0)]
    horizon_days_by_bucket: dict[Bucket, Annotated[int, Field(gt=0)]] = {}


class _Flags(_Strict):
    blocking: list[AccountFlagCode]


class _Voicemail(_Strict):
    limited_content: bool


class _PolicyFile(_Strict):
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    title: str = ""
    timezones: _TimeZones
    window: _Windows
    callback: _Callback
    frequency: _Frequency
    holds: _Holds
    promises: _Promises
    flags: _Flags
    voicemail: _Voicemail

    def policy(self) -> Policy:
        f = self.frequency
        return Policy(
            name=self.name,
            version=self.version,
            title=self.title or self.name,
            fallback_zones=tuple(self.timezones.fallback),
            window_current=self.window.current.window(),
            window_overdue=self.window.overdue.window(),
            holidays=frozenset(self.window.holidays),
            callback_tolerance=timedelta(minutes=self.callback.tolerance_minutes),
            callback_current=self.callback.current.window(),
            callback_overdue=self.callback.overdue.window(),
            callback_exempt=frozenset(self.callback.exempt),
            daily_attempts=f.daily_attempts,
            daily_conversations=f.daily_conversations,
            min_gap=timedelta(minutes=f.min_gap_minutes),
            rolling_attempts=f.rolling_attempts,
            rolling_window=timedelta(hours=f.rolling_hours),
            weekly_attempts=f.weekly_attempts,
            weekly_days=f.weekly_days,
            post_conversation_days=f.post_conversation_days,
            bereavement_days=self.holds.bereavement_days,
            promise_grace_days=self.promises.grace_days,
            promise_horizon_days=self.promises.horizon_days,
            promise_horizon_by_bucket=dict(self.promises.horizon_days_by_bucket),
            blocking_flags=frozenset(flag.value for flag in self.flags.blocking),
            voicemail_limited_content=self.voicemail.limited_content,
        )


def parse_policy(text: str, source: str) -> Policy:
    """A policy from TOML text; ConfigurationError names the key and the reason."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"policy {source}: not valid TOML ({exc})") from None
    try:
        return _PolicyFile.model_validate(raw).policy()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(top level)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigurationError(f"policy {source}: {problems}") from None


@cache
def load_policy(name_or_path: str) -> Policy:
    """A bundled policy by name (`rbi`, `us-regf`) or a policy TOML file by path."""
    if name_or_path in BUNDLED:
        path = POLICY_DIR / f"{name_or_path}.toml"
    else:
        path = Path(name_or_path)
        if path.suffix != ".toml" or not path.is_file():
            raise ConfigurationError(
                f"policy {name_or_path!r}: neither a bundled policy ({', '.join(BUNDLED)}) "
                "nor a readable .toml file"
            )
    return parse_policy(path.read_text(encoding="utf-8"), str(path))
