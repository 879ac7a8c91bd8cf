from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent import lexicon
from agent.understanding import AmountKind, Expecting, Intent, Understanding, understand
from duecall.errors import InvalidInput
from tests.agent.understanding_cases import CASES, EMI, NOW, OVERDUE, TODAY, ZONE, Case, hear


def case_id(case: Case) -> str:
    keys = f" keys={case.digits}" if case.digits else ""
    return f"{case.text or '<empty>'} [{case.expecting.value}{keys}]"


def test_the_table_is_big_and_covers_three_scripts() -> None:
    devanagari = [c for c in CASES if any("\u0900" <= ch <= "\u097f" for ch in c.text)]
    assert len(CASES) >= 200
    assert len(devanagari) >= 30
    assert len({c.intent for c in CASES}) >= 20


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_utterance_means(case: Case) -> None:
    got = hear(case)
    assert (got.intent, got.date, got.amount) == (case.intent, case.date, case.amount_value)
    checks = {
        "amount_kind": case.kind,
        "needs_date": case.needs_date,
        "hardship": case.hardship,
        "callback_at": case.callback_at,
        "preference": case.preference,
        "payment_method": case.method,
        "borrower_deceased": case.deceased,
        "verification": case.verification,
    }
    for name, expected in checks.items():
        if expected is not None:
            assert getattr(got, name) == expected, name


# --- properties ----------------------------------------------------------------------------

_UNITS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
          "eighteen", "nineteen"]  # fmt: skip
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_HINDI_LATIN: dict[int, str] = {}
_HINDI_DEVANAGARI: dict[int, str] = {}
for _word, _value in lexicon.HINDI_NUMBERS.items():
    (_HINDI_LATIN if _word.isascii() else _HINDI_DEVANAGARI).setdefault(_value, _word)
_INDIAN_SCALES = ((10_000_000, 100), (100_000, 100), (1_000, 100), (100, 10))


