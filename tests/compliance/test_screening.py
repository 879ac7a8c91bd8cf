"""The batched form decides exactly as the single decision on the account's whole history."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from compliance.engine import Decision, decide
from compliance.facts import AccountFacts, Attempt, Case, Hold, Preference
from compliance.policy import Policy, load_policy
from compliance.screening import (
    Batch,
    Screening,
    _Bounds,
    _shard_spans,
    iter_screen,
    lookback,
    screen,
)
from compliance.zones import zone
from crm.models import (
    Account,
    AccountFlag,
    AccountFlagCode,
    ContactPreference,
    Phone,
    PhoneStatus,
    Promise,
)
from crm.models import Hold as HoldRow
from tests.conftest import NOW, Database
from tests.factories import add_account, add_call

AT = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 11:30 in Mumbai
CODES = ["RNR", "RNR", "BUSY", "PTP", "CALLBACK", "REFUSED", "WRONG_NUMBER", "DROPPED"]


@dataclass
class Expected:
    """What the generator put in the store for one account, in the engine's terms."""

    account: AccountFacts
    phones: list[tuple[str, PhoneStatus]]
    history: list[Attempt] = field(default_factory=list)


def populate(db: Database, count: int, seed: int) -> dict[str, Expected]:
    rng = random.Random(seed)
    expected: dict[str, Expected] = {}
    with db.session() as session, session.begin():
        for n in range(count):
            account_id = f"A{n:04d}"
            numbers = [f"+9198{n:04d}{k:04d}" for k in range(rng.choice([1, 1, 2]))]
            dpd = rng.choice([0, 5, 40, 100])
            zone = rng.choice([None, None, "Asia/Kolkata"])
            add_account(session, account_id, dpd=dpd, phones=(), timezone=zone)
            phones = []
            for k, number in enumerate(numbers):
                status = PhoneStatus.OK if k == 0 else rng.choice(list(PhoneStatus))
                session.add(
                    Phone(
                        account_id=account_id,
                        number=number,
                        source="primary" if k == 0 else "alt",
                        status=status,
                    )
                )
                phones.append((number, status))
            flags = {"dnc"} if rng.random() < 0.05 else set()
            for flag in flags:
                session.add(AccountFlag(account_id=account_id, flag=AccountFlagCode(flag)))
            holds = []
            if rng.random() < 0.15:
                until = rng.choice([None, date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 9)])
                released = NOW if rng.random() < 0.3 else None
                session.add(
                    HoldRow(
                        account_id=account_id,
                        kind="dispute",
                        until=until,
                        created_at=NOW,
                        released_at=released,
                    )
                )
                if released is None:
                    holds.append(Hold("dispute", until))
            preferences = []
            if rng.random() < 0.15:
                preference = Preference(
                    days=frozenset({0}), start=time(rng.choice([9, 11, 14])), end=time(16)
                )
                session.add(
                    ContactPreference(
                        account_id=account_id,
                        days=["mon"],
                        start=preference.start,
                        end=preference.end,
                        created_at=NOW,
                    )
                )
                preferences.append(preference)
            history = []
            for _ in range(rng.choice([0, 0, 1, 3, 8, 14])):
                started = AT - timedelta(minutes=rng.randint(5, 60 * 24 * 20))
                code = rng.choice(CODES)
                ptp_date = (
                    (started + timedelta(days=rng.randint(0, 25))).date() if code == "PTP" else None
                )
                callback_at = (
                    AT + timedelta(minutes=rng.randint(-600, 900)) if code == "CALLBACK" else None
                )
                phone = rng.choice(numbers)
                call = add_call(
                    session,
                    account_id,
                    started_at=started,
                    disposition=code,
                    phone=phone,
                    callback_at=callback_at,
                )
                if ptp_date is not None:
                    session.add(Promise(account_id=account_id, call_id=call.call_id, amount=Decimal("500"),
                                        promised_on=started.date(), promised_date=ptp_date, created_at=NOW))  # fmt: skip
                history.append(Attempt(started, phone, code, ptp_date, callback_at))
            expected[account_id] = Expected(
                AccountFacts(
                    account_id=account_id, dpd=dpd, timezone=zone, phones=tuple(numbers),
                    flags=frozenset(flags), holds=tuple(holds), preferences=tuple(preferences),
                    wrong_numbers=frozenset(n for n, s in phones if s is PhoneStatus.WRONG_NUMBER),
                ),
                phones,
                history,
            )  # fmt: skip
    return expected


