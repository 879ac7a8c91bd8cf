"""Report periods: local calendar days in the lender's zone, and the UTC instants they span."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from duecall.errors import InvalidInput

DEFAULT_DAYS = 30  # a report without --from covers the 30 days up to --to
MAX_DAYS = 3653  # ten years: longer is a typo (a year 0031), not a report anyone reads


@dataclass(frozen=True, slots=True)
class Period:
    """From `start` to `end`, both local calendar days, inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput("to", f"{self.end} is before from ({self.start})")
        if (self.end - self.start).days >= MAX_DAYS:
            raise InvalidInput("from", f"{self.start} to {self.end} is longer than ten years")

    @classmethod
    def ending(cls, *, start: date | None, end: date | None, today: date) -> Period:
        """The period a report asks for; the defaults are the 30 days up to today."""
        end = end or today
        return cls(start or end - timedelta(days=DEFAULT_DAYS - 1), end)


@dataclass(frozen=True, slots=True)
class UtcSpan:
    """A period as UTC instants, split into whole UTC days and the partial days at its edges."""

    start: datetime
    end: datetime  # exclusive
    first_whole_day: date
    end_whole_day: date  # exclusive; equal to first_whole_day when there is no whole day

    @property
    def edges(self) -> list[tuple[datetime, datetime]]:
        """The instants outside the whole days, as [start, end) ranges."""
        if self.first_whole_day >= self.end_whole_day:
            return [(self.start, self.end)]
        first = datetime.combine(self.first_whole_day, time(), UTC)
        last = datetime.combine(self.end_whole_day, time(), UTC)
        return [(a, b) for a, b in ((self.start, first), (last, self.end)) if a < b]


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of `day` in `zone`, in UTC (DST-safe: midnight may be skipped)."""
    naive = datetime.combine(day, time())
    return naive.replace(tzinfo=zone).astimezone(UTC)


def utc_span(period: Period, zone: ZoneInfo) -> UtcSpan:
    start = local_midnight(period.start, zone)
    end = local_midnight(period.end + timedelta(days=1), zone)
    first = start.date() if start.time() == time() else start.date() + timedelta(days=1)
    last = end.date()
    return UtcSpan(start, end, first, max(first, last))


def first_of_next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def count_plan(
    days: Iterable[date],
) -> tuple[list[tuple[int, date, date]], list[tuple[int, date, date]]]:
    """How to sum per-day counts over `days` (distinct) reading the fewest rows: months more
    than half covered are read from the per-month counts, less the days of them not wanted.
    Returns (sign, first, end) runs of months (by their first days) and of days, [first, end)."""
    wanted = dict.fromkeys(days, 1)
    by_month: dict[date, int] = {}
    for day in wanted:
        by_month[day.replace(day=1)] = by_month.get(day.replace(day=1), 0) + 1
    months = []
    for month, covered in sorted(by_month.items()):
        length = (first_of_next_month(month) - month).days
        if covered * 2 > length:
            months.append(month)
            for n in range(length):
                day = month + timedelta(days=n)
                wanted[day] = wanted.get(day, 0) - 1
    month_runs = _runs([(m, 1) for m in months], first_of_next_month)
    day_runs = _runs(
        sorted((d, sign) for d, sign in wanted.items() if sign), lambda d: d + timedelta(days=1)
    )
    return month_runs, day_runs


def _runs(
    items: list[tuple[date, int]], after: Callable[[date], date]
) -> list[tuple[int, date, date]]:
    """Consecutive items of the same sign as (sign, first, end) runs."""
    runs: list[tuple[int, date, date]] = []
    for item, sign in items:
        if runs and runs[-1][0] == sign and runs[-1][2] == item:
            runs[-1] = (sign, runs[-1][1], after(item))
        else:
            runs.append((sign, item, after(item)))
    return runs


def days_of(first: date, end: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((end - first).days)]