def english_below_100(n: int) -> str:
    if n < 20:
        return _UNITS[n]
    return _TENS[n // 10] + (f" {_UNITS[n % 10]}" if n % 10 else "")


def spell(n: int, small: Callable[[int], str], scales: tuple[str, str, str, str]) -> str:
    """`n` in words on the Indian system (crore, lakh, thousand, hundred)."""
    words = []
    for (size, _limit), scale in zip(_INDIAN_SCALES, scales, strict=True):
        count, n = divmod(n, size)
        if count:
            words.append(f"{spell(count, small, scales) if count >= 100 else small(count)} {scale}")
    if n:
        words.append(small(n))
    return " ".join(words)


def english(n: int) -> str:
    return spell(n, english_below_100, ("crore", "lakh", "thousand", "hundred"))


def hinglish(n: int) -> str:
    return spell(n, _HINDI_LATIN.__getitem__, ("karod", "lakh", "hazaar", "sau"))


def devanagari(n: int) -> str:
    return spell(n, _HINDI_DEVANAGARI.__getitem__, ("करोड़", "लाख", "हज़ार", "सौ"))


def indian_grouping(n: int) -> str:
    """12345678 → "1,23,45,678"."""
    text = str(n)
    head, tail = text[:-3], text[-3:]
    groups = []
    while len(head) > 2:
        head, groups = head[:-2], [head[-2:], *groups]
    return ",".join([g for g in (head, *groups) if g] + [tail]) if head or groups else tail


def heard(
    text: str, expecting: Expecting = Expecting.AMOUNT, language: str = "en", **kw: Any
) -> Understanding:
    defaults: dict[str, Any] = {
        "today": TODAY,
        "now": NOW,
        "zone": ZONE,
        "overdue": OVERDUE,
        "emi": EMI,
    }
    return understand(text, expecting=expecting, language=language, **{**defaults, **kw})


@given(st.integers(min_value=1, max_value=99_999_999))
def test_any_amount_in_digits_round_trips(n: int) -> None:
    forms = [str(n), indian_grouping(n), f"Rs. {n}", f"₹{indian_grouping(n)}", f"{n} rupees"]
    if n % 1000 == 0:
        forms.append(f"{n // 1000}k")
    for form in forms:
        assert heard(form).amount == Decimal(n), form


@given(st.integers(min_value=1, max_value=999_999_999))
def test_any_amount_in_english_words_round_trips(n: int) -> None:
    assert heard(english(n)).amount == Decimal(n), english(n)


@given(st.integers(min_value=1, max_value=999_999_999), st.booleans())
def test_any_amount_in_hindi_words_round_trips_in_both_scripts(n: int, latin: bool) -> None:
    text = hinglish(n) if latin else devanagari(n)
    assert heard(text, language="hi").amount == Decimal(n), text


@given(st.integers(min_value=1, max_value=999), st.sampled_from([1_000, 100_000]))
def test_spoken_amounts_inside_a_promise_keep_their_date(n: int, scale: int) -> None:
    got = heard(f"kal {hinglish(n * scale)} de dunga", Expecting.ANYTHING)
    assert (got.intent, got.date, got.amount) == (Intent.PROMISE, date(2026, 3, 3), n * scale)


@given(st.dates(date(2020, 1, 1), date(2035, 12, 31)), st.integers(min_value=1, max_value=31))
def test_a_day_of_the_month_is_the_next_such_day(today: date, day: int) -> None:
    got = heard(f"{day} tareekh ko de dunga", Expecting.ANYTHING, today=today)
    assert got.intent is Intent.PROMISE and got.date is not None
    assert got.date.day == day and today <= got.date <= today + timedelta(days=62)


@given(st.dates(date(2020, 1, 1), date(2035, 12, 31)), st.sampled_from(sorted(lexicon.WEEKDAYS)))
def test_weekdays_resolve_to_the_coming_one_and_next_weeks_one(today: date, name: str) -> None:
    weekday = lexicon.WEEKDAYS[name]
    bare = heard(f"{name} ko de dunga", Expecting.ANYTHING, today=today).date
    following = heard(f"next {name}", Expecting.DATE, today=today).date
    monday = today - timedelta(days=today.weekday())
    assert bare is not None and bare.weekday() == weekday and 1 <= (bare - today).days <= 7
    assert following is not None and following.weekday() == weekday
    assert 7 <= (following - monday).days <= 13


@given(st.integers(min_value=1910, max_value=1999))
def test_a_year_of_birth_said_as_two_pairs_is_one_number(year: int) -> None:
    said = f"{english_below_100(year // 100)} {english_below_100(year % 100)}"
    got = heard(said, Expecting.VERIFICATION)
    assert (got.intent, got.verification) == (Intent.VERIFICATION, str(year))


@given(st.lists(st.integers(min_value=0, max_value=9), min_size=4, max_size=4))
def test_digits_said_one_by_one_are_kept_in_order(digits: list[int]) -> None:
    said = " ".join(["zero", *_UNITS[1:10]][d] for d in digits)
    got = heard(said, Expecting.VERIFICATION)
    assert got.verification == "".join(map(str, digits))


_SPEECH = st.text(
    alphabet=st.sampled_from(
        list("abcdefghijklmnopqrstuvwxyz0123456789 ,.?'/:₹") + list("कलपांचहज़ारदूंगानहीं")
    ),
    max_size=60,
)


@given(_SPEECH, st.sampled_from(list(Expecting)))
def test_any_transcript_is_understood_without_error(text: str, expecting: Expecting) -> None:
    got = heard(text, expecting)
    assert isinstance(got.intent, Intent)
    assert got.amount is None or got.amount >= 0
    assert got.callback_at is None or got.callback_at.tzinfo is not None


# --- inputs, keypad, confidence ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"now": datetime(2026, 3, 2, 10, 0)}, "now"),
        ({"language": "fr"}, "language"),
        ({"overdue": Decimal("-1")}, "overdue"),
        ({"emi": Decimal("0")}, "emi"),
        ({"confidence": 1.5}, "confidence"),
        ({"expecting": "gossip"}, "expecting"),
        ({"digits": "12a"}, "digits"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"expecting": Expecting.ANYTHING, "language": "en", **change}
    with pytest.raises(InvalidInput) as raised:
        heard("kal de dunga", **arguments)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("confidence", "low"), [(None, False), (0.92, False), (0.5, False), (0.49, True), (0.0, True)]
)
def test_low_confidence_is_flagged_and_the_meaning_kept(
    confidence: float | None, low: bool
) -> None:
    got = heard("kal de dunga", Expecting.ANYTHING, confidence=confidence)
    assert (got.intent, got.date, got.low_confidence) == (Intent.PROMISE, date(2026, 3, 3), low)


