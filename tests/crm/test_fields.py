from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from crm.imports import fields as f
from crm.phones import parse_phone

IST = ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize(
    ("raw", "paise"),
    [
        ("5000", 500000),
        ("5000.5", 500050),
        ("5000.05", 500005),
        ("0", 0),
        (" 12.30 ", 1230),
        ("", None),
    ],
)
def test_amounts(raw: str, paise: int | None) -> None:
    assert f.paise({"a": raw}, "a") == paise


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("-5", "negative amount"),
        ("1,000", "is not an amount"),
        ("5000.005", "is not an amount"),
        ("five", "is not an amount"),
        ("1e5", "is not an amount"),
        ("₹500", "is not an amount"),
        ("99999999999999999999", "is more than 1000000000000 rupees"),
    ],
)
def test_bad_amounts_name_the_field(raw: str, reason: str) -> None:
    with pytest.raises(f.RowError, match=f"^amount: .*{reason}"):
        f.paise({"amount": raw}, "amount")


def test_required_and_positive_amounts() -> None:
    with pytest.raises(f.RowError, match="amount: required"):
        f.paise({"amount": " "}, "amount", required=True)
    with pytest.raises(f.RowError, match="amount: must be more than zero"):
        f.paise({"amount": "0.00"}, "amount", positive=True)


@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("45", 45), ("", None)])
def test_counts(raw: str, value: int | None) -> None:
    assert f.count({"dpd": raw}, "dpd") == value


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("-1", "negative"), ("1.5", "not a whole number"), ("x", "not a whole number")],
)
def test_bad_counts(raw: str, reason: str) -> None:
    with pytest.raises(f.RowError, match=f"dpd: .*{reason}"):
        f.count({"dpd": raw}, "dpd")


@pytest.mark.parametrize("raw", ["2026-02-30", "01-03-2026", "2026/03/01", "2026-3-1", "20260301"])
def test_bad_dates(raw: str) -> None:
    with pytest.raises(f.RowError, match=r"due_date: .* is not a date"):
        f.day({"due_date": raw}, "due_date")


def test_dates() -> None:
    assert f.day({"d": "2026-03-01"}, "d") == date(2026, 3, 1)


@pytest.mark.parametrize(
    ("raw", "utc"),
    [
        ("2026-03-02T10:15:00+05:30", datetime(2026, 3, 2, 4, 45, tzinfo=UTC)),
        ("2026-03-02 10:15", datetime(2026, 3, 2, 4, 45, tzinfo=UTC)),  # naive: lender's zone
        ("2026-03-02T04:45:00Z", datetime(2026, 3, 2, 4, 45, tzinfo=UTC)),
    ],
)
def test_instants(raw: str, utc: datetime) -> None:
    assert f.instant({"t": raw}, "t", IST) == utc


@pytest.mark.parametrize("raw", ["2026-03-02", "yesterday", "2026-03-02T25:00"])
def test_bad_instants(raw: str) -> None:
    with pytest.raises(f.RowError, match="started_at: "):
        f.instant({"started_at": raw}, "started_at", IST)


def test_day_or_instant_takes_the_local_date() -> None:
    assert f.day_or_instant({"p": "2026-03-01T20:00:00+00:00"}, "p", IST) == date(2026, 3, 2)
    assert f.day_or_instant({"p": "2026-03-01"}, "p", IST) == date(2026, 3, 1)


def test_timezones() -> None:
    assert f.timezone({"tz": "Asia/Calcutta"}, "tz") == "Asia/Calcutta"
    with pytest.raises(f.RowError, match="tz: 'Mars/Olympus' is not an IANA time zone"):
        f.timezone({"tz": "Mars/Olympus"}, "tz")


def test_text_length_limit() -> None:
    with pytest.raises(f.RowError, match="name: longer than 5 characters"):
        f.text({"name": "abcdef"}, "name", max_len=5)


@pytest.mark.parametrize(
    ("raw", "number", "valid"),
    [
        ("+919812345678", "+919812345678", True),
        ("9812345678", "+919812345678", True),
        ("09812345678", "+919812345678", True),
        ("+91 98123 45678", "+919812345678", True),
        ("+91-98123-45678", "+919812345678", True),
        ("919812345678", "+919812345678", True),
        ("+12125551234", "+12125551234", True),
        ("+915555555555", "+915555555555", False),
        ("12345", "+9112345", False),
        ("abc123", "+91123", False),  # phonenumbers keeps the digits; it is simply not valid
    ],
)
def test_phones(raw: str, number: str, valid: bool) -> None:
    assert tuple(parse_phone(raw)) == (number, valid)


@pytest.mark.parametrize("raw", ["not a phone", "+", "abc"])
def test_unparseable_phones(raw: str) -> None:
    with pytest.raises(f.RowError, match=r"phone: .* is not a phone number"):
        f.phone({"phone": raw}, "phone")


@pytest.mark.parametrize("raw", ["0001-01-01T00:00+05:30", "9999-12-31T23:59-05:00"])
def test_instants_beyond_the_calendar_are_refused(raw: str) -> None:
    with pytest.raises(f.RowError, match=r"^started_at: .* is out of range"):
        f.instant({"started_at": raw}, "started_at", IST)
