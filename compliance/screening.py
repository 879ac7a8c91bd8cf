"""The batched form: decide for many accounts at one instant, fed by a few SQL queries.

The dialer screens its candidates with this. Each query covers the whole batch (no query per
account); the decision for each account is the same pure `decide` as for a single case, on
facts assembled from the store:
- attempts within the policy's lookback (enough for every counting rule), and older
  wrong-number reports,
- the latest promise when it is older than that and still pending,
- the latest attempt when it is older than that and carries a callback time still to come,
- phones with their status (wrong numbers and invalid numbers are never dialled), flags, holds
  not released, and avoid-preferences.
Most accounts of a portfolio have none of these at a given instant; their decision depends only
on their phone's zones and dpd class, so it is made once per (zones, class) and shared. A
portfolio is read as the driver's own rows, one per account with its phones joined in SQL, and
can be split into account_id ranges screened at once by separate processes (`workers`).

A list of accounts (the dialer's candidates) is loaded once as a `Batch` that decides for any
of them at any instant of a span (each call at its own paced slot): its queries pass the ids as
one JSON or array parameter and read each account's attempts from a covering index.
"""

from __future__ import annotations

import copyreg
import json
import pickle
import subprocess
import sys
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise, starmap
from typing import IO, Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    and_,
    any_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY

from compliance.engine import Decision, Reason, decide
from compliance.facts import WEEKDAYS, AccountFacts, Attempt, Case, Hold, Preference
from compliance.policy import Policy
from compliance.zones import start_of_day, valid_phone_zones, zone
from crm.dispositions import RPC_CODES
from crm.models import Account, AccountFlag, Call, ContactPreference, Phone, Promise
from crm.models import Hold as HoldRow
from duecall.db import make_engine, table_of
from duecall.logs import mask_phone

# Which of an account's phones is tried first.
PHONE_ORDER = {"primary": 0, "alt": 1, "call": 2}
_ROWS_PER_FETCH = 20_000


@dataclass(frozen=True, slots=True)
class Screening:
    account_id: str
    phone: str | None  # the phone the decision is for: the first one allowed, if any
    decision: Decision


def lookback(policy: Policy) -> timedelta:
    """How far back attempts can matter to a decision under `policy` (only its enabled rules).

    One extra day covers local days that start before the instant in UTC.
    """
    days = max(
        policy.weekly_days if policy.weekly_attempts else 0, policy.post_conversation_days, 1
    )
    rolling = policy.rolling_window if policy.rolling_attempts else timedelta(0)
    return max(rolling, policy.min_gap, timedelta(days=days + 1))


def screen(
    conn: Connection,
    accounts: Accounts,
    *,
    at: datetime,
    policy: Policy,
    workers: int = 1,
) -> dict[str, Screening]:
    """Decisions at `at` for the given accounts (a query of account_ids or a list), or for all.

    `workers`: see `iter_screen`.
    """
    return {
        s.account_id: s for s in iter_screen(conn, accounts, at=at, policy=policy, workers=workers)
    }


