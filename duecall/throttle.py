"""Throttles for password and token guessing, counted in the database so they hold across replicas.

A throttle counts events per key (a screen login: the name and the client address; a bearer
token: the client address) in `auth_failures`, keyed by a SHA-256 digest. With `limit` events
inside `window`, the key is locked until the oldest of those events leaves the window.

Screen logins take their attempt *before* the password is checked (`attempt`), in a transaction
that serialises attempts on the key (PostgreSQL: an advisory lock on the key; SQLite: the write
lock every transaction takes at BEGIN), so replicas cannot let through more than `limit`
guesses between them; a good password then clears the key. Bearer tokens are checked on every
API request, so only refusals are written (`failed`); concurrent refusals may overshoot the
limit by the number of requests in flight, which matters little for 256-bit tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select

from crm.models import AuthFailure
from duecall.db import reading


def locked_until(
    failures: Sequence[datetime], now: datetime, *, limit: int, window: timedelta
) -> datetime | None:
    """When the key may be tried again after `failures` (oldest first), or None if it may now."""
    recent = [at for at in failures if at > now - window]
    if len(recent) < limit:
        return None
    return recent[-limit] + window


def key_digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Throttle:
    """At most `limit` events per key within `window` (see the module docstring)."""

    engine: Engine
    scope: str
    limit: int
    window: timedelta

    def locked_until(self, key: str, now: datetime) -> datetime | None:
        """When `key` may be tried again, or None when it may be now (reads only)."""
        with reading(self.engine) as conn:
            return self._until(conn, key, now)

    def attempt(self, key: str, now: datetime) -> datetime | None:
        """Take an attempt for `key` and count it: None when it may go ahead, else until when the
        key is locked (and nothing is counted). Serialised per key across processes."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_lock_id(self.scope, key))))
            until = self._until(conn, key, now)
            if until is None:
                self._add(conn, key, now)
            return until

    def failed(self, key: str, now: datetime) -> None:
        """Count a refusal for `key`."""
        with self.engine.begin() as conn:
            self._add(conn, key, now)

    def succeeded(self, key: str) -> None:
        """`key` proved itself: its count starts again."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(AuthFailure).where(
                    AuthFailure.scope == self.scope, AuthFailure.key_hash == key_digest(key)
                )
            )

    def _until(self, conn: Connection, key: str, now: datetime) -> datetime | None:
        recent = conn.scalars(
            select(AuthFailure.at)
            .where(
                AuthFailure.scope == self.scope,
                AuthFailure.key_hash == key_digest(key),
                AuthFailure.at > now - self.window,
            )
            .order_by(AuthFailure.at.desc())
            .limit(self.limit)
        )
        return locked_until(sorted(recent), now, limit=self.limit, window=self.window)

    def _add(self, conn: Connection, key: str, now: datetime) -> None:
        conn.execute(insert(AuthFailure).values(scope=self.scope, key_hash=key_digest(key), at=now))


def forget_before(conn: Connection, before: datetime) -> int:
    """Drop events older than `before` (every throttle's window has passed them)."""
    return conn.execute(delete(AuthFailure).where(AuthFailure.at < before)).rowcount


def _lock_id(scope: str, key: str) -> int:
    """A signed 64-bit advisory-lock id for the key."""
    digest = hashlib.sha256(f"{scope}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
