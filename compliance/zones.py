"""Where a phone is: candidate time zones, and local wall-clock times that survive DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezone
from phonenumbers.tzdata import TIMEZONE_DATA

UNKNOWN_ZONE = "Etc/Unknown"


@cache
def zone(name: str) -> ZoneInfo:
    """A ZoneInfo, cached; legacy names such as Asia/Calcutta resolve through tzdata's links."""
    return ZoneInfo(name)


@lru_cache(maxsize=200_000)
def phone_zones(phone: str) -> tuple[str, ...]:
    """Every zone `phonenumbers` gives for `phone`; empty when it knows none."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = tuple(z for z in phone_timezone.time_zones_for_number(parsed) if z != UNKNOWN_ZONE)
    return zones


@cache
def _single_zone_countries() -> dict[str, tuple[str]]:
    """Calling codes for which every entry of phonenumbers' zone data names the same one zone."""
    zones_by_code: dict[str, set[tuple[str, ...]]] = {}
    for prefix, zones in TIMEZONE_DATA.items():
        code = next(
            (
                prefix[:n]
                for n in (1, 2, 3)
                if int(prefix[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
            ),
            None,
        )
        if code is not None:
            zones_by_code.setdefault(code, set()).add(zones)
    return {
        code: (next(iter(found))[0],)
        for code, found in zones_by_code.items()
        if len(found) == 1 and len(next(iter(found))) == 1
    }


def valid_phone_zones(phone: str) -> tuple[str, ...]:
    """`phone_zones` for a number already known to be valid (e.g. status ok in the store).

    For a country with one zone everywhere (India: Asia/Calcutta) every valid number is in it, so
    the costly number-type lookup is skipped; the answer is the one phonenumbers would give.
    """
    if phone.startswith("+"):
        single = _single_zone_countries()
        for n in (2, 3, 4):
            found = single.get(phone[1:n])
            if found is not None:
                return found
    return phone_zones(phone)


def local_instant(day: date, wall: time, where: ZoneInfo) -> datetime:
    """The earliest instant whose wall-clock time in `where` on `day` is at or after `wall`.

    In a DST overlap that is the first occurrence; in a DST gap (the wall time does not exist)
    it is the instant the gap ends.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=where, fold=0)
    if first.astimezone(UTC).astimezone(where).replace(tzinfo=None) == naive:
        return first
    # In a gap: the transition lies between the instants the two folds map to; find it.
    low = naive.replace(tzinfo=where, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    if low > high:
        low, high = high, low
    while high - low > timedelta(microseconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(where).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high.astimezone(where)


def start_of_day(day: date, where: ZoneInfo) -> datetime:
    return local_instant(day, time(0), where)
