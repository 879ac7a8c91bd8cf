"""Every rule's edges, under both bundled policies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from compliance.engine import Decision, decide
from compliance.facts import AccountFacts, Attempt, Case, Hold, Preference
from compliance.policy import POLICY_DIR, Policy, load_policy, parse_policy

RBI = load_policy("rbi")
REGF = load_policy("us-regf")
IN, IN2 = "+919812345678", "+919812345679"
NEW_YORK = "+12125551234"
SOUTH_DAKOTA = "+16059108789"  # phonenumbers: America/Denver and America/North_Dakota/Center


def ist(day: int, clock: str, month: int = 3) -> datetime:
    """An instant in Mumbai in March 2026 (2026-03-02 is a Monday)."""
    return datetime.fromisoformat(f"2026-{month:02d}-{day:02d}T{clock}+05:30")


def et(text: str) -> datetime:
    return datetime.fromisoformat(text)


def attempt(at: datetime, disposition: str = "RNR", phone: str = IN, **fields: Any) -> Attempt:
    return Attempt(at=at, phone=phone, disposition=disposition, **fields)


def check(
    at: datetime,
    *,
    policy: Policy = RBI,
    phone: str = IN,
    dpd: int | None = 12,
    history: tuple[Attempt, ...] = (),
    **account: Any,
) -> Decision:
    facts = AccountFacts(account_id="A1", dpd=dpd, phones=(phone,), **account)
    return decide(Case(at=at, phone=phone, account=facts, history=history), policy)


def assert_decision(decision: Decision, rules: list[str], next_at: datetime | str | None) -> None:
    assert [r.rule for r in decision.reasons] == rules
    assert decision.allowed is (not rules)
    expected = decision.at if next_at == "at" else next_at
    assert decision.next_allowed_at == expected


# --- RBI: windows --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "dpd", "rules", "next_at"),
    [
        (ist(2, "07:59:59"), 12, ["window"], ist(2, "08:00")),
        (ist(2, "08:00"), 12, [], "at"),
        (ist(2, "18:59:59"), 12, [], "at"),
        (ist(2, "19:00"), 12, ["window"], ist(3, "08:00")),
        (ist(2, "06:59:59"), 0, ["window"], ist(2, "07:00")),
        (ist(2, "07:00"), 0, [], "at"),
        (ist(2, "07:30"), 1, ["window"], ist(2, "08:00")),  # overdue from dpd 1
        (ist(2, "19:00"), 0, ["window"], ist(3, "07:00")),
        (ist(2, "07:30"), None, ["window"], ist(2, "08:00")),  # dpd unknown: the stricter hours
        (ist(2, "02:00"), 12, ["window"], ist(2, "08:00")),
    ],
)
def test_rbi_windows(at: datetime, dpd: int | None, rules: list[str], next_at: Any) -> None:
    assert_decision(check(at, dpd=dpd), rules, next_at)


def test_window_detail_says_what_and_where() -> None:
    [reason] = check(ist(2, "19:30")).reasons
    assert reason.detail == (
        "19:30 in Asia/Calcutta is outside 08:00–19:00 (calling hours for overdue accounts)"
    )


def test_account_timezone_wins_over_the_phone() -> None:
    decision = check(et("2026-03-02T10:00:00-05:00"), timezone="America/New_York")
    assert decision.allowed and decision.zones == ("America/New_York",)


# --- RBI: requested callbacks --------------------------------------------------------------


def callback_request(asked_for: datetime) -> tuple[Attempt, ...]:
    return (attempt(ist(2, "10:00"), "CALLBACK", callback_at=asked_for),)


@pytest.mark.parametrize(
    ("dpd", "asked_for", "at", "rules", "next_at"),
    [
        (0, ist(2, "20:30"), ist(2, "20:30"), [], "at"),
        (0, ist(2, "20:30"), ist(2, "20:45"), [], "at"),  # 15 minutes after: still the callback
        (0, ist(2, "20:30"), ist(2, "20:15"), [], "at"),  # 15 minutes before
        (
            0,
            ist(2, "20:30"),
            ist(2, "20:45:01"),
            ["window", "daily_conversations"],
            ist(3, "07:00"),
        ),
        (0, ist(2, "21:00"), ist(2, "21:00"), ["window"], ist(3, "07:00")),  # never after 21:00
        (12, ist(2, "20:00"), ist(2, "20:00"), ["window"], ist(3, "08:00")),  # overdue: 08–19
        (12, ist(2, "10:30"), ist(2, "10:30"), [], "at"),  # exempt from the 60-minute gap
        (12, ist(2, "10:30"), ist(2, "10:50"), ["daily_conversations", "min_gap"], ist(3, "08:00")),
        (12, ist(2, "15:00"), ist(2, "15:00"), [], "at"),  # exempt from daily_conversations
        (12, ist(2, "15:00"), ist(2, "13:00"), ["daily_conversations"], ist(2, "14:45")),
    ],
)
def test_rbi_requested_callbacks(
    dpd: int, asked_for: datetime, at: datetime, rules: list[str], next_at: Any
) -> None:
    assert_decision(check(at, dpd=dpd, history=callback_request(asked_for)), rules, next_at)


def test_decision_says_when_it_is_the_requested_callback() -> None:
    assert check(ist(2, "15:10"), history=callback_request(ist(2, "15:00"))).callback is True
    assert check(ist(2, "15:16"), history=callback_request(ist(2, "15:00"))).callback is False


def test_callback_is_not_exempt_from_the_daily_attempt_cap() -> None:
    history = (
        attempt(ist(2, "08:00")),
        attempt(ist(2, "09:30")),
        attempt(ist(2, "11:00"), "CALLBACK", callback_at=ist(2, "16:00")),
    )
    assert_decision(check(ist(2, "16:00"), history=history), ["daily_attempts"], ist(3, "08:00"))


def test_only_the_latest_attempt_carries_the_callback() -> None:
    history = (
        attempt(ist(2, "09:00"), "CALLBACK", callback_at=ist(2, "18:00")),
        attempt(ist(2, "12:00"), "RNR"),
    )
    decision = check(ist(2, "18:00"), history=history)
    assert_decision(decision, ["daily_conversations"], ist(3, "08:00"))
    assert decision.callback is False


# --- RBI: frequency --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "at", "rules", "next_at"),
    [
        ((attempt(ist(2, "09:00")),), ist(2, "09:59"), ["min_gap"], ist(2, "10:00")),
        ((attempt(ist(2, "09:00")),), ist(2, "10:00"), [], "at"),
        ((attempt(ist(2, "08:00")), attempt(ist(2, "09:30"))), ist(2, "11:00"), [], "at"),
        (
            (attempt(ist(2, "08:00")), attempt(ist(2, "09:30")), attempt(ist(2, "11:00"))),
            ist(2, "13:00"),
            ["daily_attempts"],
            ist(3, "08:00"),
        ),
        (
            (attempt(ist(1, "08:00")), attempt(ist(1, "12:00")), attempt(ist(1, "18:00"))),
            ist(2, "08:00"),
            [],
            "at",
        ),
        (
            (attempt(ist(2, "09:00"), "REFUSED"),),
            ist(2, "11:00"),
            ["daily_conversations"],
            ist(3, "08:00"),
        ),
        ((attempt(ist(2, "09:00"), "WRONG_NUMBER", phone=IN2),), ist(2, "11:00"), [], "at"),
    ],
)
def test_rbi_daily_caps_and_gap(
    history: tuple[Attempt, ...], at: datetime, rules: list[str], next_at: Any
) -> None:
    assert_decision(check(at, history=history), rules, next_at)


def spread(count: int, first: datetime) -> tuple[Attempt, ...]:
    """`count` attempts, two a day from `first`, 4 hours apart."""
    return tuple(attempt(first + timedelta(days=n // 2, hours=4 * (n % 2))) for n in range(count))


def test_tenth_attempt_in_seven_days_is_allowed_and_eleventh_is_not() -> None:
    first = ist(24, "10:00", month=2)
    assert_decision(check(ist(2, "13:00"), history=spread(9, first)), [], "at")
    decision = check(ist(2, "13:00"), history=spread(10, first))
    # The oldest attempt leaves the 7 × 24 hours at 10:00 on 3 March.
    assert_decision(decision, ["weekly_attempts"], ist(3, "10:00"))
    assert decision.reasons[0].detail == "10 attempts in the last 168 hours (at most 10)"


# --- RBI: promises, holds, flags, wrong numbers ------------------------------------------


@pytest.mark.parametrize(
    ("history", "rules", "next_at"),
    [
        (
            (attempt(ist(1, "10:00"), "PTP", ptp_date=date(2026, 3, 4)),),
            ["promise_pending"],
            ist(4, "08:00"),
        ),
        (
            (attempt(ist(1, "10:00"), "PTP", ptp_date=date(2026, 3, 3)),),
            ["promise_pending"],
            ist(3, "08:00"),
        ),
        ((attempt(ist(1, "10:00"), "PTP", ptp_date=date(2026, 3, 2)),), [], "at"),  # on the date
        (
            (
                attempt(ist(20, "10:00", month=2), "PTP", ptp_date=date(2026, 3, 10)),
                attempt(ist(25, "10:00", month=2), "PTP", ptp_date=date(2026, 2, 28)),
            ),
            [],
            "at",
        ),  # the latest promise counts, and its date has passed
        (
            (
                attempt(ist(1, "10:00"), "PTP", ptp_date=date(2026, 3, 5)),
                attempt(ist(1, "16:00"), "RNR"),
            ),
            ["promise_pending"],
            ist(5, "08:00"),
        ),
    ],
)
def test_pending_promises(history: tuple[Attempt, ...], rules: list[str], next_at: Any) -> None:
    assert_decision(check(ist(2, "10:00"), history=history), rules, next_at)


@pytest.mark.parametrize(
    ("holds", "rules", "next_at"),
    [
        ((Hold("bereavement", date(2026, 3, 2)),), ["hold"], ist(3, "08:00")),  # until inclusive
        ((Hold("bereavement", date(2026, 3, 1)),), [], "at"),
        ((Hold("dispute", None),), ["hold"], None),
        (
            (Hold("dispute", date(2026, 3, 9)), Hold("bereavement", date(2026, 3, 20))),
            ["hold"],
            ist(21, "08:00"),
        ),
    ],
)
def test_holds(holds: tuple[Hold, ...], rules: list[str], next_at: Any) -> None:
    assert_decision(check(ist(2, "10:00"), holds=holds), rules, next_at)


@pytest.mark.parametrize("flag", sorted(RBI.blocking_flags))
def test_every_blocking_flag_blocks_for_good(flag: str) -> None:
    decision = check(ist(2, "10:00"), flags=frozenset({flag}))
    assert_decision(decision, ["flag"], None)
    assert decision.reasons[0].detail == f"the account is flagged {flag}"


def test_flags_a_policy_does_not_block_are_ignored() -> None:
    text = (POLICY_DIR / "rbi.toml").read_text().replace('"non_workable"', "")
    text = text.replace('"legal_hold", ]', '"legal_hold"]')
    relaxed = parse_policy(text, "relaxed.toml")
    assert "non_workable" not in relaxed.blocking_flags
    assert check(ist(2, "10:00"), policy=relaxed, flags=frozenset({"non_workable"})).allowed


def test_wrong_numbers() -> None:
    reported = (attempt(ist(1, "10:00"), "WRONG_NUMBER"),)
    assert_decision(check(ist(2, "10:00"), history=reported), ["wrong_number"], None)
    assert check(ist(2, "10:00"), phone=IN2, history=reported).allowed
    marked = check(ist(2, "10:00"), wrong_numbers=frozenset({IN}))
    assert_decision(marked, ["wrong_number"], None)
    assert marked.reasons[0].detail == "+91******5678 was reported as not the borrower's number"


# --- preferences ------------------------------------------------------------------------------


MON, SAT, SUN = 0, 5, 6


@pytest.mark.parametrize(
    ("preference", "at", "dpd", "rules", "next_at"),
    [
        (
            Preference(phone=IN, days=frozenset({MON}), start=time(9), end=time(18)),
            ist(2, "10:00"),
            12,
            ["preference"],
            ist(2, "18:00"),
        ),
        (
            Preference(phone=IN2, days=frozenset({MON}), start=time(9), end=time(18)),
            ist(2, "10:00"),
            12,
            [],
            "at",
        ),
        (
            Preference(days=frozenset({SAT}), start=time(9), end=time(18)),
            ist(2, "10:00"),
            12,
            [],
            "at",
        ),
        (
            Preference(days=frozenset({MON}), start=time(9), end=time(18)),
            ist(2, "18:00"),
            12,
            [],
            "at",
        ),
        (
            Preference(days=frozenset({MON}), start=time(9), end=time(18)),
            ist(2, "08:59"),
            12,
            [],
            "at",
        ),
        (
            Preference(days=frozenset({SUN}), start=time(18), end=time(9)),
            ist(2, "07:30"),
            0,
            ["preference"],
            ist(2, "09:00"),
        ),
        (Preference(days=frozenset({MON})), ist(2, "10:00"), 12, ["preference"], ist(3, "08:00")),
        (
            Preference(start=time(12), end=time(14)),
            ist(2, "12:30"),
            12,
            ["preference"],
            ist(2, "14:00"),
        ),
    ],
)
def test_avoid_preferences(
    preference: Preference, at: datetime, dpd: int, rules: list[str], next_at: Any
) -> None:
    assert_decision(check(at, dpd=dpd, preferences=(preference,)), rules, next_at)


def test_every_blocking_rule_is_listed_in_spec_order() -> None:
    decision = check(
        ist(2, "20:00"),
        history=(attempt(ist(2, "19:30"), "REFUSED"),),
        holds=(Hold("bereavement", date(2026, 3, 5)),),
        flags=frozenset({"dispute"}),
        preferences=(Preference(days=frozenset({MON})),),
    )
    assert [r.rule for r in decision.reasons] == [
        "window", "daily_conversations", "min_gap", "hold", "flag", "preference",
    ]  # fmt: skip
    assert decision.next_allowed_at is None


def test_next_allowed_at_takes_every_rule_into_account() -> None:
    decision = check(
        ist(2, "20:00"),
        holds=(Hold("bereavement", date(2026, 3, 5)),),
        preferences=(Preference(days=frozenset({4}), start=time(8), end=time(12)),),  # Friday
    )
    # The hold ends after Thursday 5 March; Friday 6 March is avoided until 12:00.
    assert decision.next_allowed_at == ist(6, "12:00")


# --- US Regulation F -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "dpd", "rules", "next_at"),
    [
        (et("2026-03-02T07:59:00-05:00"), 12, ["window"], et("2026-03-02T08:00:00-05:00")),
        (et("2026-03-02T08:00:00-05:00"), 12, [], "at"),
        (et("2026-03-02T07:59:00-05:00"), 0, ["window"], et("2026-03-02T08:00:00-05:00")),
        (et("2026-03-02T20:59:59-05:00"), 12, [], "at"),
        (et("2026-03-02T21:00:00-05:00"), 12, ["window"], et("2026-03-03T08:00:00-05:00")),
        # The night before the clocks go forward, and the night before they go back.
        (et("2026-03-07T21:30:00-05:00"), 12, ["window"], et("2026-03-08T08:00:00-04:00")),
        (et("2026-10-31T21:30:00-04:00"), 12, ["window"], et("2026-11-01T08:00:00-05:00")),
    ],
)
def test_regf_window(at: datetime, dpd: int, rules: list[str], next_at: Any) -> None:
    assert_decision(check(at, policy=REGF, phone=NEW_YORK, dpd=dpd), rules, next_at)


def test_regf_multi_zone_number_needs_every_zone_in_its_window() -> None:
    # 08:30 in Central time is 07:30 in Mountain time.
    early = check(et("2026-03-02T08:30:00-06:00"), policy=REGF, phone=SOUTH_DAKOTA)
    assert early.zones == ("America/Denver", "America/North_Dakota/Center")
    assert_decision(early, ["window"], et("2026-03-02T08:00:00-07:00"))
    assert "07:30 in America/Denver is outside 08:00–21:00" in early.reasons[0].detail
    late = check(et("2026-03-02T20:30:00-07:00"), policy=REGF, phone=SOUTH_DAKOTA)
    assert_decision(late, ["window"], et("2026-03-03T08:00:00-07:00"))


def ny(day: int, clock: str = "10:00", month: int = 3) -> datetime:
    """An instant in New York in early 2026 (standard time until 8 March)."""
    return datetime.fromisoformat(f"2026-{month:02d}-{day:02d}T{clock}-05:00")


def us_attempt(at: datetime, disposition: str = "RNR") -> Attempt:
    return Attempt(at=at, phone=NEW_YORK, disposition=disposition)


def test_regf_seven_in_seven_days() -> None:
    six = (*(us_attempt(ny(d, month=2)) for d in (24, 25, 26, 27, 28)), us_attempt(ny(1)))
    assert_decision(check(ny(2), policy=REGF, phone=NEW_YORK, history=six), [], "at")
    seven = (us_attempt(ny(23, month=2)), *six)  # 23 Feb is outside 24 Feb – 2 Mar
    assert check(ny(2), policy=REGF, phone=NEW_YORK, history=seven).allowed
    seven = (*six, us_attempt(ny(2, "08:30")))
    decision = check(ny(2), policy=REGF, phone=NEW_YORK, history=seven)
    # Days 24 Feb – 2 Mar hold seven attempts; 24 Feb's leaves on 3 March.
    assert_decision(decision, ["weekly_attempts"], ny(3, "08:00"))


def test_regf_no_daily_cap_and_no_gap() -> None:
    today = tuple(us_attempt(ny(2, f"{h:02d}:00")) for h in (8, 9, 10, 11))
    assert check(ny(2, "11:01"), policy=REGF, phone=NEW_YORK, history=today).allowed


def test_regf_seven_days_after_a_conversation_the_day_itself_counting() -> None:
    talked = (us_attempt(ny(2), "REFUSED"),)
    decision = check(et("2026-03-08T12:00:00-04:00"), policy=REGF, phone=NEW_YORK, history=talked)
    assert_decision(decision, ["post_conversation"], et("2026-03-09T08:00:00-04:00"))
    assert check(
        et("2026-03-09T08:00:00-04:00"), policy=REGF, phone=NEW_YORK, history=talked
    ).allowed


def test_holidays_close_the_whole_day() -> None:
    text = (
        (POLICY_DIR / "rbi.toml").read_text().replace("holidays = []", 'holidays = ["2026-03-03"]')
    )
    holiday = parse_policy(text, "holiday.toml")
    decision = check(ist(2, "19:30"), policy=holiday)
    assert_decision(decision, ["window"], ist(4, "08:00"))
    [reason] = check(ist(3, "11:00"), policy=holiday).reasons
    assert reason.detail.startswith("2026-03-03 is a holiday under the rbi policy")


# --- DST gaps and overlaps in a policy's own hours -----------------------------------------


def test_window_starting_inside_a_dst_gap_opens_when_the_gap_ends() -> None:
    text = (POLICY_DIR / "us-regf.toml").read_text()
    night = parse_policy(
        text.replace('current = ["08:00", "21:00"]\noverdue = ["08:00", "21:00"]\nholidays',
                     'current = ["02:30", "21:00"]\noverdue = ["02:30", "21:00"]\nholidays'),
        "night.toml",
    )  # fmt: skip
    decision = check(et("2026-03-08T01:00:00-05:00"), policy=night, phone=NEW_YORK)
    # 02:30 does not exist on 8 March 2026 in New York: clocks jump from 02:00 to 03:00.
    assert decision.next_allowed_at == et("2026-03-08T03:00:00-04:00")
    overlap = check(et("2026-11-01T01:00:00-04:00"), policy=night, phone=NEW_YORK)
    assert overlap.next_allowed_at == et("2026-11-01T02:30:00-05:00")


def test_attempts_are_ordered_by_instant_across_a_dst_overlap() -> None:
    """Aware datetimes of one zone compare by wall clock; the gap is measured between instants."""
    text = (POLICY_DIR / "rbi.toml").read_text()
    all_day = parse_policy(text.replace('overdue = ["08:00", "19:00"]', 'overdue = ["00:00", "23:59"]'), "all_day.toml")  # fmt: skip
    new_york = ZoneInfo("America/New_York")
    # 1 November 2026: 01:00–02:00 happens twice in New York, first in EDT, then in EST.
    later = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=new_york)  # 06:30 UTC
    earlier = datetime(2026, 11, 1, 1, 45, tzinfo=new_york)  # 05:45 UTC
    at = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)  # 30 minutes after the later attempt
    for history in ((later, earlier), (earlier, later)):
        decision = check(
            at,
            policy=all_day,
            phone=NEW_YORK,
            timezone="America/New_York",
            history=tuple(us_attempt(a) for a in history),
        )
        assert_decision(decision, ["min_gap"], datetime(2026, 11, 1, 7, 30, tzinfo=UTC))


# --- History out of order, and searches through several rules --------------------------------


@pytest.mark.parametrize("policy", [RBI, REGF], ids=["rbi", "us-regf"])
def test_history_in_any_order_decides_as_in_order(policy: Policy) -> None:
    history = (
        attempt(ist(24, "10:00", month=2), "PTP", ptp_date=date(2026, 3, 1)),
        attempt(ist(26, "11:00", month=2), "REFUSED"),
        attempt(ist(27, "12:00", month=2), "RNR"),
        attempt(ist(1, "09:00"), "PTP", ptp_date=date(2026, 3, 4)),
        attempt(ist(2, "09:00"), "BUSY"),
        attempt(ist(2, "10:00"), "CALLBACK", callback_at=ist(2, "18:00")),
    )
    shuffled = tuple(history[i] for i in (3, 5, 0, 4, 2, 1))
    for at in (ist(2, "10:30"), ist(2, "18:00"), ist(4, "09:00"), ist(9, "12:00")):
        in_order, out_of_order = (
            check(at, policy=policy, history=history),
            check(at, policy=policy, history=shuffled),
        )
        assert in_order == out_of_order
    # The latest attempt by instant carries the callback, and the latest promise counts.
    decision = check(ist(2, "18:00"), policy=RBI, history=shuffled)
    assert decision.callback is True
    assert_decision(decision, ["promise_pending"], ist(4, "08:00"))


def test_search_passes_a_closed_window_and_a_rule_ending_later_that_day() -> None:
    # The promise lifts at midnight on Wednesday 4 March, when the window is closed (until
    # 08:00) and the borrower's avoided morning runs until 12:00.
    decision = check(
        ist(2, "20:00"),
        history=(attempt(ist(1, "10:00"), "PTP", ptp_date=date(2026, 3, 4)),),
        preferences=(Preference(days=frozenset({2}), start=time(0), end=time(12)),),
    )
    assert_decision(decision, ["window", "promise_pending"], ist(4, "12:00"))


def test_a_rule_lifted_at_midnight_lets_a_requested_callback_before_the_usual_hours() -> None:
    text = (POLICY_DIR / "rbi.toml").read_text()
    early = parse_policy(
        text.replace('current = ["07:00", "21:00"]', 'current = ["06:00", "21:00"]'), "early.toml"
    )
    assert early.callback_current.start < early.window_current.start
    history = (
        attempt(ist(1, "10:00"), "PTP", ptp_date=date(2026, 3, 4), callback_at=ist(4, "06:30")),
    )
    decision = check(ist(2, "10:00"), policy=early, dpd=0, history=history)
    # The promise lifts on 4 March; the callback's 15 minutes' tolerance opens at 06:15, in
    # callback hours though before the usual 07:00.
    assert_decision(decision, ["promise_pending"], ist(4, "06:15"))
    assert check(ist(4, "06:15"), policy=early, dpd=0, history=history).callback is True


def test_next_allowed_at_counts_attempts_recorded_after_at_as_any_later_decision_does() -> None:
    # At 13:35 a promise to pay by 4 January; at 19:00 a promise for the 6th, replaced at
    # 00:01 on the 4th by one for the 4th (a conversation, so no other call on the 4th).
    at = et("2026-01-01T13:35:00-05:00")
    history = tuple(
        replace(us_attempt(when, "PTP"), ptp_date=date(2026, 1, day))
        for when, day in (
            (at, 4),
            (et("2026-01-01T19:00:00-05:00"), 6),
            (et("2026-01-04T00:01:00-05:00"), 4),
        )
    )
    decision = check(at, phone=NEW_YORK, dpd=0, history=history)
    assert decision.next_allowed_at == et("2026-01-05T07:00:00-05:00")
    assert check(decision.next_allowed_at, phone=NEW_YORK, dpd=0, history=history).allowed
