"""Compliance benchmark (issue 3).

1. Single decisions per second on one core, history of 20 attempts (goal ≥ 20,000/s): a case
   allowed under each bundled policy, and one blocked under each, whose next_allowed_at has to be
   searched.
2. Screening a portfolio through the batched form: 1,000,000 accounts with 5,000,000 past calls
   (goal ≤ 20 s on SQLite and on PostgreSQL), and a dialer-sized batch of 1,000 accounts.
   Calls are spread over the 90 days before the screening instant, 5 per account on average,
   with realistic dispositions (PTPs with promises, callbacks, wrong numbers).
"""

from __future__ import annotations

import argparse
import inspect
import os
import random
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import select, text

from benchmarks.bench_import import AS_OF, SEED, portfolio
from benchmarks.common import ROOT, cached_store, duecall, store_key, timed_command
from compliance.engine import decide
from compliance.facts import AccountFacts, Attempt, Case
from compliance.policy import load_policy
from compliance.screening import screen
from crm.models import Account, Call
from duecall.db import bulk_insert, make_engine, table_of

AT = datetime(2026, 11, 2, 5, 30, tzinfo=UTC)  # 11:00 in Mumbai, the day after the portfolio
DISPOSITIONS = (
    ("RNR", 34), ("BUSY", 8), ("UNREACHABLE", 10), ("PTP", 12), ("CALLBACK", 6), ("REFUSED", 6),
    ("PAID", 5), ("DISPUTE", 1), ("HARDSHIP", 4), ("WRONG_NUMBER", 2), ("THIRD_PARTY", 4),
    ("VOICEMAIL", 5), ("DROPPED", 3),
)  # fmt: skip
AGENTS = [f"TC{n:03d}" for n in range(1, 41)] + ["BOT"]


# The single-decision cases: 20 earlier attempts (none a conversation) at random instants in
# the days before AT. Over 60 days they pass both policies' caps; over 6 days they exceed both
# (RBI's 10 in 7 × 24 hours, Reg F's 7 in 7 days), so next_allowed_at is searched.
SINGLE_CASES = (
    ("allowed", 1, 60, True),
    ("blocked, next_allowed_at searched", 2, 6, False),
)


def attempts(seed: int, days: int, phone: str) -> tuple[Attempt, ...]:
    """20 attempts to `phone` at random instants from `days` days to 2 hours before AT."""
    rng = random.Random(seed)
    return tuple(
        Attempt(AT - timedelta(hours=rng.randint(2, 24 * days)), phone, rng.choice(["RNR", "BUSY", "DROPPED"]))
        for _ in range(20)
    )  # fmt: skip


