"""Generated calls, promises, payments and snapshots whose truth is known, for tests and benchmarks.

Agents draw dispositions from known mixes (a few planted outliers differ in one rate); each PTP
is kept or not by a known draw, and its payments are written accordingly; month-end snapshots
follow a known bucket transition matrix. Accounts come from `crm.seed` through the real import;
everything else is written with `duecall.db.bulk_insert` (COPY on PostgreSQL) in batches, so
the same code makes a test's thousands of rows and a benchmark's millions.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from analytics.agents import LENDER_ZONE
from crm.buckets import BUCKET_FLOORS, BUCKET_ORDER, Bucket, bucket_for_dpd
from crm.imports import import_file
from crm.models import Account, Agent
from crm.seed import write_accounts_csv
from duecall.db import bulk_insert, table_of

BATCH = 50_000
# A tele-calling floor's disposition mix (shares of attempts).
BASE_MIX: dict[str, float] = {
    "RNR": 0.35, "BUSY": 0.08, "UNREACHABLE": 0.07, "VOICEMAIL": 0.04, "FAILED": 0.01,
    "DROPPED": 0.03, "WRONG_NUMBER": 0.03, "THIRD_PARTY": 0.04, "PTP": 0.12, "PAID": 0.03,
    "REFUSED": 0.06, "DISPUTE": 0.02, "CALLBACK": 0.07, "HARDSHIP": 0.03, "ESCALATED": 0.02,
}  # fmt: skip
BASE_KEEP_RATE = 0.6
# Month-over-month bucket transitions of a retail book (rows: from, columns: to, bucket order).
ROLL_MATRIX: dict[Bucket, dict[Bucket, float]] = {
    Bucket.STANDARD: {Bucket.STANDARD: 0.90, Bucket.SMA_0: 0.10},
    Bucket.SMA_0: {Bucket.STANDARD: 0.45, Bucket.SMA_0: 0.25, Bucket.SMA_1: 0.30},
    Bucket.SMA_1: {
        Bucket.STANDARD: 0.20, Bucket.SMA_0: 0.15, Bucket.SMA_1: 0.20, Bucket.SMA_2: 0.45,
    },
    Bucket.SMA_2: {
        Bucket.STANDARD: 0.10, Bucket.SMA_1: 0.15, Bucket.SMA_2: 0.15, Bucket.NPA: 0.60,
    },
    Bucket.NPA: {Bucket.SMA_2: 0.05, Bucket.NPA: 0.95},
}  # fmt: skip
_DPD_RANGE = {b: (floor, ceiling) for (floor, b), ceiling in zip(
    reversed(BUCKET_FLOORS), (0, 30, 60, 90, 720), strict=True
)}  # fmt: skip


@dataclass(frozen=True)
class AgentProfile:
    agent_id: str
    mix: Mapping[str, float] = field(default_factory=lambda: dict(BASE_MIX))
    keep_rate: float = BASE_KEEP_RATE
    kind: str = "human"


def with_share(mix: Mapping[str, float], code: str, share: float) -> dict[str, float]:
    """`mix` with `code` at `share` and the other codes scaled to fill the rest."""
    rest = 1 - mix[code]
    out = {c: p * (1 - share) / rest for c, p in mix.items() if c != code}
    out[code] = share
    return out


def write_portfolio(engine: Engine, *, accounts: int, seed: int, as_of: date) -> list[str]:
    """`crm.seed`'s portfolio through the real accounts import; returns the account ids."""
    with tempfile.TemporaryDirectory(prefix="duecall-gen-") as workdir:
        path = Path(workdir) / "accounts.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            write_accounts_csv(out, accounts, seed=seed, as_of=as_of)
        now = datetime.combine(as_of, datetime.min.time(), UTC)
        import_file(engine, "accounts", path, zone=LENDER_ZONE, now=now)
    with engine.connect() as conn:
        accounts_table = table_of(Account)
        return list(
            conn.scalars(select(accounts_table.c.account_id).order_by(accounts_table.c.account_id))
        )


