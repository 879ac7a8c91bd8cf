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

import json
import pickle
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import IO, Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    and_,
    any_,
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
from compliance.zones import valid_phone_zones
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
    yield from _screen_portfolio(conn, accounts, at, policy, _ALL)


Memo = dict[tuple[tuple[str, ...], bool, datetime], Decision]
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
        self.memo: Memo = {}

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
        return _decide_account(account_id, dpd, tz, listed, self.extras, self.memo, at, self.policy)


def _decide_account(
    account_id: str,
    dpd: int | None,
    tz: str | None,
    listed: Listed,
    extras: _Extras,
    memo: Memo,
    at: datetime,
    policy: Policy,
) -> Screening:
    """The first phone that may be called now, or the one that may be called soonest."""
    callable_phones = [number for number, _, status in listed if status == "ok"]
    if not callable_phones:
        return Screening(account_id, None, _no_phone(tz, listed, at, policy))
    decisions: Iterator[Decision]
    if len(callable_phones) == len(listed) and not extras.has_any(account_id):
        # Nothing but the phones' zones and the dpd class matter: one decision for all alike.
        overdue = dpd is None or dpd >= 1
        decisions = (
            _shared_decision(number, overdue, dpd, tz, memo, at, policy)
            for number in callable_phones
        )
    else:
        account = AccountFacts(
            account_id=account_id,
            dpd=dpd,
            timezone=tz,
            phones=tuple(number for number, _, _ in listed),
            flags=frozenset(extras.flags.get(account_id, ())),
            holds=tuple(extras.holds.get(account_id, ())),
            preferences=tuple(extras.preferences.get(account_id, ())),
            wrong_numbers=frozenset(n for n, _, status in listed if status == "wrong_number"),
            phones_known_valid=True,
        )
        history = tuple(extras.history.get(account_id, ()))
        decisions = (
            decide(Case(at, number, account, history), policy) for number in callable_phones
        )
    best: Screening | None = None
    for number, decision in zip(callable_phones, decisions, strict=True):
        if decision.allowed:
            return Screening(account_id, number, decision)
        if best is None or _sooner(decision, best.decision):
            best = Screening(account_id, number, decision)
    assert best is not None
    return best


def _shared_decision(
    number: str,
    overdue: bool,
    dpd: int | None,
    tz: str | None,
    memo: Memo,
    at: datetime,
    policy: Policy,
) -> Decision:
    """The decision for a phone of an account with no facts but its zone and dpd class."""
    zones = (tz,) if tz else (valid_phone_zones(number) or policy.fallback_zones)
    decision = memo.get((zones, overdue, at))
    if decision is None:
        facts = AccountFacts(dpd=dpd, timezone=tz, phones=(number,), phones_known_valid=True)
        decision = memo[(zones, overdue, at)] = decide(Case(at, number, facts), policy)
    return decision


Accounts = Select[Any] | Sequence[str] | None  # a query of account_ids, a list of them, or all
Span = tuple[str | None, str | None]  # account_ids from the first (inclusive) to the last (not)
_ALL: Span = (None, None)


def _screen_portfolio(
    conn: Connection, accounts: Accounts, at: datetime, policy: Policy, span: Span
) -> Iterator[Screening]:
    """The screenings of a query of accounts, or of all within `span`, in account_id order.

    Rows are read as the driver gives them (one per account, its phones joined into one
    string) rather than as SQLAlchemy rows: at a portfolio's size the per-row processing costs
    more than the decisions.
    """
    extras = _Extras.load(conn, accounts, at=at, policy=policy, span=span)
    memo: Memo = {}
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
    special = extras.account_ids()
    for account_id, dpd, tz, joined in _raw_rows(conn, query):
        if joined is not None and ";" not in joined and account_id not in special:
            number, source, status = joined.split(",")
            if status == "ok":  # most of a portfolio: one phone, no other facts
                overdue = dpd is None or dpd >= 1
                decision = _shared_decision(number, overdue, dpd, tz, memo, at, policy)
                yield Screening(account_id, number, decision)
                continue
            listed: Listed = [(number, source, status)]
        elif joined is None:
            listed = []
        else:
            listed = sorted(map(_phone_entry, joined.split(";")), key=_phone_order)
        yield _decide_account(account_id, dpd, tz, listed, extras, memo, at, policy)


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
        yield from _screen_portfolio(conn, None, at, policy, _ALL)
        return
    address = url.render_as_string(hide_password=False)
    shards = [_Shard.start(address, at, policy, span) for span in spans[1:]]
    try:
        yield from _screen_portfolio(conn, None, at, policy, spans[0])
        for shard in shards:
            yield from shard.result()
    finally:
        for shard in shards:
            shard.stop()


@dataclass
class _Shard:
    """A shard screened by a fresh Python process (not forked: SQLite's locks do not survive
    fork() in a process with the store open), which pickles its screenings to a temporary file.

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

    def result(self) -> list[Screening]:
        if self.process.wait() != 0:
            self.err.seek(0)
            lines = self.err.read().decode(errors="replace").strip().splitlines()
            raise RuntimeError(
                f"a screening shard failed (exit {self.process.returncode}): "
                f"{lines[-1] if lines else 'no message'}"
            )
        self.out.seek(0)
        screenings: list[Screening] = pickle.load(self.out)
        return screenings

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.out.close()
        self.err.close()


def _shard_main() -> None:
    """The process of a `_Shard`: its order on stdin, its screenings pickled to stdout."""
    address, at, policy, span = pickle.load(sys.stdin.buffer)
    engine = make_engine(address)
    try:
        with engine.connect() as conn:
            # A reader: SQLite's default BEGIN here takes the write lock (see duecall.db).
            conn.execution_options(sqlite_begin="DEFERRED")
            screenings = list(_screen_portfolio(conn, None, at, policy, span))
    finally:
        engine.dispose()
    pickle.dump(screenings, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()


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

    columns = (
        call.c.account_id,
        call.c.started_at,
        call.c.phone,
        call.c.disposition,
        call.c.callback_at,
        promise.c.promised_date,
    )
    with_promise = call.outerjoin(promise, promise.c.call_id == call.c.call_id)
    mine = and_(_of(conn, call, accounts), *_in_span(call, span))
    if excluding is not None:
        mine = and_(mine, call.c.call_id != excluding)
    add(
        select(*columns)
        .select_from(with_promise)
        .where(mine, call.c.started_at > since, call.c.started_at <= at),
        recent=True,
    )
    # Older wrong-number reports: the phone's status says so too, but the call is the evidence.
    add(
        select(*columns)
        .select_from(with_promise)
        .where(
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
        select(*columns)
        .select_from(with_promise)
        .where(
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
        select(*columns)
        .select_from(with_promise)
        .where(
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