def single(
    expected: Expected, policy_name: str, at: datetime = AT
) -> tuple[str | None, Decision | None]:
    """The phone and decision the dialer should get, from single decisions on everything."""
    policy = load_policy(policy_name)
    best: tuple[str | None, Decision | None] = (None, None)
    for number, status in expected.phones:
        if status is not PhoneStatus.OK:
            continue
        decision = decide(Case(at, number, expected.account, tuple(expected.history)), policy)
        if decision.allowed:
            return number, decision
        current = best[1]
        if current is None or (
            decision.next_allowed_at is not None
            and (
                current.next_allowed_at is None
                or decision.next_allowed_at < current.next_allowed_at
            )
        ):
            best = (number, decision)
    return best


def check_equal(
    expected: dict[str, Expected],
    screened: dict[str, Screening],
    policy_name: str,
    at: datetime = AT,
) -> dict[str, int]:
    assert set(screened) == set(expected)
    outcomes = {"allowed": 0, "blocked": 0}
    for account_id, facts in expected.items():
        phone, decision = single(facts, policy_name, at)
        got = screened[account_id]
        if decision is None:  # no phone that may be dialled
            assert (got.phone, got.decision.allowed, [r.rule for r in got.decision.reasons]) == (
                None,
                False,
                ["wrong_number"],
            )
            continue
        assert got.phone == phone, account_id
        assert got.decision == decision, account_id  # every field, the receipt's too
        outcomes["allowed" if decision.allowed else "blocked"] += 1
    return outcomes


@pytest.mark.parametrize("policy_name", ["rbi", "us-regf"])
def test_screening_equals_single_decisions(db: Database, policy_name: str) -> None:
    expected = populate(db, 250, seed=11)
    with db.engine.connect() as conn:
        screened = screen(conn, None, at=AT, policy=load_policy(policy_name))
    outcomes = check_equal(expected, screened, policy_name)
    assert min(outcomes.values()) >= 20, outcomes  # both outcomes well represented


@pytest.mark.parametrize("policy_name", ["rbi", "us-regf"])
def test_a_list_of_accounts_equals_single_decisions(db: Database, policy_name: str) -> None:
    """A list takes the dialer's path (one JSON/array parameter, the covering index)."""
    expected = populate(db, 250, seed=12)
    with db.engine.connect() as conn:
        screened = screen(conn, sorted(expected), at=AT, policy=load_policy(policy_name))
    outcomes = check_equal(expected, screened, policy_name)
    assert min(outcomes.values()) >= 20, outcomes


@pytest.mark.parametrize("policy_name", ["rbi", "us-regf"])
def test_a_batch_decides_at_any_instant_of_its_span(db: Database, policy_name: str) -> None:
    """Loaded once for a span, a batch decides at each instant as the single decision does.

    The span crosses the end of the overdue window (19:00 in Mumbai), callback times and the
    lookback's edge, so each instant needs its own answer.
    """
    expected = populate(db, 200, seed=13)
    policy = load_policy(policy_name)
    start = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 18:30 in Mumbai
    end = start + timedelta(hours=3)
    with db.engine.connect() as conn:
        batch = Batch.load(conn, sorted(expected), start=start, end=end, policy=policy)
    for at in (
        start,
        start + timedelta(minutes=29, seconds=59),
        start + timedelta(minutes=30),
        end,
    ):
        screened = {a: batch.decide(a, at) for a in expected}
        check_equal(expected, screened, policy_name, at)