def single(count: int) -> list[str]:
    phone = "+919812345678"
    lines = [
        "| case | history | policy | decisions per CPU second | µs CPU per decision | "
        "decisions/s wall | load | result |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for label, seed, days, allowed in SINGLE_CASES:
        history = attempts(seed, days, phone)
        case = Case(AT, phone, AccountFacts(account_id="A1", dpd=12, phones=(phone,)), history)
        for name in ("rbi", "us-regf"):
            policy = load_policy(name)
            outcome = decide(case, policy)
            rules = ", ".join(r.rule for r in outcome.reasons) or "allowed"
            if outcome.allowed is not allowed:
                raise RuntimeError(f"the {label!r} case gives {rules} under {name}")
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(count):
                decide(case, policy)
            cpu = time.process_time() - cpu
            elapsed = time.perf_counter() - started
            lines.append(
                f"| {label} | 20 attempts over {days} days | {name} | {count / cpu:,.0f} | "
                f"{cpu / count * 1e6:.1f} | {count / elapsed:,.0f} | {os.getloadavg()[0]:.1f} | "
                f"{rules} |"
            )
    return lines


def populate_calls(url: str, accounts: int, calls: int, seed: int = 5) -> None:
    """`calls` past calls over 90 days for accounts ACC00000001…, with promises for PTPs."""
    rng = random.Random(seed)
    codes = [c for c, _ in DISPOSITIONS]
    weights = [w for _, w in DISPOSITIONS]
    engine = make_engine(url)
    with engine.begin() as conn:
        known = set(conn.execute(text("SELECT agent_id FROM agents")).scalars())
        missing = [a for a in AGENTS if a not in known]
        bulk_insert(
            conn,
            "agents",
            [(a, a, "bot" if a == "BOT" else "human", None, None, True) for a in missing],
        )
        primary = dict(
            conn.execute(
                text("SELECT account_id, number FROM phones WHERE source = 'primary'")
            ).all()
        )
        call_columns = ("call_id", "account_id", "agent_id", "phone", "mode", "source", "status",
                        "disposition", "started_at", "duration_s", "callback_at")  # fmt: skip
        promise_columns = ("account_id", "call_id", "amount", "promised_on", "promised_date",
                           "status", "created_at")  # fmt: skip
        batch: list[tuple[object, ...]] = []
        promises: list[tuple[object, ...]] = []
        base = AT.replace(tzinfo=None)
        for n in range(calls):
            account_id = f"ACC{rng.randint(1, accounts):08d}"
            started = base - timedelta(seconds=rng.randint(600, 90 * 86400))
            code = rng.choices(codes, weights)[0]
            agent = rng.choice(AGENTS)
            callback = started + timedelta(hours=rng.randint(1, 72)) if code == "CALLBACK" else None
            call_id = f"C{n:09d}"
            batch.append((call_id, account_id, agent, primary.get(account_id), "bot" if agent == "BOT" else "agent",
                          "import", "completed", code, started, rng.randint(0, 400), callback))  # fmt: skip
            if code == "PTP":
                promised = started.date() + timedelta(days=rng.randint(0, 14))
                promises.append(
                    (
                        account_id,
                        call_id,
                        rng.randint(1000, 20000) * 100,
                        started.date(),
                        promised,
                        "pending",
                        started,
                    )
                )
            if len(batch) == 100_000:
                bulk_insert(conn, "calls", batch, call_columns)
                bulk_insert(conn, "promises", promises, promise_columns)
                batch, promises = [], []
        bulk_insert(conn, "calls", batch, call_columns)
        bulk_insert(conn, "promises", promises, promise_columns)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def build_book(url: str, accounts: int, calls: int) -> None:
    """Migrate the empty store at `url`, import the seeded portfolio, add the past calls."""
    env = {"DUECALL_DATABASE_URL": url}
    timed_command(duecall("db", "upgrade"), env)
    timed_command(duecall("import", "accounts", str(portfolio(accounts))), env)
    # Millions of rows load faster into a table without its secondary indexes, built after.
    engine = make_engine(url)
    indexes = sorted(table_of(Call).indexes, key=lambda ix: str(ix.name))
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
    populate_calls(url, accounts, calls)
    with engine.begin() as conn:
        for index in indexes:
            index.create(conn)
    engine.dispose()
    if url.startswith("postgresql"):
        # Visibility maps set, so that covering indexes serve index-only scans from the start.
        engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()


@contextmanager
def book(
    backend: str, workdir: Path, accounts: int, calls: int, *, rebuild: bool = False
) -> Iterator[str]:
    """A fresh copy of a store of `backend` holding the seeded portfolio and `calls` past calls.

    Building it takes minutes at full size, so it is built once and kept (`cached_store`),
    keyed by the migrations, the generators' code and the sizes; `rebuild` builds it again.
    """
    key = store_key(
        [accounts, calls, SEED, AS_OF, inspect.getsource(build_book), inspect.getsource(populate_calls), DISPOSITIONS, AGENTS, AT],
        [ROOT / "crm" / "seed.py", *sorted((ROOT / "crm" / "imports").glob("*.py"))],
    )  # fmt: skip
    label = f"book_{accounts}_{calls}"
    with cached_store(
        backend, workdir, label, key, partial(build_book, accounts=accounts, calls=calls),
        rebuild=rebuild,
    ) as url:  # fmt: skip
        yield url


def screening(
    accounts: int, calls: int, backends: list[str], *, rebuild: bool = False
) -> list[str]:
    lines = [
        f"{accounts:,} accounts (`duecall seed`, as of {AS_OF}) and {calls:,} calls over 90 days; "
        f"screened at {AT.isoformat()} (11:00 in Mumbai) under `rbi`:",
        "",
        "| store | accounts screened | seconds | CPU s (this process and its shards) | accounts/s | load | "
        "allowed | blocked |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    policy = load_policy("rbi")
    with tempfile.TemporaryDirectory(prefix="duecall-bench-") as workdir:
        for backend in backends:
            with book(backend, Path(workdir), accounts, calls, rebuild=rebuild) as url:
                engine = make_engine(url)
                for label, chosen, workers in (
                    ("all", None, 1),
                    ("all, in 2 processes", None, 2),
                    (
                        "1,000",
                        select(Account.account_id).order_by(Account.account_id).limit(1000),
                        1,
                    ),
                ):
                    with engine.connect() as conn:
                        started, cpu = time.perf_counter(), time.process_time()
                        children = resource.getrusage(resource.RUSAGE_CHILDREN)
                        result = screen(conn, chosen, at=AT, policy=policy, workers=workers)
                        cpu = time.process_time() - cpu
                        after = resource.getrusage(resource.RUSAGE_CHILDREN)
                        cpu += (after.ru_utime + after.ru_stime) - (
                            children.ru_utime + children.ru_stime
                        )
                        elapsed = time.perf_counter() - started
                    allowed = sum(1 for s in result.values() if s.decision.allowed)
                    lines.append(
                        f"| {backend} | {len(result):,} ({label}) | {elapsed:.2f} | {cpu:.2f} | "
                        f"{len(result) / elapsed:,.0f} | {os.getloadavg()[0]:.1f} | {allowed:,} | "
                        f"{len(result) - allowed:,} |"
                    )
                engine.dispose()
    return lines


def main(argv: list[str]) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=50_000)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=5_000_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--rebuild", action="store_true", help="build the kept store again (see cached_store)"
    )
    args = parser.parse_args(argv)
    lines = ["Single decisions, one core, history of 20 attempts:", "", *single(args.decisions), ""]
    return lines + screening(args.accounts, args.calls, args.backends, rebuild=args.rebuild)
