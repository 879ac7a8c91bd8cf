"""Migrations build exactly the models' schema on every backend, and go down again."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from duecall.db import Base, alembic_config, head_revision, make_engine, require_migrated, upgrade
from duecall.errors import DatabaseNotMigrated
from duecall.settings import Settings
from server import create_app
from tests.conftest import BACKENDS, fresh_database_url


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(request.param, tmp_path)


def test_upgrade_builds_the_models_schema(empty_url: str) -> None:
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_downgrade_removes_everything_and_upgrade_restores_it(empty_url: str) -> None:
    upgrade(empty_url)
    command.downgrade(alembic_config(empty_url), "base")
    engine = make_engine(empty_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_url)
    require_migrated(engine)
    engine.dispose()


def test_unmigrated_database_is_refused_with_what_to_run(empty_url: str) -> None:
    engine = make_engine(empty_url)
    with pytest.raises(
        DatabaseNotMigrated, match=r"has no duecall schema.*run `duecall db upgrade`"
    ):
        require_migrated(engine)
    with pytest.raises(DatabaseNotMigrated, match=head_revision()):
        create_app(Settings(DUECALL_DATABASE_URL=empty_url))
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
