"""Pure parsers for CSV fields. Each raises RowError with a reason that names the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.phones import ParsedPhone, parse_phone

_AMOUNT = re.compile(r"(\d+)(?:\.(\d{1,2}))?")
_INTEGER = re.compile(r"\d+")
# A lakh crore: more than any loan; a bigger figure is a typo (and would not fit the column).
MAX_RUPEES = 10**12


class RowError(ValueError):
    """A row that cannot be imported; the message is the reason shown in the rejects file."""


def text(
    row: Mapping[str, str], name: str, *, required: bool = False, max_len: int = 200
) -> str | None:
    value = (row.get(name) or "").strip()
    if not value:
        if required:
            raise RowError(f"{name}: required")
        return None
    if len(value) > max_len:
        raise RowError(f"{name}: longer than {max_len} characters")
    return value


def required_text(row: Mapping[str, str], name: str, *, max_len: int = 200) -> str:
    value = text(row, name, required=True, max_len=max_len)
    assert value is not None
    return value


def paise(
    row: Mapping[str, str], name: str, *, required: bool = False, positive: bool = False
) -> int | None:
    """A rupee amount (decimal point, at most 2 decimals, no separators) as integer paise."""
    value = text(row, name, required=required, max_len=20)
    if value is None:
        return None
    if value.startswith("-"):
        raise RowError(f"{name}: negative amount {value}")
    match = _AMOUNT.fullmatch(value)
    if match is None:
        raise RowError(
            f"{name}: {value!r} is not an amount (rupees with a decimal point, "
            "at most 2 decimals, no thousands separators)"
        )
    rupees, fraction = match.groups()
    if int(rupees) > MAX_RUPEES:
        raise RowError(f"{name}: {value} is more than {MAX_RUPEES} rupees")
    amount = int(rupees) * 100 + int((fraction or "0").ljust(2, "0"))
    if positive and amount == 0:
        raise RowError(f"{name}: must be more than zero")
    return amount


def count(row: Mapping[str, str], name: str, *, required: bool = False) -> int | None:
    """A whole number of days or seconds, zero or more."""
    value = text(row, name, required=required, max_len=9)
    if value is None:
        return None
    if value.startswith("-"):
        raise RowError(f"{name}: negative value {value}")
    if _INTEGER.fullmatch(value) is None:
        raise RowError(f"{name}: {value!r} is not a whole number")
    return int(value)


def day(row: Mapping[str, str], name: str, *, required: bool = False) -> date | None:
    value = text(row, name, required=required, max_len=10)
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(name, value)
    except ValueError:
        return _bad_date(name, value)


def _bad_date(name: str, value: str) -> date:
    raise RowError(f"{name}: {value!r} is not a date (expected YYYY-MM-DD)")


def instant(
    row: Mapping[str, str], name: str, zone: ZoneInfo, *, required: bool = False
) -> datetime | None:
    """An ISO-8601 date and time; without an offset it is read in `zone`. Returned as aware UTC."""
    value = text(row, name, required=required, max_len=40)
    if value is None:
        return None
    if len(value) <= 10:
        raise RowError(f"{name}: {value!r} has no time (expected YYYY-MM-DDTHH:MM[:SS][+05:30])")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RowError(
            f"{name}: {value!r} is not a date and time (expected YYYY-MM-DDTHH:MM[:SS][+05:30])"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:30 is before the year 1 in UTC
        raise RowError(f"{name}: {value!r} is out of range") from None


def day_or_instant(
    row: Mapping[str, str], name: str, zone: ZoneInfo, *, required: bool = False
) -> date | None:
    """A date, or a date and time whose local date in `zone` is taken."""
    value = text(row, name, required=required, max_len=40)
    if value is None:
        return None
    if len(value) <= 10:
        return day(row, name)
    moment = instant(row, name, zone)
    assert moment is not None
    return moment.astimezone(zone).date()


def choice(
    row: Mapping[str, str], name: str, allowed: frozenset[str], *, default: str | None = None
) -> str | None:
    value = text(row, name, max_len=40)
    if value is None:
        return default
    if value not in allowed:
        raise RowError(f"{name}: {value!r} is not one of {', '.join(sorted(allowed))}")
    return value


def timezone(row: Mapping[str, str], name: str) -> str | None:
    value = text(row, name, max_len=64)
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise RowError(f"{name}: {value!r} is not an IANA time zone (e.g. Asia/Kolkata)") from None
    return value


def phone(row: Mapping[str, str], name: str, *, required: bool = False) -> ParsedPhone | None:
    value = text(row, name, required=required, max_len=40)
    if value is None:
        return None
    try:
        return parse_phone(value)
    except ValueError as exc:
        raise RowError(f"{name}: {value!r} is {exc}") from None
