"""Shared fixtures: a migrated database per backend (SQLite always, PostgreSQL when
DUECALL_TEST_POSTGRES_URL is set), emptied after every test, and a fixed clock."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from agent.llm.standin import StandIn
from duecall.cli import main as cli_main
from duecall.clock import FixedClock
from duecall.db import Base, make_engine, make_sessionmaker, upgrade
from duecall.settings import Settings, normalize_database_url

POSTGRES_URL = os.environ.get("DUECALL_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
# Reference data the migrations seed; never emptied between tests.
KEPT_TABLES = {"dispositions", "alembic_version"}
# Rows the migrations seed into tables that tests empty: put back after every test.
SEEDED_ROWS = (
    "INSERT INTO agents (agent_id, name, kind, active) VALUES ('BOT', 'duecall bot', 'bot', true)"
)
# 10:00 on a Monday in Mumbai.
NOW = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)


def fresh_database_url(backend: str, tmp_dir: Path) -> Iterator[str]:
    """A new, empty database of `backend`; dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir / f'duecall-{uuid.uuid4().hex[:8]}.db'}"
        return
    assert POSTGRES_URL is not None
    admin_url = make_url(normalize_database_url(POSTGRES_URL))
    name = f"duecall_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of each backend, migrated to head once per test session."""
    for url in fresh_database_url(request.param, tmp_path_factory.mktemp("db")):
        upgrade(url)
        yield url


@dataclass
class Database:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessions()


@pytest.fixture
def db(migrated_url: str) -> Iterator[Database]:
    """The migrated database, emptied of everything the test wrote."""
    engine = make_engine(migrated_url)
    yield Database(migrated_url, engine, make_sessionmaker(engine))
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in KEPT_TABLES]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text(SEEDED_ROWS))
    engine.dispose()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with db.session() as session:
        yield session


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(scope="session")
def standin_server() -> Iterator[tuple[StandIn, str]]:
    """The OpenAI-compatible stand-in (agent.llm.standin), served once: (it, OPENAI_BASE_URL)."""
    standin = StandIn()
    with standin.serve() as url:
        yield standin, url


@pytest.fixture
def standin(standin_server: tuple[StandIn, str]) -> Iterator[StandIn]:
    """The stand-in with nothing scripted and nothing seen; each test scripts its answers."""
    server, _url = standin_server
    server.clear()
    yield server
    server.clear()


ADMIN_TOKEN = "admin-token-for-tests-0123456789"


@pytest.fixture
def api_settings(db: Database) -> Settings:
    """Settings for an app under test: its database, an admin token, no background jobs."""
    return Settings(
        DUECALL_DATABASE_URL=db.url, DUECALL_ADMIN_TOKEN=ADMIN_TOKEN, DUECALL_SCHEDULER="off"
    )


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # away from any developer's .env

    def run(*args: str, **env: str) -> Outcome:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(sys, "argv", ["duecall", *args])
        try:
            cli_main()
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run
