"""SQL expressions the reports share, written once for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Date, Integer, String, cast, func
from sqlalchemy.orm import Session


def connection_of(conn_or_session: Connection | Session) -> Connection:
    if isinstance(conn_or_session, Session):
        return conn_or_session.connection()
    return conn_or_session


def days_between(conn: Connection, later: Any, earlier: Any) -> ColumnElement[int]:
    """Whole days from the date (or the UTC date of the instant) `earlier` to the date `later`."""
    if conn.dialect.name == "sqlite":
        return cast(func.julianday(later) - func.julianday(func.date(earlier)), Integer)
    return cast(later - cast(earlier, Date), Integer)


def date_text(conn: Connection, day: ColumnElement[Any]) -> ColumnElement[str]:
    """A date column as 'YYYY-MM-DD' text."""
    if conn.dialect.name == "sqlite":
        return cast(day, String)  # SQLite stores dates as ISO text already
    return func.to_char(day, "YYYY-MM-DD")
