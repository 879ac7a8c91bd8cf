"""The batched form decides exactly as the single decision on the account's whole history."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from compliance.engine import Decision, decide
from compliance.facts import AccountFacts, Attempt, Case, Hold, Preference
from compliance.policy import load_policy
from compliance.screening import Batch, Screening, _shard_spans, iter_screen, screen
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
        assert (got.decision.allowed, got.decision.reasons, got.decision.next_allowed_at) == (
            decision.allowed, decision.reasons, decision.next_allowed_at,
        ), account_id  # fmt: skip
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
    assert screened["CB"].decision.allowed and screened["CB"].decision.callback
    assert [r.rule for r in screened["PTP"].decision.reasons] == ["window", "promise_pending"]