def write_agents(conn: Connection, profiles: Sequence[AgentProfile]) -> None:
    agents = table_of(Agent)
    known = set(conn.scalars(select(agents.c.agent_id)))
    bulk_insert(
        conn, "agents",
        [(p.agent_id, p.agent_id, p.kind, True) for p in profiles if p.agent_id not in known],
        ("agent_id", "name", "kind", "active"),
    )  # fmt: skip


@dataclass
class CallTruth:
    calls: int = 0
    promises: dict[str, str] = field(default_factory=dict)  # call_id → status on `today`


def write_calls(
    conn: Connection,
    *,
    profiles: Sequence[AgentProfile],
    calls_per_agent: int,
    account_ids: Sequence[str],
    start: datetime,
    end: datetime,
    seed: int,
    today: date,
    grace_days: int = 2,
    zone: ZoneInfo = LENDER_ZONE,
) -> CallTruth:
    """Calls spread uniformly over [start, end), promises for the PTPs and the payments that
    keep (or do not keep) them as of `today`.

    Promises go to accounts in turn, so while there are more accounts than promises no two
    promises share an account and every payment belongs to exactly one promise.
    """
    write_agents(conn, profiles)
    rng = random.Random(seed)
    truth = CallTruth()
    seconds = int((end - start).total_seconds())
    next_promise_account = 0
    batches: dict[str, list[tuple[Any, ...]]] = {"calls": [], "promises": [], "payments": []}
    codes = {p.agent_id: (list(p.mix), list(p.mix.values())) for p in profiles}
    for number in range(calls_per_agent * len(profiles)):
        profile = profiles[number % len(profiles)]
        names, weights = codes[profile.agent_id]
        disposition = rng.choices(names, weights)[0]
        started = start + timedelta(seconds=rng.randrange(seconds))
        call_id = f"G{seed}-{number:09d}"
        account = account_ids[rng.randrange(len(account_ids))]
        if disposition == "PTP":
            account = account_ids[next_promise_account % len(account_ids)]
            next_promise_account += 1
            window = _Window(started.astimezone(zone).date(), today, grace_days)
            truth.promises[call_id] = _promise(
                batches, rng, call_id, account, started, profile, window
            )
        mode = "bot" if profile.kind == "bot" else "agent"
        batches["calls"].append(
            (call_id, account, profile.agent_id, mode, "import", "completed", disposition,
             started.replace(tzinfo=None), rng.randrange(10, 400))
        )  # fmt: skip
        truth.calls += 1
        if len(batches["calls"]) >= BATCH:
            _flush(conn, batches)
    _flush(conn, batches)
    return truth


@dataclass(frozen=True, slots=True)
class _Window:
    promised_on: date
    today: date
    grace_days: int


