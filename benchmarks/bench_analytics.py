"""Analytics benchmark (issue 6).

1. The agent report (`analytics.agents.agents_report`) over 5,000,000 calls by 200 agents in a
   year, with their promises and payments (goal ≤ 2 s on SQLite and on PostgreSQL).
2. The roll-rate matrix over 1,000,000 accounts × 13 month-end snapshots, plus mid-month ones for
   a tenth of the accounts (goal ≤ 5 s).

The data is `analytics.generate`'s, the same code the tests check the reports' truth with:
accounts from `crm.seed` through the real import, calls, promises, payments and snapshots in
batches through `duecall.db.bulk_insert` (COPY on PostgreSQL; the analytics triggers run as in
production). Each timing is the best of `--repeat` runs, and is set against the same aggregation
done by DuckDB on the same rows (loaded from a CSV export of the SQLite store) in the same run.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Time,
    TypeDecorator,
    create_engine,
    inspect,
    make_url,
    text,
)

import agent.models  # noqa: F401  (every table on Base.metadata, for copying a store)
import analytics.qa.models  # noqa: F401
import crm.models  # noqa: F401
import dialer.models  # noqa: F401
import web.models  # noqa: F401
from analytics.agents import LENDER_ZONE, agent_rows, agents_report
from analytics.generate import (
    BATCH,
    AgentProfile,
    write_calls,
    write_portfolio,
    write_snapshots,
)
from analytics.periods import local_midnight
from analytics.portfolio import Month, cohorts, roll_rates, segments
from benchmarks.common import POSTGRES_URL, migration_hashes
from duecall.db import Base, make_engine, upgrade
from duecall.settings import normalize_database_url

YEAR_START, YEAR_END = date(2025, 11, 1), date(2026, 10, 31)
TODAY = date(2026, 11, 1)
LAST_MONTH_END = date(2026, 10, 31)
ROLL_FROM = Month(2026, 9)
AGENTS = 200
CACHE_DIR = Path("/tmp/analytics")


def best(repeat: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def load(url: str, calls: int, accounts: int, months: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    ids = write_portfolio(engine, accounts=accounts, seed=3, as_of=YEAR_END)
    profiles = [AgentProfile(f"TC{n:03d}") for n in range(1, AGENTS)]
    profiles.append(AgentProfile("BOT", kind="bot"))
    with engine.begin() as conn:
        write_calls(
            conn, profiles=profiles, calls_per_agent=calls // AGENTS, account_ids=ids,
            start=local_midnight(YEAR_START, LENDER_ZONE),
            end=local_midnight(TODAY, LENDER_ZONE), seed=1, today=TODAY,
        )  # fmt: skip
        write_snapshots(conn, account_ids=ids, last_month_end=LAST_MONTH_END, months=months, seed=2)
    engine.dispose()
    settle(url)


def settle(url: str, tables: list[str] | None = None) -> None:
    """Statistics and the visibility map, as autovacuum would leave them after a bulk load (of
    `tables`, or of everything)."""
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA analysis_limit = 2000")  # sampled, as `PRAGMA optimize`
        for table in tables or [""]:
            conn.exec_driver_sql(f"{'ANALYZE' if sqlite else 'VACUUM ANALYZE'} {table}")
    engine.dispose()


def analytics_tables(url: str) -> list[str]:
    engine = make_engine(url)
    names = [n for n in inspect(engine).get_table_names() if n.startswith("analytics_")]
    engine.dispose()
    return names


# The last migration before the analytics triggers: a copy made at this revision is upgraded
# afterwards, and the migrations count what they add (their backfills) in one pass each.
COPY_REVISION = "0003"


def copy_postgres_to_sqlite(source_url: str, target_url: str) -> None:
    """The rows of a PostgreSQL store into a new SQLite store at COPY_REVISION: the same data
    without generating it again. A bulk load: no foreign key checks (the rows come from a store
    that checked them), no journal, a large page cache."""
    source = make_engine(source_url)
    upgrade(target_url, COPY_REVISION)
    lite = sqlite3.connect(target_url.removeprefix("sqlite:///"), isolation_level=None)
    for pragma in ("foreign_keys = OFF", "journal_mode = OFF", "synchronous = OFF",
                   "cache_size = -1000000"):  # fmt: skip
        lite.execute(f"PRAGMA {pragma}")
    present = {
        name for (name,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    skip = {"alembic_version"}
    with source.connect() as pg:
        names = set(inspect(source).get_table_names()) - skip
        later = [n for n in names if n not in present and not n.startswith("analytics_")]
        for name in later:  # tables of later migrations: they must be empty to be left out
            if pg.execute(text(f"SELECT count(*) FROM {name}")).scalar():
                raise RuntimeError(f"{name} has rows and does not exist at {COPY_REVISION}")
        tables = [t for t in Base.metadata.sorted_tables if t.name in names & present]
        # Secondary indexes are built once at the end, from sorted keys.
        indexes = list(
            lite.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        )
        lite.execute("BEGIN")
        for name, _sql in indexes:
            lite.execute(f"DROP INDEX {name}")
        for table in reversed(tables):
            lite.execute(f"DELETE FROM {table.name}")  # rows the migrations seeded
        for table in tables:
            target_columns = {row[1] for row in lite.execute(f"PRAGMA table_info({table.name})")}
            columns = [
                c["name"]
                for c in inspect(source).get_columns(table.name)
                if c["name"] in target_columns
            ]
            selected = ", ".join(_as_sqlite_stores(table.c[c]) for c in columns)
            quoted = ", ".join(f'"{c}"' for c in columns)
            insert = f"INSERT INTO {table.name} ({quoted}) VALUES ({', '.join('?' * len(columns))})"
            driver = pg.connection.driver_connection
            assert driver is not None
            cursor = driver.cursor(name=f"copy_{table.name}")
            cursor.execute(f"SELECT {selected} FROM {table.name}")
            while rows := cursor.fetchmany(BATCH):
                lite.executemany(insert, rows)
            cursor.close()
        for _name, sql in indexes:
            lite.execute(sql)
        lite.execute("COMMIT")
    lite.execute("PRAGMA journal_mode = WAL")
    lite.close()
    source.dispose()
    settle(target_url)


def _as_sqlite_stores(column: Any) -> str:
    """A PostgreSQL column as text in the form SQLAlchemy's SQLite types store it."""
    name = f'"{column.name}"'
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, JSON):
        return f"{name}::text"
    if isinstance(kind, DateTime):
        return f"to_char({name}, 'YYYY-MM-DD HH24:MI:SS.US')"
    if isinstance(kind, Date):
        return f"to_char({name}, 'YYYY-MM-DD')"
    if isinstance(kind, Time):
        return f"to_char('2000-01-01'::date + {name}, 'HH24:MI:SS.US')"
    return name