def iter_screen(
    conn: Connection,
    accounts: Accounts,
    *,
    at: datetime,
    policy: Policy,
    workers: int = 1,
) -> Iterator[Screening]:
    """`screen` as a stream, account by account in account_id order.

    `workers` > 1 screens a whole portfolio (`accounts` None) in that many shards of account_id
    ranges at once, each in its own process with its own connection but the first, which uses
    `conn`: so each shard other than the first sees the store as committed when it starts, not
    what `conn`'s transaction has written and not yet committed. A list or a query of accounts
    is screened in this process whatever `workers` says.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if accounts is not None and not isinstance(accounts, Select):
        batch = Batch.load(conn, accounts, start=at, end=at, policy=policy)
        for account_id in sorted(batch.accounts):
            yield batch.decide(account_id, at)
        return
    if workers > 1 and accounts is None:
        yield from _sharded(conn, at, policy, workers)
        return
    yield from starmap(Screening, _screen_portfolio(conn, accounts, at, policy, _ALL))


Listed = list[tuple[str, str, str]]  # number, source, status; in the order they are tried


class Batch:
    """A list of accounts with their facts, loaded once, to decide on at any instant of a span.

    The attempts loaded are exactly enough for every instant from `start` to `end`: those within
    the lookback of `start`, every older wrong-number report and promise (the engine takes the
    latest that applies), and, where an older attempt asked for a callback that may still be
    ahead, the latest older attempt (the engine reads the callback time from the latest one).
    """

    def __init__(
        self,
        accounts: dict[str, tuple[int | None, str | None, Listed]],
        extras: _Extras,
        policy: Policy,
    ) -> None:
        self.accounts = accounts
        self.extras = extras
        self.policy = policy
        self.shared: dict[datetime, _Shared] = {}

    @classmethod
    def load(
        cls,
        conn: Connection,
        account_ids: Sequence[str],
        *,
        start: datetime,
        end: datetime,
        policy: Policy,
        excluding_call: str | None = None,
    ) -> Batch:
        rows = conn.execute(_account_phones().where(_of(conn, table_of(Account), account_ids)))
        found: dict[str, tuple[int | None, str | None, Listed]] = {}
        for account_id, dpd, tz, number, source, status in rows:
            entry = found.get(account_id)
            if entry is None:
                entry = found[account_id] = (dpd, tz, [])
            if number is not None:
                entry[2].append((number, source, status))
        for _, _, listed in found.values():
            listed.sort(key=lambda p: (PHONE_ORDER.get(p[1], 9), p[0]))
        extras = _Extras.load(
            conn, list(found), at=start, until=end, policy=policy, excluding_call=excluding_call
        )
        return cls(found, extras, policy)

    def decide(self, account_id: str, at: datetime) -> Screening:
        """The screening of one loaded account at `at` (within the span loaded)."""
        dpd, tz, listed = self.accounts[account_id]
        shared = self.shared.get(at)
        if shared is None:
            shared = self.shared[at] = _Shared(at, self.policy)
        return Screening(
            account_id, *_decide_account(account_id, dpd, tz, listed, self.extras, shared)
        )


def _decide_account(
    account_id: str,
    dpd: int | None,
    tz: str | None,
    listed: Listed,
    extras: _Extras,
    shared: _Shared,
) -> tuple[str | None, Decision]:
    """The first phone that may be called now, or the one that may be called soonest."""
    callable_phones = [number for number, _, status in listed if status == "ok"]
    if not callable_phones:
        return None, _no_phone(tz, listed, shared.at, shared.policy)
    decisions: Iterator[Decision]
    if not extras.has_any(account_id):
        # Nothing but the phones' zones and the dpd class matter: one decision for all alike.
        decisions = (shared.decision(number, dpd, tz) for number in callable_phones)
    else:
        decisions = _own_decisions(account_id, dpd, tz, listed, callable_phones, extras, shared)
    best: tuple[str, Decision] | None = None
    for number, decision in zip(callable_phones, decisions, strict=True):
        if decision.allowed:
            return number, decision
        if best is None or _sooner(decision, best[1]):
            best = number, decision
    assert best is not None
    return best


def _own_decisions(
    account_id: str,
    dpd: int | None,
    tz: str | None,
    listed: Listed,
    callable_phones: list[str],
    extras: _Extras,
    shared: _Shared,
) -> Iterator[Decision]:
    """The decisions for an account's callable phones, in order, on all of its facts.

    The shared decision for the phone's zones, dpd class and blocking flags stands where the
    account's other facts cannot block the call (`_Bounds.clear`) and that decision needs no
    search (it allows the call, or never will): the engine would decide the same on every
    fact. Otherwise the engine decides on every fact.
    """
    policy = shared.policy
    history = extras.history.get(account_id, ())
    flags = extras.flags.get(account_id, ())
    blocking = policy.blocking_flags.intersection(flags) if flags else _NO_FLAGS
    holds = extras.holds.get(account_id, ())
    preferences = extras.preferences.get(account_id, ())
    account: AccountFacts | None = None
    for number in callable_phones:
        decision = shared.decision(number, dpd, tz, blocking)
        if (decision.allowed or decision.next_allowed_at is None) and shared.bounds(
            decision.zones
        ).clear(number, history, holds, preferences):
            yield decision
            continue
        if account is None:
            account = AccountFacts(
                account_id=account_id,
                dpd=dpd,
                timezone=tz,
                phones=tuple(n for n, _, _ in listed),
                flags=frozenset(flags),
                holds=tuple(holds),
                preferences=tuple(preferences),
                wrong_numbers=frozenset(n for n, _, status in listed if status == "wrong_number"),
                phones_known_valid=True,
            )
        yield decide(Case(shared.at, number, account, tuple(history)), policy)


_NO_FLAGS: frozenset[str] = frozenset()


class _Shared:
    """What accounts alike share at one instant: the decision on nothing but a phone's zones,
    the account's dpd class and its blocking flags, and the `_Bounds` of each set of zones.
    """

    def __init__(self, at: datetime, policy: Policy) -> None:
        self.at = at
        self.policy = policy
        self._decisions: dict[tuple[tuple[str, ...], bool, frozenset[str]], Decision] = {}
        self._bounds: dict[tuple[str, ...], _Bounds] = {}

    def decision(
        self, number: str, dpd: int | None, tz: str | None, flags: frozenset[str] = _NO_FLAGS
    ) -> Decision:
        """The decision for `number` of an account with no facts but these (flags: blocking)."""
        zones = (tz,) if tz else (valid_phone_zones(number) or self.policy.fallback_zones)
        key = (zones, dpd is None or dpd >= 1, flags)
        decision = self._decisions.get(key)
        if decision is None:
            facts = AccountFacts(
                dpd=dpd, timezone=tz, phones=(number,), flags=flags, phones_known_valid=True
            )
            decision = self._decisions[key] = decide(Case(self.at, number, facts), self.policy)
        return decision

    def bounds(self, zones: tuple[str, ...]) -> _Bounds:
        found = self._bounds.get(zones)
        if found is None:
            found = self._bounds[zones] = _Bounds.of(zones, self.at, self.policy)
        return found


@dataclass(frozen=True, slots=True)
class _Bounds:
    """Beyond these, an account's facts other than flags cannot block a call at an instant, nor
    make it a callback.

    Each bound is at least as wide as the rule it stands for (SPEC's rules, as
    `compliance.engine` applies them): today starts at the earliest local midnight among the
    candidate zones, every attempt's callback time counts (the engine reads the latest only),
    a promise or a hold counts if it may reach today in any zone, and so does any preference
    for the phone and any wrong-number report on it. So facts that pass `clear` leave the
    engine nothing more to block with at that instant (tests/compliance/test_screening.py
    checks this against the engine at the rules' edges).
    """

    day_start: datetime  # the earliest start of `at`'s local day among the zones
    earliest_today: date  # the earliest of `at`'s local dates among the zones
    gap: datetime | None  # attempts after this are within the minimum gap
    recent: datetime  # attempts after this count towards the rolling and weekly caps
    cap: int | None  # the fewest attempts a rolling or weekly cap blocks at
    conversations: bool  # any earlier conversation may block (post-conversation rule)
    callback: tuple[datetime, datetime]  # a callback time in this range may make it a callback
    policy: Policy

    @classmethod
    def of(cls, zones: tuple[str, ...], at: datetime, policy: Policy) -> _Bounds:
        places = [zone(name) for name in zones]
        days = [at.astimezone(place).date() for place in places]
        return cls(
            day_start=min(start_of_day(d, p) for d, p in zip(days, places, strict=True)),
            earliest_today=min(days),
            gap=at - policy.min_gap if policy.min_gap else None,
            # The lookback covers the rolling window and the weekly cap's local days.
            recent=at - lookback(policy),
            cap=min(
                (c for c in (policy.rolling_attempts, policy.weekly_attempts) if c), default=None
            ),
            conversations=policy.post_conversation_days > 0,
            callback=(at - policy.callback_tolerance, at + policy.callback_tolerance),
            policy=policy,
        )

    def clear(
        self,
        phone: str,
        history: Sequence[Attempt],
        holds: Sequence[Hold],
        preferences: Sequence[Preference],
    ) -> bool:
        """Whether these facts of an account leave a call to `phone` at `at` unblocked."""
        if any(h.until is None or h.until >= self.earliest_today for h in holds):
            return False
        if any(p.phone is None or p.phone == phone for p in preferences):
            return False
        today = talks = recent = 0
        gap, (callback_from, callback_to) = self.gap, self.callback
        # (Attempts after `at`, which the engine ignores, are counted too: a batch's span.)
        for a in history:
            code = a.disposition
            if code == "WRONG_NUMBER" and (a.phone is None or a.phone == phone):
                return False
            if a.ptp_date is not None and a.ptp_date > self.earliest_today:
                return False
            if a.callback_at is not None and callback_from <= a.callback_at <= callback_to:
                return False
            if gap is not None and a.at > gap:
                return False
            if code in RPC_CODES:
                if self.conversations:
                    return False
                if a.at >= self.day_start:
                    talks += 1
            if a.at >= self.day_start:
                today += 1
            if a.at > self.recent:
                recent += 1
        policy = self.policy
        return (
            (not policy.daily_attempts or today < policy.daily_attempts)
            and (not policy.daily_conversations or talks < policy.daily_conversations)
            and (self.cap is None or recent < self.cap)
        )


Accounts = Select[Any] | Sequence[str] | None  # a query of account_ids, a list of them, or all
Span = tuple[str | None, str | None]  # account_ids from the first (inclusive) to the last (not)
_ALL: Span = (None, None)


Screened = tuple[str, str | None, Decision]  # a Screening's fields


def _screen_portfolio(
    conn: Connection, accounts: Accounts, at: datetime, policy: Policy, span: Span
) -> Iterator[Screened]:
    """The screenings of a query of accounts, or of all within `span`, in account_id order.

    Rows are read as the driver gives them (one per account, its phones joined into one
    string) rather than as SQLAlchemy rows: at a portfolio's size the per-row processing costs
    more than the decisions.
    """
    extras = _Extras.load(conn, accounts, at=at, policy=policy, span=span)
    acc, phone = table_of(Account), table_of(Phone)
    phones = func.aggregate_strings(
        phone.c.number + "," + phone.c.source + "," + cast(phone.c.status, String), ";"
    )
    query = (
        select(acc.c.account_id, acc.c.dpd, acc.c.timezone, phones)
        .select_from(acc.outerjoin(phone, phone.c.account_id == acc.c.account_id))
        .where(_of(conn, acc, accounts), *_in_span(acc, span))
        .group_by(acc.c.account_id)  # the key: dpd and zone follow from it
        .order_by(acc.c.account_id)
    )
    yield from _screen_rows(_raw_rows(conn, query), extras, at, policy)


def _screen_rows(
    rows: Iterable[tuple[str, int | None, str | None, str | None]],
    extras: _Extras,
    at: datetime,
    policy: Policy,
) -> Iterator[Screened]:
    """The screenings of rows of account_id, dpd, zone and joined phones (`_screen_portfolio`)."""
    shared = _Shared(at, policy)
    special = extras.account_ids()
    for account_id, dpd, tz, joined in rows:
        if joined is not None and ";" not in joined and account_id not in special:
            number, source, status = joined.split(",")
            if status == "ok":  # most of a portfolio: one phone, no other facts
                yield account_id, number, shared.decision(number, dpd, tz)
                continue
            listed: Listed = [(number, source, status)]
        elif joined is None:
            listed = []
        else:
            listed = sorted(map(_phone_entry, joined.split(";")), key=_phone_order)
        yield account_id, *_decide_account(account_id, dpd, tz, listed, extras, shared)


def _phone_entry(joined: str) -> tuple[str, str, str]:
    number, source, status = joined.split(",")
    return number, source, status


def _sharded(conn: Connection, at: datetime, policy: Policy, workers: int) -> Iterator[Screening]:
    """The whole portfolio in `workers` shards of account_id ranges screened at once."""
    url = conn.engine.url
    spans = _shard_spans(conn, workers)
    if len(spans) == 1 or (
        url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    ):
        # (An in-memory SQLite store is seen by this connection only.)
        yield from starmap(Screening, _screen_portfolio(conn, None, at, policy, _ALL))
        return
    address = url.render_as_string(hide_password=False)
    shards = [_Shard.start(address, at, policy, span) for span in spans[1:]]
    try:
        yield from starmap(Screening, _screen_portfolio(conn, None, at, policy, spans[0]))
        for shard in shards:
            yield from shard.result()
    finally:
        for shard in shards:
            shard.stop()


@dataclass
class _Shard:
    """A shard screened by a fresh Python process (not forked: SQLite's locks do not survive
    fork() in a process with the store open), which writes its screenings to a temporary file
    (`_pack`).

    The store's address (with its password) goes to the process through a pipe, not its
    arguments, which other users of the machine can see.
    """

    process: subprocess.Popen[bytes]
    out: IO[bytes]
    err: IO[bytes]

    @classmethod
    def start(cls, address: str, at: datetime, policy: Policy, span: Span) -> _Shard:
        # Closed by stop(), when the shard is done with.
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-c", "from compliance.screening import _shard_main; _shard_main()"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
        )
        assert process.stdin is not None
        with process.stdin:
            process.stdin.write(pickle.dumps((address, at, policy, span)))
        return cls(process, out, err)

    def result(self) -> Iterator[Screening]:
        if self.process.wait() != 0:
            self.err.seek(0)
            lines = self.err.read().decode(errors="replace").strip().splitlines()
            raise RuntimeError(
                f"a screening shard failed (exit {self.process.returncode}): "
                f"{lines[-1] if lines else 'no message'}"
            )
        self.out.seek(0)
        return _unpack(self.out)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.out.close()
        self.err.close()


def _shard_main() -> None:
    """The process of a `_Shard`: its order on stdin, its screenings packed to stdout."""
    address, at, policy, span = pickle.load(sys.stdin.buffer)
    engine = make_engine(address)
    try:
        with engine.connect() as conn:
            # A reader: SQLite's default BEGIN here takes the write lock (see duecall.db).
            conn.execution_options(sqlite_begin="DEFERRED")
            _pack(_screen_portfolio(conn, None, at, policy, span), sys.stdout.buffer)
    finally:
        engine.dispose()
    sys.stdout.buffer.flush()


def _pack(screened: Iterable[Screened], out: IO[bytes]) -> None:
    """Screenings as a few flat values, each distinct decision once (`_unpack` reads them back).

    Pickled one by one, a shard's half a million small frozen dataclasses cost about as much
    CPU to write and read back as screening them; as lists of ids and phones, an index per
    screening into a table of distinct decisions, and those decisions rebuilt from their fields,
    a few percent of that.
    """
    ids: list[str] = []
    phones: list[str | None] = []
    index = array("L")
    # Each decision object is looked up by identity first (most are shared), then by value.
    by_object: dict[int, int] = {}
    by_value: dict[Decision, int] = {}
    kept: list[Decision] = []  # alive while packing, so that their identities stay unique
    for account_id, phone, decision in screened:
        ids.append(account_id)
        phones.append(phone)
        position = by_object.get(id(decision))
        if position is None:
            kept.append(decision)
            position = by_object[id(decision)] = by_value.setdefault(decision, len(by_value))
        index.append(position)
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, Decision: _by_fields, Reason: _by_fields}
    pickler.dump((ids, phones, index, list(by_value)))


def _unpack(packed: IO[bytes]) -> Iterator[Screening]:
    ids, phones, index, decisions = pickle.load(packed)
    return map(Screening, ids, phones, map(decisions.__getitem__, index))


def _by_fields(value: Any) -> tuple[type, tuple[Any, ...]]:
    """Pickle a dataclass as a call of its class with its fields (its own way is slower)."""
    return type(value), tuple(getattr(value, f.name) for f in fields(value))


def _shard_spans(conn: Connection, workers: int) -> list[Span]:
    """`workers` ranges of account_ids with as many accounts each (fewer if there are few)."""
    acc = table_of(Account)
    count = conn.execute(select(func.count()).select_from(acc)).scalar_one()
    bounds: list[str] = []
    for k in range(1, workers):
        skipped = count * k // workers
        bound = conn.execute(
            select(acc.c.account_id).order_by(acc.c.account_id).offset(skipped).limit(1)
        ).scalar()
        if skipped and bound is not None and (not bounds or bound > bounds[-1]):
            bounds.append(bound)
    return list(pairwise([None, *bounds, None]))


def _phone_order(phone: tuple[str, str, str]) -> tuple[int, str]:
    return PHONE_ORDER.get(phone[1], 9), phone[0]


def _in_span(table: Any, span: Span) -> list[Any]:
    first, last = span
    return [
        *([table.c.account_id >= first] if first is not None else []),
        *([table.c.account_id < last] if last is not None else []),
    ]


def _raw_rows(conn: Connection, statement: Select[Any]) -> Iterator[tuple[Any, ...]]:
    """The rows of `statement` as the DBAPI driver gives them (no SQLAlchemy type processing).

    The caller converts what needs converting (see `_Readers`).
    """
    result = conn.execute(statement)
    try:
        cursor = result.cursor
        while rows := cursor.fetchmany(_ROWS_PER_FETCH):
            yield from rows
    finally:
        result.close()


@dataclass(frozen=True)
class _Readers:
    """Converters from a driver's raw values: instants (naive UTC) and dates."""

    instant: Callable[[Any], datetime]
    day: Callable[[Any], date]

    @classmethod
    def of(cls, conn: Connection) -> _Readers:
        if conn.dialect.name == "sqlite":  # SQLAlchemy's text forms, see duecall.db
            return cls(lambda v: datetime.fromisoformat(v + "+00:00"), date.fromisoformat)
        return cls(lambda v: v.replace(tzinfo=UTC), lambda v: v)


def decide_for_phone(
    conn: Connection,
    account_id: str,
    phone: str,
    *,
    at: datetime,
    policy: Policy,
    excluding_call: str | None = None,
) -> Decision | None:
    """The decision for calling one account on one phone, from the store (None: no account).

    `excluding_call` leaves a call out of the history: the call being answered re-checks
    whether it may still go ahead, and it must not count against itself.
    """
    acc, phones = table_of(Account), table_of(Phone)
    row = conn.execute(
        select(acc.c.dpd, acc.c.timezone).where(acc.c.account_id == account_id)
    ).first()
    if row is None:
        return None
    listed = conn.execute(
        select(phones.c.number, type_coerce(phones.c.status, String)).where(
            phones.c.account_id == account_id
        )
    ).all()
    extras = _Extras.load(conn, [account_id], at=at, policy=policy, excluding_call=excluding_call)
    account = AccountFacts(
        account_id=account_id,
        dpd=row.dpd,
        timezone=row.timezone,
        phones=tuple(number for number, _ in listed),
        flags=frozenset(extras.flags.get(account_id, ())),
        holds=tuple(extras.holds.get(account_id, ())),
        preferences=tuple(extras.preferences.get(account_id, ())),
        wrong_numbers=frozenset(n for n, status in listed if status == "wrong_number"),
        phones_known_valid=True,
    )
    history = tuple(extras.history.get(account_id, ()))
    return decide(Case(at, phone, account, history), policy)


def _account_phones() -> Select[Any]:
    """Each account's dpd and zone with its phones (one row per phone, or one without)."""
    acc, phone = table_of(Account), table_of(Phone)
    return select(
        acc.c.account_id,
        acc.c.dpd,
        acc.c.timezone,
        phone.c.number,
        phone.c.source,
        type_coerce(phone.c.status, String),
    ).select_from(acc.outerjoin(phone, phone.c.account_id == acc.c.account_id))


def _of(conn: Connection, table: Any, accounts: Accounts) -> Any:
    """A filter on table.account_id to the accounts being screened.

    A list goes to the database as one parameter (a JSON array on SQLite, an array on
    PostgreSQL), not one bound parameter per account.
    """
    if accounts is None:
        return true()
    if isinstance(accounts, Select):
        return table.c.account_id.in_(accounts.scalar_subquery())
    ids = list(accounts)
    if conn.dialect.name == "postgresql":
        return table.c.account_id == any_(literal(ids, ARRAY(String)))
    listed = func.json_each(literal(json.dumps(ids))).table_valued("value")
    return table.c.account_id.in_(select(listed.c.value))


@dataclass
class _Extras:
    """Facts only some accounts have, loaded for the whole batch: account_id → facts."""

    flags: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    holds: dict[str, list[Hold]] = field(default_factory=lambda: defaultdict(list))
    preferences: dict[str, list[Preference]] = field(default_factory=lambda: defaultdict(list))
    history: dict[str, list[Attempt]] = field(default_factory=lambda: defaultdict(list))

    def account_ids(self) -> set[str]:
        """The accounts with any of these facts."""
        return {*self.history, *self.flags, *self.holds, *self.preferences}

    def has_any(self, account_id: str) -> bool:
        return (
            account_id in self.history
            or account_id in self.flags
            or account_id in self.holds
            or account_id in self.preferences
        )

    @classmethod
    def load(
        cls,
        conn: Connection,
        accounts: Accounts,
        *,
        at: datetime,
        policy: Policy,
        until: datetime | None = None,
        excluding_call: str | None = None,
        span: Span = _ALL,
    ) -> _Extras:
        """The facts at `at`; for a list of accounts, at every instant from `at` to `until`.

        `span` narrows a query of accounts (or all) to a range of account_ids.
        """
        extras = cls()
        flag = table_of(AccountFlag)
        for account_id, code in conn.execute(
            select(flag.c.account_id, type_coerce(flag.c.flag, String)).where(
                _of(conn, flag, accounts), *_in_span(flag, span)
            )
        ):
            extras.flags[account_id].add(code)
        hold = table_of(HoldRow)
        for account_id, kind, last_day in conn.execute(
            select(hold.c.account_id, hold.c.kind, hold.c.until).where(
                _of(conn, hold, accounts), *_in_span(hold, span), hold.c.released_at.is_(None)
            )
        ):
            extras.holds[account_id].append(Hold(kind, last_day))
        pref = table_of(ContactPreference)
        for account_id, kind, number, days, start, end in conn.execute(
            select(
                pref.c.account_id, pref.c.kind, pref.c.phone, pref.c.days, pref.c.start, pref.c.end
            ).where(_of(conn, pref, accounts), *_in_span(pref, span), pref.c.kind == "avoid")
        ):
            weekdays = frozenset(WEEKDAYS.index(d) for d in days or ())
            extras.preferences[account_id].append(Preference(kind, number, weekdays, start, end))
        if accounts is None or isinstance(accounts, Select):
            assert until is None or until == at, "a span of instants is for a list of accounts"
            _load_history(
                conn,
                accounts,
                extras.history,
                at=at,
                policy=policy,
                excluding=excluding_call,
                span=span,
            )
        else:
            assert span == _ALL, "a list of accounts is not narrowed by a span"
            _load_history_of(
                conn,
                accounts,
                extras.history,
                start=at,
                end=until or at,
                policy=policy,
                excluding=excluding_call,
            )
        return extras


def _load_history(
    conn: Connection,
    accounts: Accounts,
    found: dict[str, list[Attempt]],
    *,
    at: datetime,
    policy: Policy,
    excluding: str | None = None,
    span: Span = _ALL,
) -> None:
    """The attempts that decide at `at` for a query of accounts or all (within `span`).

    Read as the driver gives them: a portfolio's recent attempts are hundreds of thousands.
    """
    call, promise = table_of(Call), table_of(Promise)
    since = at - lookback(policy)
    read = _Readers.of(conn)
    instant, day = read.instant, read.day
    older: set[tuple[str, datetime]] = set()

    def add(statement: Select[Any], *, recent: bool) -> None:
        for account_id, started, phone, disposition, callback_at, ptp_date in _raw_rows(
            conn, statement
        ):
            started = instant(started)
            if not recent:  # an old call can be both promise and callback: once only
                if (account_id, started) in older:
                    continue
                older.add((account_id, started))
            found[account_id].append(
                Attempt(
                    started,
                    phone,
                    disposition,
                    None if ptp_date is None else day(ptp_date),
                    None if callback_at is None else instant(callback_at),
                )
            )

    # A promise's date only for PTP calls (the engine reads it for those only): looked up for
    # each of those rather than joined to every call.
    promised = case(
        (
            call.c.disposition == "PTP",
            select(promise.c.promised_date)
            .where(promise.c.call_id == call.c.call_id)
            .scalar_subquery(),
        )
    )
    columns = (
        call.c.account_id,
        call.c.started_at,
        call.c.phone,
        call.c.disposition,
        call.c.callback_at,
        promised,
    )
    mine = and_(_of(conn, call, accounts), *_in_span(call, span))
    if excluding is not None:
        mine = and_(mine, call.c.call_id != excluding)
    add(
        select(*columns).where(mine, call.c.started_at > since, call.c.started_at <= at),
        recent=True,
    )
    # Older wrong-number reports: the phone's status says so too, but the call is the evidence.
    add(
        select(*columns).where(
            mine,
            call.c.started_at <= since,
            call.c.disposition == "WRONG_NUMBER",
            call.c.phone.is_not(None),
        ),
        recent=False,
    )
    # The latest promise, when older than the lookback and its date is still ahead: start from
    # promises dated ahead (few) and keep those no later promise supersedes. (The disposition
    # is compared through coalesce so that SQLite does not start from every PTP call instead.)
    later_ptp = call.alias("later_ptp")
    dated_ahead = select(promise.c.call_id).where(
        promise.c.promised_date >= (at - timedelta(days=1)).date()
    )
    add(
        select(*columns).where(
            mine,
            call.c.call_id.in_(dated_ahead),
            func.coalesce(call.c.disposition, "") == "PTP",
            call.c.started_at <= since,
            ~exists().where(
                and_(
                    later_ptp.c.disposition == "PTP",
                    later_ptp.c.account_id == call.c.account_id,
                    later_ptp.c.started_at > call.c.started_at,
                    later_ptp.c.started_at <= at,
                )
            ),
        ),
        recent=False,
    )
    # The latest attempt, when older than the lookback and it asked for a callback still ahead.
    later = call.alias("later")
    add(
        select(*columns).where(
            mine,
            call.c.started_at <= since,
            call.c.callback_at >= at - policy.callback_tolerance,
            ~exists().where(
                and_(
                    later.c.account_id == call.c.account_id,
                    later.c.started_at > call.c.started_at,
                    later.c.started_at <= at,
                )
            ),
        ),
        recent=False,
    )


def _load_history_of(
    conn: Connection,
    account_ids: Sequence[str],
    found: dict[str, list[Attempt]],
    *,
    start: datetime,
    end: datetime,
    policy: Policy,
    excluding: str | None = None,
) -> None:
    """The attempts of a list of accounts that decide for any instant from `start` to `end`.

    Read from the covering index ix_calls_account_history (promises only for PTP calls).
    """
    call, promise = table_of(Call), table_of(Promise)
    since = start - lookback(policy)
    callback_from = start - policy.callback_tolerance
    columns = (
        call.c.account_id,
        call.c.started_at,
        call.c.phone,
        call.c.disposition,
        call.c.callback_at,
        promise.c.promised_date,
        call.c.call_id,
    )
    with_promise = call.outerjoin(
        promise, and_(call.c.disposition == "PTP", promise.c.call_id == call.c.call_id)
    )
    mine = _of(conn, call, account_ids)
    if excluding is not None:
        mine = and_(mine, call.c.call_id != excluding)
    seen: set[str] = set()
    callback_ahead: set[str] = set()
    for account_id, started, phone, disposition, callback_at, ptp_date, call_id in conn.execute(
        select(*columns)
        .select_from(with_promise)
        .where(
            mine,
            call.c.started_at <= end,
            or_(
                call.c.started_at > since,
                call.c.disposition.in_(("WRONG_NUMBER", "PTP")),
                call.c.callback_at >= callback_from,
            ),
        )
    ):
        seen.add(call_id)
        found[account_id].append(Attempt(started, phone, disposition, ptp_date, callback_at))
        if started <= since and callback_at is not None and callback_at >= callback_from:
            callback_ahead.add(account_id)
    if not callback_ahead:
        return
    # The latest attempt before the lookback of each account with an older callback request
    # still ahead: the engine takes the callback time from the latest attempt only.
    earlier = call.alias("earlier")
    latest_older = (
        select(func.max(earlier.c.started_at))
        .where(earlier.c.account_id == call.c.account_id, earlier.c.started_at <= since)
        .scalar_subquery()
    )
    ids = sorted(callback_ahead)
    mine = _of(conn, call, ids)
    if excluding is not None:
        mine = and_(mine, call.c.call_id != excluding)
    for account_id, started, phone, disposition, callback_at, ptp_date, call_id in conn.execute(
        select(*columns).select_from(with_promise).where(mine, call.c.started_at == latest_older)
    ):
        if call_id not in seen:
            found[account_id].append(Attempt(started, phone, disposition, ptp_date, callback_at))


def _sooner(a: Decision, b: Decision) -> bool:
    if a.next_allowed_at is None:
        return False
    return b.next_allowed_at is None or a.next_allowed_at < b.next_allowed_at


def _no_phone(
    tz: str | None, phones: list[tuple[str, str, str]], at: datetime, policy: Policy
) -> Decision:
    listed = ", ".join(f"{mask_phone(n)} is {status}" for n, _, status in phones) or "none"
    return Decision(
        allowed=False,
        reasons=(Reason("wrong_number", f"no phone that may be dialled ({listed})"),),
        next_allowed_at=None,
        at=at,
        zones=(tz,) if tz else policy.fallback_zones,
        callback=False,
        policy=policy.name,
        policy_version=policy.version,
    )