def _promise(
    batches: dict[str, list[tuple[Any, ...]]],
    rng: random.Random,
    call_id: str,
    account: str,
    started: datetime,
    profile: AgentProfile,
    when: _Window,
) -> str:
    """Write the PTP's promise and the payments that decide it; returns its status on `today`."""
    promised_on, today, grace_days = when.promised_on, when.today, when.grace_days
    promised_date = promised_on + timedelta(days=rng.randint(0, 10))
    amount = rng.randrange(1_000, 20_000, 50) * 100  # paise
    window_end = promised_date + timedelta(days=grace_days)
    batches["promises"].append(
        (account, call_id, amount, promised_on, promised_date, "pending",
         started.replace(tzinfo=None))
    )  # fmt: skip

    def pay(day: date, paise: int) -> None:
        batches["payments"].append((account, day, paise, f"{call_id}-{len(batches['payments'])}"))

    window = (window_end - promised_on).days
    if window_end >= today:
        return "pending"  # its window is still open on `today`: no payment yet
    if rng.random() < profile.keep_rate:
        # Kept: in one payment, or two that together reach the amount, inside the window.
        if rng.random() < 0.5:
            pay(promised_on + timedelta(days=rng.randint(0, window)), amount)
        else:
            first = amount // 3
            pay(promised_on + timedelta(days=rng.randint(0, window)), first)
            pay(promised_on + timedelta(days=rng.randint(0, window)), amount - first)
        return "kept"
    # Broken: nothing, too little in the window, or enough but one day late.
    draw = rng.random()
    if draw < 0.4:
        pay(promised_on + timedelta(days=rng.randint(0, window)), amount // 2)
    elif draw < 0.7 and window_end + timedelta(days=1) < today:
        pay(window_end + timedelta(days=1), amount)
    return "broken"


def _flush(conn: Connection, batches: dict[str, list[tuple[Any, ...]]]) -> None:
    columns = {
        "calls": ("call_id", "account_id", "agent_id", "mode", "source", "status", "disposition",
                  "started_at", "duration_s"),
        "promises": ("account_id", "call_id", "amount", "promised_on", "promised_date", "status",
                     "created_at"),
        "payments": ("account_id", "paid_at", "amount", "reference"),
    }  # fmt: skip
    for table in ("calls", "promises", "payments"):
        bulk_insert(conn, table, batches[table], columns[table])
        batches[table].clear()


def month_ends(last: date, months: int) -> list[date]:
    """The last day of each of the `months` months up to `last`'s, oldest first."""
    ends, first = [], last.replace(day=1)
    for _ in range(months):
        ends.append((first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1))
        first = (first - timedelta(days=1)).replace(day=1)
    return sorted(ends)


def bucket_paths(
    count: int, months: int, *, seed: int, matrix: Mapping[Bucket, Mapping[Bucket, float]]
) -> Iterator[list[Bucket]]:
    """Each account's bucket month by month: a Markov chain with `matrix`, started uniformly."""
    rng = random.Random(seed)
    rows = {b: (list(to), list(to.values())) for b, to in matrix.items()}
    for _ in range(count):
        bucket = rng.choice(BUCKET_ORDER)
        path = [bucket]
        for _ in range(months - 1):
            targets, weights = rows[bucket]
            bucket = rng.choices(targets, weights)[0]
            path.append(bucket)
        yield path


def write_snapshots(
    conn: Connection,
    *,
    account_ids: Sequence[str],
    last_month_end: date,
    months: int,
    seed: int,
    matrix: Mapping[Bucket, Mapping[Bucket, float]] = ROLL_MATRIX,
    mid_month_share: float = 0.1,
) -> int:
    """Month-end snapshots following `matrix`; a share of accounts also get a mid-month
    snapshot in another bucket, which the latest-in-month rule must ignore. Returns rows."""
    rng = random.Random(seed + 1)
    ends = month_ends(last_month_end, months)
    batch: list[tuple[Any, ...]] = []
    written = 0
    for account, path in zip(
        account_ids, bucket_paths(len(account_ids), months, seed=seed, matrix=matrix), strict=False
    ):
        principal = rng.randrange(20_000, 500_000) * 100
        for as_of, bucket in zip(ends, path, strict=True):
            low, high = _DPD_RANGE[bucket]
            dpd = rng.randint(low, high)
            overdue = 0 if dpd == 0 else principal // 20
            batch.append((account, as_of, dpd, overdue, principal, bucket_for_dpd(dpd).value))
            if rng.random() < mid_month_share:
                other = rng.choice([b for b in BUCKET_ORDER if b is not bucket])
                low, high = _DPD_RANGE[other]
                mid_dpd = rng.randint(low, high)
                batch.append((account, as_of.replace(day=15), mid_dpd, overdue, principal,
                              bucket_for_dpd(mid_dpd).value))  # fmt: skip
        if len(batch) >= BATCH:
            written += len(batch)
            _snapshots(conn, batch)
    written += len(batch)
    _snapshots(conn, batch)
    return written


def _snapshots(conn: Connection, batch: list[tuple[Any, ...]]) -> None:
    bulk_insert(
        conn, "snapshots", batch,
        ("account_id", "as_of", "dpd", "overdue_amount", "principal_outstanding", "bucket"),
    )  # fmt: skip
    batch.clear()
