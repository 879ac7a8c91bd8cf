"""What every benchmark needs: the machine, fresh databases, timing a child process."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from duecall.db import MIGRATIONS_DIR
from duecall.settings import normalize_database_url

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
# Large benchmark stores built once and copied for each run (see cached_store).
STORE_CACHE_DIR = Path(
    os.environ.get("DUECALL_BENCH_STORE_DIR", Path(tempfile.gettempdir()) / "duecall-bench-stores")
)
STORE_CACHE_PREFIX = os.environ.get("DUECALL_BENCH_STORE_PREFIX", "duecall_store")
POSTGRES_URL = os.environ.get(
    "DUECALL_BENCH_POSTGRES_URL",
    os.environ.get("DUECALL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            ln.split(":", 1)[1].strip()
            for ln in cpuinfo.read_text().splitlines()
            if ln.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with _postgres_admin() as admin, admin.connect() as conn:
        postgres = conn.execute(text("SHOW server_version")).scalar()
    versions = f"SQLite {sqlite3.sqlite_version}, PostgreSQL {postgres}"
    return (
        f"{date.today()}, {cpu}, {os.cpu_count()} cores, {memory_gib:.0f} GiB RAM, "
        f"Python {platform.python_version()}, {versions}"
    )


@contextmanager
def _postgres_admin() -> Iterator[object]:
    engine = create_engine(
        make_url(normalize_database_url(POSTGRES_URL)), isolation_level="AUTOCOMMIT"
    )
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[str]:
    """An empty database URL of `backend`, dropped afterwards."""
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        for leftover in workdir.glob(path.name + "*"):
            leftover.unlink()
        return
    admin_url = make_url(normalize_database_url(POSTGRES_URL))
    name = f"duecall_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float
    output: str


def timed_command(args: list[str], env: dict[str, str] | None = None) -> Run:
    """Run a command in a child process: wall time and that child's own peak resident memory."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        environment = {**os.environ, **(env or {})}
        child = subprocess.Popen(args, env=environment, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)  # reaps it with its own resource usage
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{err.read()}")
        return Run(seconds, usage.ru_maxrss / 1024, out.read().strip())


def duecall(*args: str) -> list[str]:
    return [sys.executable, "-m", "duecall.cli", *args]


def migration_hashes() -> dict[str, str]:
    """Each migration file's name and the hash of its text."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    }


def store_key(parts: Sequence[object], sources: Sequence[Path]) -> str:
    """What a cached store's data depends on: the generator's code and its parameters.

    The migrations are not in it: `cached_store` upgrades a kept store to today's head.
    """
    digest = hashlib.sha256()
    for path in sources:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    for part in parts:
        digest.update(repr(part).encode())
    return digest.hexdigest()[:12]


@contextmanager
def cached_store(
    backend: str,
    workdir: Path,
    label: str,
    key: str,
    build: Callable[[str], None],
    *,
    rebuild: bool = False,
) -> Iterator[str]:
    """A fresh copy of the store `build(url)` makes, built once per `key` and kept.

    SQLite: the built file is kept in STORE_CACHE_DIR and copied for each run. PostgreSQL: the
    built database is kept as `<prefix>_<label>_<key>` and each run gets `CREATE DATABASE …
    TEMPLATE` of it. A store is kept only once its build finished; stores of the same label
    under another key (another generator or sizes) are deleted when a new one is built.
    Beside each kept store, `<name>.<backend>.json` lists the migrations it holds: when
    migrations were only added since, the kept store is upgraded to the head (as a deployed
    database would be) and analysed; when one it holds changed or went away, it is rebuilt.
    """
    name = f"{STORE_CACHE_PREFIX}_{label}_{key}"
    STORE_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    meta = STORE_CACHE_DIR / f"{name}.{backend}.json"
    migrations = migration_hashes()
    held: dict[str, str] | None = json.loads(meta.read_text()) if meta.exists() else None
    if held is not None and any(migrations.get(n) != sha for n, sha in held.items()):
        held = None  # a migration it holds changed or went away
    if backend == "sqlite":
        kept = STORE_CACHE_DIR / f"{name}.db"
        if rebuild or held is None or not kept.exists():
            for pattern in ("*.db", "*.building*", "*.sqlite.json"):
                for stale in STORE_CACHE_DIR.glob(f"{STORE_CACHE_PREFIX}_{label}_{pattern}"):
                    stale.unlink()
            building = STORE_CACHE_DIR / f"{name}.building"
            build(f"sqlite:///{building}")
            _self_contained(building)
            building.replace(kept)
        elif held != migrations:
            _upgrade_kept(f"sqlite:///{kept}")
            _self_contained(kept)
        meta.write_text(json.dumps(migrations, indent=1, sort_keys=True))
        copy = workdir / f"{name}-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(kept, copy)
        try:
            yield f"sqlite:///{copy}"
        finally:
            for leftover in workdir.glob(copy.name + "*"):
                leftover.unlink()
        return
    admin_url = make_url(normalize_database_url(POSTGRES_URL))
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if rebuild or held is None or exists is None:
                stale = conn.execute(
                    text("SELECT datname FROM pg_database WHERE datname LIKE :pattern"),
                    {"pattern": f"{STORE_CACHE_PREFIX}\\_{label}\\_%"},
                ).scalars()
                for old in list(stale):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)'))
                    (STORE_CACHE_DIR / f"{old}.postgresql.json").unlink(missing_ok=True)
                building = f"{name}_building"
                conn.execute(text(f'CREATE DATABASE "{building}"'))
                build(admin_url.set(database=building).render_as_string(hide_password=False))
                conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
            elif held != migrations:
                _upgrade_kept(admin_url.set(database=name).render_as_string(hide_password=False))
            meta.write_text(json.dumps(migrations, indent=1, sort_keys=True))
            run = f"{STORE_CACHE_PREFIX}_run_{uuid.uuid4().hex[:10]}"
            conn.execute(text(f'CREATE DATABASE "{run}" TEMPLATE "{name}"'))
        try:
            yield admin_url.set(database=run).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)'))
    finally:
        engine.dispose()


def _self_contained(path: Path) -> None:
    """One SQLite file with no write-ahead log beside it, safe to rename and copy."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")


def _upgrade_kept(url: str) -> None:
    """Bring a kept store to the migrations' head, with fresh planner statistics."""
    timed_command(duecall("db", "upgrade"), {"DUECALL_DATABASE_URL": url})
    engine = create_engine(normalize_database_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE"))
    finally:
        engine.dispose()
