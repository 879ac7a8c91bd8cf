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
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from analytics.agents import LENDER_ZONE, agents_report
from analytics.generate import AgentProfile, write_calls, write_portfolio, write_snapshots
from analytics.periods import local_midnight
from analytics.portfolio import Month, roll_rates
from benchmarks.common import fresh_database
from duecall.db import make_engine, upgrade

YEAR_START, YEAR_END = date(2025, 11, 1), date(2026, 10, 31)
TODAY = date(2026, 11, 1)
LAST_MONTH_END = date(2026, 10, 31)
ROLL_FROM = Month(2026, 9)
AGENTS = 200


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
    # Statistics and the visibility map, as autovacuum would leave them after a bulk load.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE")
    engine.dispose()


def time_store(url: str, repeat: int) -> tuple[float, float]:
    engine = make_engine(url)
    with engine.connect() as conn:
        agents = best(repeat, lambda: agents_report(conn, start=YEAR_START, end=YEAR_END))
        rolls = best(repeat, lambda: roll_rates(conn, from_month=ROLL_FROM))
    engine.dispose()
    return agents, rolls


def duckdb_from_sqlite(sqlite_path: str, workdir: Path) -> duckdb.DuckDBPyConnection:
    """The same rows in DuckDB: each table exported to CSV from SQLite and read back."""
    db = duckdb.connect()
    source = sqlite3.connect(sqlite_path)
    for table, columns, types in (
        ("calls", "call_id, agent_id, disposition, started_at",
         "call_id VARCHAR, agent_id VARCHAR, disposition VARCHAR, started_at TIMESTAMP"),
        ("promises", "call_id, promised_on, status, amount, paid_amount",
         "call_id VARCHAR, promised_on DATE, status VARCHAR, amount BIGINT, paid_amount BIGINT"),
        ("snapshots", "account_id, as_of, bucket",
         "account_id VARCHAR, as_of DATE, bucket VARCHAR"),
    ):  # fmt: skip
        path = workdir / f"{table}.csv"
        with path.open("w", newline="") as out:
            csv.writer(out).writerows(source.execute(f"SELECT {columns} FROM {table}"))
        db.execute(f"CREATE TABLE {table} ({types})")
        db.execute(f"INSERT INTO {table} SELECT * FROM read_csv('{path}', header=false)")
        path.unlink()
    source.close()
    return db


def time_duckdb(db: duckdb.DuckDBPyConnection, repeat: int) -> tuple[float, float]:
    start = local_midnight(YEAR_START, LENDER_ZONE).replace(tzinfo=None)
    end = local_midnight(date(2026, 11, 1), LENDER_ZONE).replace(tzinfo=None)
    agents_sql = """
        SELECT agent_id, disposition, count(*) FROM calls
        WHERE started_at >= ? AND started_at < ? GROUP BY ALL
    """
    promises_sql = """
        SELECT c.agent_id, p.status, count(*), sum(p.amount), sum(coalesce(p.paid_amount, 0))
        FROM promises p JOIN calls c USING (call_id)
        WHERE p.promised_on BETWEEN ? AND ? GROUP BY ALL
    """

    def agents() -> None:
        db.execute(agents_sql, [start, end]).fetchall()
        db.execute(promises_sql, [YEAR_START, YEAR_END]).fetchall()

    first, boundary, stop = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
    rolls_sql = """
        SELECT f, t, count(*) FROM (
            SELECT arg_max(bucket, as_of) FILTER (WHERE as_of < ?) AS f,
                   arg_max(bucket, as_of) FILTER (WHERE as_of >= ?) AS t
            FROM snapshots WHERE as_of >= ? AND as_of < ? GROUP BY account_id
        ) WHERE f IS NOT NULL AND t IS NOT NULL GROUP BY ALL
    """
    return best(repeat, agents), best(
        repeat, lambda: db.execute(rolls_sql, [boundary, boundary, first, stop]).fetchall()
    )


def run(calls: int, accounts: int, months: int, backends: list[str], repeat: int) -> list[str]:
    lines = [
        f"{calls:,} calls by {AGENTS} agents over a year (agent report for the whole year); "
        f"{accounts:,} accounts × {months} month-end snapshots (roll rates "
        f"{ROLL_FROM} → {ROLL_FROM.next()}). Best of {repeat}.",
        "",
        "| store | agent report s | DuckDB s | ratio | roll rates s | DuckDB s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="duecall-bench-") as tmp:
        workdir = Path(tmp)
        duck: tuple[float, float] | None = None
        results: list[tuple[str, float, float]] = []
        for backend in ["sqlite", *(b for b in backends if b != "sqlite")]:
            with fresh_database(backend, workdir) as url:
                load(url, calls, accounts, months)
                if backend == "sqlite":
                    db = duckdb_from_sqlite(url.removeprefix("sqlite:///"), workdir)
                    duck = time_duckdb(db, repeat)
                    db.close()
                if backend in backends:
                    results.append((backend, *time_store(url, repeat)))
        assert duck is not None
        for backend, agents, rolls in results:
            lines.append(
                f"| {backend} | {agents:.2f} | {duck[0]:.3f} | {agents / duck[0]:.0f}× "
                f"| {rolls:.2f} | {duck[1]:.3f} | {rolls / duck[1]:.0f}× |"
            )
    return lines


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5_000_000)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args(argv)
    return run(args.calls, args.accounts, args.months, args.backends, args.repeat)
