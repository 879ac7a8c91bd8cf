"""Import benchmark: N account rows from `duecall seed`, into SQLite and PostgreSQL.

Each import runs in its own process (`duecall import accounts`), so its peak memory is its own.
A first import into an empty store and a re-import of the same file (every row an update) are
both measured. Goal (issue 2): 1,000,000 rows in ≤ 60 s with peak memory ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.common import CACHE, duecall, fresh_database, timed_command

SEED = 3
AS_OF = "2026-11-01"


def portfolio(rows: int) -> Path:
    """The seeded accounts file, generated once and kept in benchmarks/.cache."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"accounts-{rows}-seed{SEED}.csv"
    if not path.exists():
        timed_command(
            duecall(
                "seed",
                "--accounts",
                str(rows),
                "--seed",
                str(SEED),
                "--as-of",
                AS_OF,
                "--out",
                str(path),
            )
        )
    return path


def run(rows: int, backends: list[str]) -> list[str]:
    source = portfolio(rows)
    size_mib = source.stat().st_size / 2**20
    lines = [
        f"Importing {rows:,} accounts ({size_mib:.0f} MiB CSV, `duecall seed --seed {SEED}`):",
        "",
        "| store | run | seconds | rows/s | peak RSS MB | result |",
        "|---|---|---:|---:|---:|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="duecall-bench-") as workdir:
        for backend in backends:
            with fresh_database(backend, Path(workdir)) as url:
                env = {"DUECALL_DATABASE_URL": url}
                timed_command(duecall("db", "upgrade"), env)
                for label in ("first import", "re-import"):
                    result = timed_command(duecall("import", "accounts", str(source)), env)
                    rate = rows / result.seconds
                    lines.append(
                        f"| {backend} | {label} | {result.seconds:.1f} | {rate:,.0f} "
                        f"| {result.peak_rss_mb:.0f} | {result.output} |"
                    )
    return lines


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args(argv)
    return run(args.rows, args.backends)
