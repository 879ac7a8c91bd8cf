"""Report periods: local calendar days in the lender's zone, and the UTC instants they span."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from duecall.errors import InvalidInput

DEFAULT_DAYS = 30  # a report without --from covers the 30 days up to --to


@dataclass(frozen=True, slots=True)
class Period:
    """From `start` to `end`, both local calendar days, inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput("to", f"{self.end} is before from ({self.start})")

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


def split_by_month(
    first: date, end: date
) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """The days [first, end) as the whole months in them ([first month, end month) by their
    first days, None when there is none) and the [from, to) runs of days outside them."""
    months_from = first if first.day == 1 else first_of_next_month(first)
    months_to = end.replace(day=1)
    if months_from >= months_to:
        return None, [(first, end)] if first < end else []
    days = [(a, b) for a, b in ((first, months_from), (months_to, end)) if a < b]
    return (months_from, months_to), days
