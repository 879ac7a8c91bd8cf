"""The CRM store's engine, sessions, column types and migration state."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    cast,
    create_engine,
    event,
    func,
    literal,
    or_,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeDecorator

import migrations
from duecall.errors import DatabaseNotMigrated

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_PAISE = Decimal("0.01")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """A mapped class's Core table, for set-based SQL (typed as a Table, which it is)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Money(TypeDecorator[Decimal]):
    """Rupees as `Decimal` in Python, stored exactly as integer paise in the database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int((Decimal(value) * 100).to_integral_value(rounding=ROUND_HALF_UP))

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(_PAISE)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware instants, stored as naive UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def is_sqlite(url_or_engine: str | Engine | Connection) -> bool:
    if isinstance(url_or_engine, str):
        return url_or_engine.startswith("sqlite")
    return url_or_engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and write-safe BEGINs.

    Statement parameters are kept out of error messages and SQL logs: they hold borrowers'
    names and phone numbers, and an exception's text ends up in a log line.
    """
    kwargs.setdefault("hide_parameters", True)
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, **kwargs)
    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # pysqlite's own transaction handling is turned off so that BEGIN is ours (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # SQLite's default page cache is 2 MB: a transaction writing a thousand rows into a
        # large table's indexes (a dialer's claim) spills and rereads pages beyond that.
        cursor.execute("PRAGMA cache_size=-65536")  # KiB: up to 64 MiB, allocated as used
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes fails with SQLITE_BUSY when another
        # writer got in between; taking the write lock at BEGIN makes concurrent writers queue.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def bulk_insert(
    conn: Connection, table: str, rows: Sequence[tuple[Any, ...]], columns: Sequence[str] = ()
) -> None:
    """Insert plain tuples fast: COPY on PostgreSQL, executemany on SQLite.

    Values are as the columns store them: integer paise for money, naive UTC datetimes for
    instants (see Money and UTCDateTime).
    """
    if not rows:
        return
    target = f"{table} ({', '.join(columns)})" if columns else table
    dbapi: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with dbapi.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(rows[0]))
    dbapi.executemany(
        f"INSERT INTO {target} VALUES ({marks})", [tuple(map(_sqlite_value, r)) for r in rows]
    )


def insert_for(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL alike)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def upsert_from(
    conn: Connection,
    table: Table,
    query: Select[Any] | Select[Any, Any],
    columns: Sequence[str],
    conflict: Sequence[str],
    update_columns: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> None:
    """INSERT … SELECT … ON CONFLICT DO UPDATE (or DO NOTHING) on SQLite and PostgreSQL alike.

    A conflicting row is only rewritten when one of `update_columns` changes, so re-importing
    an unchanged file costs index lookups, not new row versions.
    """
    # SQLite needs a WHERE in an INSERT … SELECT … ON CONFLICT to parse it unambiguously.
    statement = insert_for(conn, table).from_select(list(columns), query.where(true()))
    if not (update_columns or overrides):
        conn.execute(statement.on_conflict_do_nothing(index_elements=list(conflict)))
        return
    values = {c: statement.excluded[c] for c in update_columns}
    values.update(overrides or {})
    changed = or_(*(table.c[c].is_distinct_from(statement.excluded[c]) for c in update_columns))
    conn.execute(
        statement.on_conflict_do_update(index_elements=list(conflict), set_=values, where=changed)
    )


def days_since(conn: Connection, day: ColumnElement[Any], today: date) -> ColumnElement[int]:
    """Whole days from the date column `day` to `today`, on either backend."""
    if conn.dialect.name == "sqlite":
        return cast(func.julianday(today.isoformat()) - func.julianday(day), Integer)
    return cast(literal(today, Date) - day, Integer)


def add_days(conn: Connection, day: ColumnElement[Any], days: int) -> ColumnElement[Any]:
    """The date column `day` plus `days`, on either backend."""
    if conn.dialect.name == "sqlite":
        return func.date(day, f"+{days} days")
    return cast(day + days, Date)


def _sqlite_value(value: Any) -> Any:
    """Values in the text forms SQLAlchemy's SQLite Date and DateTime types read back."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only. On SQLite its transactions do not take the write lock; on
    PostgreSQL each statement runs on its own (autocommit), which spares the BEGIN and ROLLBACK
    round trips: at READ COMMITTED a transaction would not give the statements one snapshot."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            yield conn.execution_options(sqlite_begin="DEFERRED")
        else:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def read_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only; on SQLite its transaction does not take the write lock."""
    with factory() as session:
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        yield session


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed at the end of the block, or rolled back on error."""
    with factory() as session, session.begin():
        yield session


# --- migrations --------------------------------------------------------------------------

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "migrations/versions is empty"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_migrated(engine: Engine) -> None:
    """Refuse to run on a store whose schema is not at the code's head revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no duecall schema" if current is None else f"is at revision {current}"
        raise DatabaseNotMigrated(
            f"the database {engine.url.render_as_string(hide_password=True)} {state}, "
            f"this duecall needs {head}: run `duecall db upgrade`"
        )