def test_keypad_digits_win_over_an_empty_transcript_and_drop_the_hash() -> None:
    got = heard("", Expecting.VERIFICATION, digits="4321#")
    assert (got.intent, got.verification, got.digits) == (Intent.VERIFICATION, "4321", "4321")


def test_silence_is_silence_whatever_was_asked() -> None:
    assert {heard(" , . ", e).intent for e in Expecting} == {Intent.SILENCE}


def test_emi_without_an_emi_on_the_account_has_no_amount() -> None:
    got = heard("ek EMI kal de dunga", Expecting.ANYTHING, emi=None)
    assert (got.intent, got.amount, got.amount_kind) == (Intent.PROMISE, None, AmountKind.EMI)


def test_a_callback_time_already_past_today_is_tomorrow() -> None:
    evening = datetime(2026, 3, 2, 19, 30, tzinfo=ZONE)
    got = heard("call me at 6", Expecting.ANYTHING, now=evening)
    assert got.callback_at == datetime(2026, 3, 3, 18, 0, tzinfo=ZONE)


def test_callback_times_are_in_the_borrowers_zone() -> None:
    new_york = ZoneInfo("America/New_York")
    now = datetime(2026, 3, 2, 15, 0, tzinfo=ZONE)  # 04:30 in New York
    got = heard(
        "call me at 10 am", Expecting.ANYTHING, now=now, zone=new_york, today=date(2026, 3, 2)
    )
    assert got.callback_at == datetime(2026, 3, 2, 10, 0, tzinfo=new_york)
    assert got.callback_at is not None and got.callback_at.utcoffset() == timedelta(hours=-5)


def test_offsets_count_from_now_in_the_borrowers_zone() -> None:
    utc_now = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # 10:00 in Mumbai
    got = heard("do ghante baad call karna", Expecting.ANYTHING, now=utc_now)
    assert got.callback_at == datetime(2026, 3, 2, 12, 0, tzinfo=ZONE)
    assert got.callback_at is not None and got.callback_at.tzinfo == ZONE


def test_evidence_names_what_decided_and_never_the_verification_value() -> None:
    promise = heard("kal paanch hazaar de dunga", Expecting.ANYTHING)
    assert promise.evidence == ("commitment: de dunga", "date: kal", "amount: paanch hazaar")
    verification = heard("1985", Expecting.VERIFICATION)
    assert verification.verification == "1985"
    assert not any("1985" in line for line in verification.evidence)


def test_dateparser_reads_only_what_the_rules_do_not() -> None:
    fallback = heard("I will pay in a fortnight", Expecting.ANYTHING)
    ruled = heard("I will pay on 20.03.2026", Expecting.ANYTHING)
    assert fallback.date == date(2026, 3, 16)
    assert any("dateparser" in line for line in fallback.evidence)
    assert ruled.date == date(2026, 3, 20)
    assert not any("dateparser" in line for line in ruled.evidence)


def test_dateparser_dates_follow_the_tense() -> None:
    paid = heard("I paid it a fortnight ago", Expecting.ANYTHING)
    assert (paid.intent, paid.date) == (Intent.ALREADY_PAID, date(2026, 2, 16))
    promised = heard("I will pay two weeks from now", Expecting.ANYTHING)
    assert (promised.intent, promised.date) == (Intent.PROMISE, date(2026, 3, 16))


def test_an_avoid_preference_in_specs_shape() -> None:
    got = heard("office time mein is number pe call mat karo", Expecting.ANYTHING)
    assert got.intent is Intent.PREFERENCE and got.preference is not None
    assert got.preference.as_spec("+919812345678") == {
        "kind": "avoid",
        "phone": "+919812345678",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "18:00",
    }
    every_phone = heard("don't call on Sundays", Expecting.ANYTHING).preference
    assert every_phone is not None and every_phone.as_spec("+919812345678")["phone"] is None


def test_understanding_is_deterministic_and_frozen() -> None:
    first = heard("kal nahi parso, aadha", Expecting.PAYMENT)
    assert first == heard("kal nahi parso, aadha", Expecting.PAYMENT)
    with pytest.raises(FrozenInstanceError):
        first.intent = Intent.DENY  # type: ignore[misc]
