"""Properties over random cases: never outside the window; next_allowed_at is exact."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.engine import decide
from compliance.facts import AccountFacts, Attempt, Case, Hold, Preference
from compliance.policy import load_policy
from compliance.zones import zone
from crm.dispositions import DISPOSITIONS

POLICIES = [load_policy("rbi"), load_policy("us-regf")]
PHONES = ["+919812345678", "+12125551234", "+16059108789", "+447911123456"]
ZONES = [None, None, "Asia/Calcutta", "America/New_York", "Australia/Lord_Howe", "America/St_Johns"]
CODES = [d.code for d in DISPOSITIONS]

instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Case, int]:
    at = draw(instants)
    phone = draw(st.sampled_from(PHONES))
    attempts = []
    for _ in range(draw(st.sampled_from([0, 0, 1, 2, 3, 5, 12]))):
        when = at - timedelta(minutes=draw(st.integers(0, 60 * 24 * 9)))
        code = draw(st.sampled_from(CODES))
        attempts.append(
            Attempt(
                at=when,
                phone=draw(st.sampled_from([phone, "+919812345679"])),
                disposition=code,
                ptp_date=(when.date() + timedelta(days=draw(st.integers(0, 6))))
                if code == "PTP"
                else None,
                callback_at=when + timedelta(minutes=draw(st.integers(30, 60 * 30)))
                if code == "CALLBACK"
                else None,
            )
        )
    holds = tuple(
        Hold("bereavement", draw(st.one_of(st.none(), st.just(at.date() + timedelta(days=d)))))
        for d in draw(st.sampled_from([[], [], [-3], [0], [5]]))
    )
    preferences = tuple(
        Preference(
            phone=draw(st.sampled_from([None, phone])),
            days=frozenset(draw(st.sets(st.integers(0, 6), max_size=3))),
            start=time(draw(st.integers(0, 23))),
            end=time(draw(st.integers(0, 23)), 30),
        )
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2])))
    )
    account = AccountFacts(
        account_id="A1",
        dpd=draw(st.sampled_from([0, 5, 120, None])),
        timezone=draw(st.sampled_from(ZONES)),
        phones=(phone,),
        holds=holds,
        preferences=preferences,
    )
    return Case(at=at, phone=phone, account=account, history=tuple(attempts)), draw(
        st.integers(0, 1)
    )


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_an_allowed_call_is_inside_the_window_in_every_candidate_zone(
    drawn: tuple[Case, int],
) -> None:
    case, which = drawn
    policy = POLICIES[which]
    decision = decide(case, policy)
    if not decision.allowed:
        return
    overdue = case.account.dpd is None or case.account.dpd >= 1
    window = policy.window(overdue=overdue, callback=decision.callback)
    for name in decision.zones:
        local = case.at.astimezone(zone(name))
        assert window.start <= local.time() < window.end, (name, local)
        assert local.date() not in policy.holidays


def _allowed(case: Case, at: datetime, policy_index: int) -> bool:
    return decide(replace(case, at=at), POLICIES[policy_index]).allowed


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=4, max_size=4))
def test_next_allowed_at_is_allowed_and_nothing_earlier_is(
    drawn: tuple[Case, int], fractions: list[float]
) -> None:
    case, which = drawn
    decision = decide(case, POLICIES[which])
    if decision.allowed:
        assert decision.next_allowed_at == case.at
        return
    found = decision.next_allowed_at
    if found is None:
        return
    assert found > case.at
    assert _allowed(case, found, which)
    assert not _allowed(case, found - timedelta(microseconds=1), which)
    for fraction in fractions:
        between = min(case.at + (found - case.at) * fraction, found - timedelta(microseconds=1))
        assert not _allowed(case, between, which), between


def test_the_strategy_reaches_both_outcomes() -> None:
    """Guards the properties above against a generator that only makes allowed (or blocked) cases."""
    at = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 10:30 in Mumbai
    base = Case(at=at, phone=PHONES[0], account=AccountFacts(dpd=5, phones=(PHONES[0],)))
    assert decide(base, POLICIES[0]).allowed
    closed = replace(base, account=replace(base.account, holds=(Hold("x", date(2026, 3, 3)),)))
    assert decide(closed, POLICIES[0]).next_allowed_at == datetime(2026, 3, 4, 2, 30, tzinfo=UTC)