@pytest.mark.parametrize(("policy_name", "workers"), [("rbi", 2), ("us-regf", 3)])
def test_a_portfolio_screened_in_shards_equals_single_decisions(
    db: Database, policy_name: str, workers: int
) -> None:
    """Each shard (an account_id range, in a process of its own) decides as a single decision."""
    expected = populate(db, 250, seed=14)
    with db.engine.connect() as conn:
        spans = _shard_spans(conn, workers)
        streamed = [
            s.account_id
            for s in iter_screen(
                conn, None, at=AT, policy=load_policy(policy_name), workers=workers
            )
        ]
        screened = screen(conn, None, at=AT, policy=load_policy(policy_name), workers=workers)
    assert len(spans) == workers
    assert streamed == sorted(expected)  # every account once, in account_id order
    outcomes = check_equal(expected, screened, policy_name)
    assert min(outcomes.values()) >= 20, outcomes


def test_shard_spans_cover_every_account_once(db: Database) -> None:
    populate(db, 10, seed=15)
    with db.engine.connect() as conn:
        assert _shard_spans(conn, 1) == [(None, None)]
        assert _shard_spans(conn, 3) == [(None, "A0003"), ("A0003", "A0006"), ("A0006", None)]
        assert _shard_spans(conn, 40) == [(None, "A0001"), *[(f"A{n:04d}", f"A{n + 1:04d}") for n in range(1, 9)], ("A0009", None)]  # fmt: skip
        with pytest.raises(ValueError, match="workers must be at least 1"):
            screen(conn, None, at=AT, policy=load_policy("rbi"), workers=0)


def test_screening_a_subset(db: Database) -> None:
    populate(db, 30, seed=3)
    with db.engine.connect() as conn:
        chosen = select(Account.account_id).where(Account.account_id.in_(["A0001", "A0007"]))
        screened = screen(conn, chosen, at=AT, policy=load_policy("rbi"))
    assert set(screened) == {"A0001", "A0007"}