# --- cached stores ---------------------------------------------------------------------------
# A full-size store takes minutes to load, so each is kept: a SQLite file under CACHE_DIR, a
# PostgreSQL template database, each keyed on the generator's parameters and the migrations it
# was built with. When only migrations were added since, a copy of the older store is upgraded
# (the migrations backfill what they add) instead of loading everything again.


@dataclass(frozen=True)
class Params:
    calls: int
    accounts: int
    months: int

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


def store_key(params: Params, migrations: dict[str, str]) -> str:
    text = json.dumps({"params": asdict(params), "migrations": migrations}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Cache:
    """The cached stores of one backend (`sqlite` or `postgresql`)."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        CACHE_DIR.mkdir(parents=True, exist_ok=True)

    def meta_path(self, key: str) -> Path:
        return CACHE_DIR / f"{self.backend}-{key}.json"

    def url(self, key: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{CACHE_DIR / f'sqlite-{key}.db'}"
        return _postgres_url(f"analytics_cache_{key}")

    def exists(self, key: str) -> bool:
        if not self.meta_path(key).exists():
            return False
        if self.backend == "sqlite":
            return (CACHE_DIR / f"sqlite-{key}.db").exists()
        return _postgres_database_exists(f"analytics_cache_{key}")

    def drop(self, key: str) -> None:
        self.meta_path(key).unlink(missing_ok=True)
        if self.backend == "sqlite":
            for leftover in CACHE_DIR.glob(f"sqlite-{key}.db*"):
                leftover.unlink()
        else:
            _postgres_admin_sql(f'DROP DATABASE IF EXISTS "analytics_cache_{key}" WITH (FORCE)')

    def create_empty(self, key: str) -> None:
        if self.backend == "postgresql":
            _postgres_admin_sql(f'CREATE DATABASE "analytics_cache_{key}"')

    def copy(self, source: str, target: str) -> None:
        if self.backend == "sqlite":
            shutil.copyfile(CACHE_DIR / f"sqlite-{source}.db", CACHE_DIR / f"sqlite-{target}.db")
        else:
            _postgres_admin_sql(
                f'CREATE DATABASE "analytics_cache_{target}" TEMPLATE "analytics_cache_{source}"'
            )

    def upgradable(self, params: Params, migrations: dict[str, str]) -> str | None:
        """The cached store of `params` built with the most of today's migrations unchanged."""
        found: list[tuple[int, str]] = []
        for meta_path in CACHE_DIR.glob(f"{self.backend}-*.json"):
            meta = json.loads(meta_path.read_text())
            key = meta_path.stem.removeprefix(f"{self.backend}-")
            built = meta["migrations"]
            unchanged = all(migrations.get(name) == sha for name, sha in built.items())
            if meta["params"] == asdict(params) and unchanged and self.exists(key):
                found.append((len(built), key))
        return max(found)[1] if found else None

    def store(
        self,
        params: Params,
        *,
        rebuild: bool,
        log: Callable[[str], None],
        from_postgresql: bool = False,
    ) -> str:
        """The URL of a store of `params` at the migrations' head, built or upgraded if need be
        (a SQLite one copied from a cached PostgreSQL one when `from_postgresql`)."""
        migrations = migration_hashes()
        key = store_key(params, migrations)
        if rebuild:
            self.drop(key)
        if self.exists(key):
            return self.url(key)
        self.drop(key)
        started = time.perf_counter()
        source = None if rebuild else self.upgradable(params, migrations)
        postgres = Cache("postgresql")
        if source is None and from_postgresql and self.backend == "sqlite":
            source = postgres.upgradable(params, migrations)
            if source is not None:
                copied = {n: h for n, h in migrations.items() if n[:4] <= COPY_REVISION}
                target = store_key(params, copied)
                log(f"sqlite: copying postgresql store {source} as {target}")
                copy_postgres_to_sqlite(postgres.url(source), self.url(target))
                meta = {"params": asdict(params), "migrations": copied}
                self.meta_path(target).write_text(json.dumps(meta, indent=1, sort_keys=True))
                source = target
        if source is not None:
            log(f"{self.backend}: upgrading a copy of cached store {source} to {key}")
            self.copy(source, key)
            upgrade(self.url(key))
            settle(self.url(key), analytics_tables(self.url(key)))
        else:
            log(f"{self.backend}: loading store {key} ({params})")
            self.create_empty(key)
            load(self.url(key), params.calls, params.accounts, params.months)
        meta = {"params": asdict(params), "migrations": migrations}
        self.meta_path(key).write_text(json.dumps(meta, indent=1, sort_keys=True))
        log(f"{self.backend}: store {key} ready in {time.perf_counter() - started:.0f} s")
        return self.url(key)


def _postgres_url(database: str) -> str:
    url = make_url(normalize_database_url(POSTGRES_URL)).set(database=database)
    return url.render_as_string(hide_password=False)


def _postgres_admin_sql(sql: str) -> None:
    engine = create_engine(
        make_url(normalize_database_url(POSTGRES_URL)), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _postgres_database_exists(name: str) -> bool:
    engine = create_engine(make_url(normalize_database_url(POSTGRES_URL)))
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
    engine.dispose()
    return found is not None


def time_store(url: str, repeat: int) -> tuple[float, float, float]:
    """Best wall seconds of the agent report and the roll rates, and this process's CPU seconds
    for one agent report (SQLite works in this process; PostgreSQL's server CPU is not in it)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        agents = best(repeat, lambda: agents_report(conn, start=YEAR_START, end=YEAR_END))
        rolls = best(repeat, lambda: roll_rates(conn, from_month=ROLL_FROM))
        cpu = time.process_time()
        agents_report(conn, start=YEAR_START, end=YEAR_END)
        cpu = time.process_time() - cpu
    engine.dispose()
    return agents, rolls, cpu


def time_portfolio(url: str) -> dict[str, float]:
    """One run each of the dashboard's other portfolio queries (not pre-aggregated)."""
    engine = make_engine(url)
    out = {}
    with engine.connect() as conn:
        for name, run in (
            ("cohorts", lambda: cohorts(conn)),
            ("per product", lambda: segments(conn, by="product", start=YEAR_START, end=YEAR_END)),
            ("per channel", lambda: segments(conn, by="channel", start=YEAR_START, end=YEAR_END)),
        ):
            out[name] = best(1, run)
    engine.dispose()
    return out


DUCK_TABLES = (
    ("calls", "call_id, account_id, agent_id, disposition, started_at",
     "call_id VARCHAR, account_id VARCHAR, agent_id VARCHAR, disposition VARCHAR, "
     "started_at TIMESTAMP"),
    ("accounts", "account_id, assigned_agent_id, overdue_amount",
     "account_id VARCHAR, assigned_agent_id VARCHAR, overdue_amount BIGINT"),
    ("payments", "account_id, paid_at, amount",
     "account_id VARCHAR, paid_at DATE, amount BIGINT"),
    ("promises", "call_id, promised_on, status, amount, paid_amount",
     "call_id VARCHAR, promised_on DATE, status VARCHAR, amount BIGINT, paid_amount BIGINT"),
    ("snapshots", "account_id, as_of, bucket",
     "account_id VARCHAR, as_of DATE, bucket VARCHAR"),
)  # fmt: skip


def duckdb_store(params: Params, source_url: str, log: Callable[[str], None]) -> Path:
    """The same rows in a DuckDB file: each table exported to CSV from a store (SQLite, or
    PostgreSQL's COPY) and read back."""
    path = CACHE_DIR / f"duckdb-{params.key()}-v2.duckdb"
    if path.exists():
        return path
    log(f"duckdb: loading {path.name}")
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    db = duckdb.connect(str(partial))
    for table, columns, types in DUCK_TABLES:
        csv_path = CACHE_DIR / f"{table}.csv"
        export_csv(source_url, f"SELECT {columns} FROM {table}", csv_path)
        db.execute(f"CREATE TABLE {table} ({types})")
        db.execute(f"INSERT INTO {table} SELECT * FROM read_csv('{csv_path}', header=false)")
        csv_path.unlink()
    db.close()
    partial.rename(path)
    return path


def export_csv(url: str, query: str, path: Path) -> None:
    if url.startswith("sqlite"):
        source = sqlite3.connect(url.removeprefix("sqlite:///"))
        with path.open("w", newline="") as out:
            csv.writer(out).writerows(source.execute(query))
        source.close()
        return
    engine = make_engine(url)
    with engine.connect() as conn, path.open("wb") as out:
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT WITH CSV") as copy:
            for block in copy:
                out.write(block)
    engine.dispose()


DUCK_START = local_midnight(YEAR_START, LENDER_ZONE).replace(tzinfo=None)
DUCK_END = local_midnight(TODAY, LENDER_ZONE).replace(tzinfo=None)
DUCK_AGENTS = (
    """SELECT agent_id, disposition, count(*) FROM calls
    WHERE started_at >= $start AND started_at < $end GROUP BY ALL""",
    """SELECT c.agent_id, p.status, count(*), sum(p.amount), sum(coalesce(p.paid_amount, 0))
    FROM promises p JOIN calls c USING (call_id)
    WHERE p.promised_on BETWEEN $first AND $last GROUP BY ALL""",
    """SELECT assigned_agent_id, count(*) FROM accounts
    WHERE assigned_agent_id IS NOT NULL GROUP BY ALL""",
    """WITH settled AS (
        SELECT account_id, assigned_agent_id AS agent_id FROM accounts
        WHERE assigned_agent_id IS NOT NULL AND overdue_amount = 0
    ), resolved AS (
        SELECT s.account_id, s.agent_id, max(p.paid_at) AS paid
        FROM settled s JOIN payments p USING (account_id) GROUP BY ALL
        HAVING max(p.paid_at) BETWEEN $first AND $last
    ), first_call AS (
        SELECT c.account_id, min(c.started_at) AS at FROM calls c
        JOIN resolved r ON r.account_id = c.account_id AND r.agent_id = c.agent_id GROUP BY ALL
    )
    SELECT r.agent_id, count(*), sum(r.paid - f.at::date), count(f.at)
    FROM resolved r LEFT JOIN first_call f USING (account_id) GROUP BY ALL""",
)
DUCK_ROLLS = """
    SELECT f, t, count(*) FROM (
        SELECT arg_max(bucket, as_of) FILTER (WHERE as_of < $boundary) AS f,
               arg_max(bucket, as_of) FILTER (WHERE as_of >= $boundary) AS t
        FROM snapshots WHERE as_of >= $first AND as_of < $stop GROUP BY account_id
    ) WHERE f IS NOT NULL AND t IS NOT NULL GROUP BY ALL
"""


@dataclass
class DuckResult:
    agents_seconds: float
    rolls_seconds: float
    agents: list[list[tuple[Any, ...]]]
    rolls: list[tuple[Any, ...]]


def time_duckdb(db: duckdb.DuckDBPyConnection, repeat: int) -> DuckResult:
    """The same aggregations in DuckDB over the raw rows: what the agent report sums (calls per
    agent and disposition, promises per agent and status, cases assigned and resolved) and the
    roll-rate matrix's counts."""
    params = {"start": DUCK_START, "end": DUCK_END, "first": YEAR_START, "last": YEAR_END}
    agents: list[list[tuple[Any, ...]]] = []

    def run_agents() -> None:
        agents[:] = [
            db.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()
            for sql in DUCK_AGENTS
        ]

    roll_params = {
        "boundary": ROLL_FROM.next().first_day,
        "first": ROLL_FROM.first_day,
        "stop": ROLL_FROM.next().next().first_day,
    }
    rolls: list[tuple[Any, ...]] = []

    def run_rolls() -> None:
        rolls[:] = db.execute(DUCK_ROLLS, roll_params).fetchall()

    return DuckResult(best(repeat, run_agents), best(repeat, run_rolls), agents, rolls)


def check_same(url: str, duck: DuckResult) -> None:
    """The store's figures must be DuckDB's: the pre-aggregates are checked at full size."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = {r.agent_id: r for r in agent_rows(conn, start=YEAR_START, end=YEAR_END)}
        rolls = roll_rates(conn, from_month=ROLL_FROM)["counts"]
    engine.dispose()
    calls, promises, assigned, resolved = duck.agents
    mine: dict[str, Any] = {
        "calls": {
            (a, d): r.dispositions.get(d, 0) for a, r in rows.items() for d in r.dispositions
        },
        "promises": {
            (a, status): (n, int(amount * 100), int(paid * 100))
            for a, r in rows.items()
            for status, (n, amount, paid) in r.promises.items()
        },
        "assigned": {a: r.cases_assigned for a, r in rows.items() if r.cases_assigned},
        "resolved": {
            a: (r.cases_resolved, r.resolution_days_total, r.resolution_days_known)
            for a, r in rows.items()
            if r.cases_resolved
        },
        "rolls": {(f, t): n for f, row in rolls.items() for t, n in row.items() if n},
    }
    theirs: dict[str, Any] = {
        "calls": {(a, d): n for a, d, n in calls if a is not None and d is not None},
        "promises": {(a, s): (n, int(m), int(p)) for a, s, n, m, p in promises if a is not None},
        "assigned": dict(assigned),
        "resolved": {a: (n, int(d or 0), k) for a, n, d, k in resolved},
        "rolls": {(f, t): n for f, t, n in duck.rolls},
    }
    for name, expected in theirs.items():
        if mine[name] != expected:
            raise AssertionError(f"{url}: {name} differ from DuckDB's")


def run(
    params: Params, backends: list[str], repeat: int, rebuild: bool, with_portfolio: bool
) -> list[str]:
    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    lines = [
        f"{params.calls:,} calls by {AGENTS} agents over a year (agent report for the whole "
        f"year); {params.accounts:,} accounts × {params.months} month-end snapshots (roll rates "
        f"{ROLL_FROM} → {ROLL_FROM.next()}). Best of {repeat}.",
        "",
        "| store | agent report s | DuckDB s | ratio | roll rates s | DuckDB s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    urls = {b: Cache(b).store(params, rebuild=rebuild, log=log) for b in backends}
    duck_path = duckdb_store(params, urls.get("postgresql") or urls["sqlite"], log)
    db = duckdb.connect(str(duck_path), read_only=True)
    duck = time_duckdb(db, repeat)
    db.close()
    for backend in backends:
        check_same(urls[backend], duck)
    portfolio: dict[str, dict[str, float]] = {}
    for backend in backends:
        agents, rolls, cpu = time_store(urls[backend], repeat)
        lines.append(
            f"| {backend} | {agents:.2f} (CPU {cpu:.2f}) | {duck.agents_seconds:.3f} | {agents / duck.agents_seconds:.2g}× "
            f"| {rolls:.4f} | {duck.rolls_seconds:.3f} | {rolls / duck.rolls_seconds:.2g}× |"
        )
        if with_portfolio:
            portfolio[backend] = time_portfolio(urls[backend])
    if portfolio:
        names = list(next(iter(portfolio.values())))
        lines += [
            "",
            "Other portfolio queries of the dashboard, one run each (s):",
            "",
            f"| store | {' | '.join(names)} |",
            f"|---|{'---:|' * len(names)}",
            *(
                f"| {backend} | {' | '.join(f'{t:.2f}' for t in times.values())} |"
                for backend, times in portfolio.items()
            ),
        ]
    return lines


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5_000_000)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--rebuild", action="store_true", help="load the stores again instead of using the cache"
    )
    parser.add_argument(
        "--portfolio", action="store_true", help="also time cohorts and per product / channel"
    )
    parser.add_argument(
        "--sqlite-from-postgresql",
        action="store_true",
        help="build a missing SQLite store by copying the cached PostgreSQL one",
    )
    parser.add_argument(
        "--duckdb-from-postgresql",
        action="store_true",
        help="with --build-only: build the DuckDB copy from the PostgreSQL store",
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build (or upgrade) the cached stores and stop"
    )
    args = parser.parse_args(argv)
    params = Params(args.calls, args.accounts, args.months)
    if args.build_only:
        if args.duckdb_from_postgresql:
            duckdb_store(params, Cache("postgresql").store(params, rebuild=False, log=print), print)
            return []
        for backend in args.backends:
            Cache(backend).store(
                params, rebuild=args.rebuild, log=print, from_postgresql=args.sqlite_from_postgresql
            )
        return []
    return run(params, args.backends, args.repeat, args.rebuild, args.portfolio)