def test_an_old_callback_still_ahead_and_an_old_promise_are_seen(db: Database) -> None:
    with db.session() as session, session.begin():
        add_account(session, "CB", dpd=0)
        add_call(session, "CB", started_at=AT - timedelta(days=30), disposition="CALLBACK",
                 callback_at=datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # fmt: skip  # 20:30 in Mumbai
        add_account(session, "PTP", dpd=40)
        call = add_call(session, "PTP", started_at=AT - timedelta(days=20), disposition="PTP")
        session.add(Promise(account_id="PTP", call_id=call.call_id, amount=Decimal(1), promised_on=date(2026, 2, 10),
                            promised_date=date(2026, 3, 6), created_at=NOW))  # fmt: skip
    evening = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    with db.engine.connect() as conn:
        screened = screen(conn, None, at=evening, policy=load_policy("rbi"))
        # An hour earlier (19:30 in Mumbai) the window is shut, but the callback asked for
        # opens it at 20:15, though nothing in the account's history blocks by itself.
        earlier = screen(conn, None, at=evening - timedelta(hours=1), policy=load_policy("rbi"))
    assert screened["CB"].decision.allowed and screened["CB"].decision.callback
    assert [r.rule for r in screened["PTP"].decision.reasons] == ["window", "promise_pending"]
    assert [r.rule for r in earlier["CB"].decision.reasons] == ["window"]
    assert earlier["CB"].decision.next_allowed_at == evening - timedelta(minutes=15)


@pytest.mark.parametrize("policy_name", ["rbi", "us-regf"])
def test_facts_within_the_bounds_leave_the_shared_decision(policy_name: str) -> None:
    """Where `_Bounds.clear` passes an account's facts other than flags, and the decision on
    its zones, dpd class and flags alone needs no search, the engine decides the same on every
    fact.

    Random cases crowd the rules' edges: the minimum gap, the local day's start in each zone,
    the rolling window, the callback tolerance, promise dates and hold ends around today.
    """
    policy = load_policy(policy_name)
    rng = random.Random(policy_name)
    other = "+919800000001"
    cleared = flagged = differing = 0
    for _ in range(5000):
        at = rng.choice(EDGE_INSTANTS) + timedelta(minutes=rng.randint(-300, 300))
        phone = rng.choice(["+919812345678", "+12125551234", "+16059108789"])
        tz = rng.choice([None, None, "Asia/Calcutta", "America/New_York"])
        flags = rng.choice([frozenset(), frozenset(), frozenset(), {"dnc"}, {"vip"}])
        plain = AccountFacts(
            dpd=rng.choice([0, 30]), timezone=tz, phones=(phone,), phones_known_valid=True
        )
        shared = decide(
            Case(at, phone, replace(plain, flags=policy.blocking_flags.intersection(flags))),
            policy,
        )
        if not shared.allowed and shared.next_allowed_at is not None:
            continue  # the engine searches on every fact
        edges = edge_offsets(at, shared.zones, policy)
        history = tuple(
            sorted(
                (random_attempt(rng, at, edges, phone, other, policy) for _ in range(rng.choice([1, 1, 2, 3, 5, 10, 12]))),
                key=lambda a: a.at,
            )
        )  # fmt: skip
        today = at.astimezone(zone(shared.zones[0])).date()
        holds = tuple(
            Hold("dispute", rng.choice([None, *(today + timedelta(days=d) for d in (-2, -1, 0, 1))]))
            for _ in range(rng.choice([0, 0, 0, 1]))
        )  # fmt: skip
        preferences = tuple(
            Preference(phone=rng.choice([None, phone, other]), start=time(rng.randint(0, 23)))
            for _ in range(rng.choice([0, 0, 0, 0, 1]))
        )
        account = replace(plain, flags=frozenset(flags), holds=holds, preferences=preferences)
        decision = decide(Case(at, phone, account, history), policy)
        if _Bounds.of(shared.zones, at, policy).clear(phone, history, holds, preferences):
            assert decision == shared, (at, phone, tz, history, flags, holds, preferences)
            cleared += 1
            flagged += not shared.allowed
        elif decision != shared:
            differing += 1
    # Each side well exercised.
    assert cleared >= 300 and flagged >= 50 and differing >= 300, (cleared, flagged, differing)


# Instants inside the windows somewhere: Mumbai's morning, and the US DST changes of 2026.
EDGE_INSTANTS = [
    datetime(2026, 3, 2, 6, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 16, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 17, 0, tzinfo=UTC),
]


def edge_offsets(at: datetime, zones: tuple[str, ...], policy: Policy) -> list[timedelta]:
    """How long before `at` each rule's edge lies: gap, local midnights, rolling and weekly."""
    midnights = [
        at - datetime.combine(at.astimezone(zone(z)).date(), time(0), zone(z)) for z in zones
    ]
    return [
        policy.min_gap,
        policy.rolling_window,
        lookback(policy),
        *midnights,
        *(m + timedelta(days=policy.weekly_days - 1) for m in midnights),
        *(m + timedelta(days=policy.post_conversation_days) for m in midnights),
    ]


def random_attempt(
    rng: random.Random,
    at: datetime,
    edges: list[timedelta],
    phone: str,
    other: str,
    policy: Policy,
) -> Attempt:
    if rng.random() < 0.6:
        nudge = rng.choice([0, 1, -1, 1_000_000, -1_000_000, 60_000_000, -60_000_000])
        ago = rng.choice(edges) + timedelta(microseconds=nudge)
    else:
        ago = timedelta(minutes=rng.randint(1, 60 * 24 * 10))
    started = at - max(ago, timedelta(0))
    code = rng.choice([*CODES, "PAID", "THIRD_PARTY", "VOICEMAIL"])
    tolerance = policy.callback_tolerance
    callback = rng.choice(
        [tolerance, -tolerance, tolerance + timedelta(seconds=1), -tolerance - timedelta(seconds=1),
         timedelta(0), timedelta(hours=rng.randint(-30, 30))]
    )  # fmt: skip
    return Attempt(
        started,
        rng.choice([phone, phone, other, None]),
        code,
        (at.date() + timedelta(days=rng.randint(-3, 3))) if code == "PTP" else None,
        at + callback if code == "CALLBACK" or rng.random() < 0.05 else None,
    )
