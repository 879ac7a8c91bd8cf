"""Password and token guessing is throttled in the store, so the limits hold across replicas
and processes; bearer tokens are kept only as hashes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import String, Text, select

from crm.models import AuthFailure, Role
from duecall.auth import create_user, hash_token
from duecall.clock import FixedClock
from duecall.db import Base, reading
from duecall.deps import TOKEN_FAILURES, TOKEN_WINDOW
from duecall.settings import Settings
from server import create_app
from tests.conftest import ADMIN_TOKEN, NOW, Database
from tests.security.workers import guess
from tests.web.conftest import PASSWORD, SESSION_SECRET, add_user, csrf_of
from web.session import FAILURE_WINDOW, MAX_FAILURES

HERE = ("testclient", 50000)
ELSEWHERE = ("198.51.100.7", 50000)


@pytest.fixture
def replicas(api_settings: Settings, clock: FixedClock) -> Iterator[tuple[FastAPI, FastAPI]]:
    """Two apps on one store, as two `duecall serve` replicas behind a load balancer."""
    settings = api_settings.model_copy(update={"session_secret": SecretStr(SESSION_SECRET)})
    apps = (create_app(settings, clock), create_app(settings, clock))
    yield apps
    for app in apps:
        app.state.context.close()


def log_in(app: FastAPI, name: str, password: str, client: tuple[str, int] = HERE) -> int:
    with TestClient(app, follow_redirects=False, client=client) as http:
        token = csrf_of(http.get("/login").text)
        response = http.post(
            "/login", data={"name": name, "password": password, "csrf_token": token}
        )
    return response.status_code


def test_failed_logins_on_every_replica_count_toward_one_lock(
    replicas: tuple[FastAPI, FastAPI], db: Database, clock: FixedClock
) -> None:
    first, second = replicas
    add_user(db, "qa1", Role.QA)
    assert [log_in(first, "qa1", "wrong password!") for _ in range(3)] == [401] * 3
    assert [log_in(second, "QA1 ", "wrong password!") for _ in range(2)] == [401] * 2
    assert log_in(first, "qa1", PASSWORD) == 429
    assert log_in(second, "qa1", PASSWORD) == 429
    assert log_in(second, "qa1", PASSWORD, client=ELSEWHERE) == 303  # another address
    clock.advance(FAILURE_WINDOW)
    assert log_in(second, "qa1", PASSWORD) == 303
    # A good login starts the count again.
    assert [log_in(first, "qa1", "wrong password!") for _ in range(MAX_FAILURES - 1)] == [401] * 4
    assert log_in(first, "qa1", PASSWORD) == 303
    assert log_in(first, "qa1", "wrong password!") == 401
    assert log_in(first, "qa1", PASSWORD) == 303


def test_processes_guessing_at_once_get_no_more_tries_than_the_limit(db: Database) -> None:
    processes, tries = 4, MAX_FAILURES
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        let_through = pool.starmap(guess, [(db.url, "qa1\x1f10.0.0.1", NOW, tries)] * processes)
    assert sum(let_through) == MAX_FAILURES
    with db.session() as session:
        assert len(session.scalars(select(AuthFailure)).all()) == MAX_FAILURES


def test_refused_tokens_lock_the_address_on_every_replica(
    replicas: tuple[FastAPI, FastAPI], clock: FixedClock
) -> None:
    first, second = replicas

    def get(app: FastAPI, token: str, client: tuple[str, int] = HERE) -> int:
        with TestClient(app, client=client) as http:
            headers = {"Authorization": f"Bearer {token}"}
            return http.get("/api/campaigns", headers=headers).status_code

    half = TOKEN_FAILURES // 2
    assert {get(first, f"guess-{n}") for n in range(half)} == {401}
    assert {get(second, f"guess-{n}") for n in range(half, TOKEN_FAILURES)} == {401}
    assert get(first, ADMIN_TOKEN) == 429  # even a good token: guesses must learn nothing
    with TestClient(second, client=HERE) as http:
        locked = http.get("/api/campaigns", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= TOKEN_WINDOW.total_seconds()
    assert get(second, ADMIN_TOKEN, client=ELSEWHERE) == 200
    clock.advance(TOKEN_WINDOW)
    assert get(first, ADMIN_TOKEN) == 200


def test_a_request_without_a_token_is_not_a_guess(replicas: tuple[FastAPI, FastAPI]) -> None:
    app = replicas[0]
    with TestClient(app, client=HERE) as http:
        assert {http.get("/api/campaigns").status_code for _ in range(TOKEN_FAILURES + 1)} == {401}
        ok = http.get("/api/campaigns", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert ok.status_code == 200


def test_tokens_are_stored_only_as_sha256_and_nothing_stores_what_was_typed(
    replicas: tuple[FastAPI, FastAPI], db: Database
) -> None:
    with db.session() as session, session.begin():
        user, token = create_user(session, name="asha", role=Role.SUPERVISOR, now=NOW)
        assert user.token_hash == hash_token(token) and len(user.token_hash) == 64
    with TestClient(replicas[0], client=ELSEWHERE, follow_redirects=False) as http:
        assert http.get("/api/campaigns", headers={"Authorization": f"Bearer {token}"}).is_success
        http.get("/api/campaigns", headers={"Authorization": "Bearer typed-by-mistake-xyz"})
        csrf = csrf_of(http.get("/login").text)
        http.post("/login", data={"name": "Priya Typed", "password": "x", "csrf_token": csrf})
    texts = []
    with reading(db.engine) as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            for row in conn.execute(select(*columns)) if columns else ():
                texts.extend(str(value) for value in row if value is not None)
    stored = "\n".join(texts)
    for secret in (token, ADMIN_TOKEN, "typed-by-mistake-xyz", "Priya Typed", ELSEWHERE[0]):
        assert secret not in stored
    assert hash_token(token) in stored


def test_old_failures_are_forgotten_by_the_nightly_purge(
    replicas: tuple[FastAPI, FastAPI], clock: FixedClock, db: Database
) -> None:
    from dialer.jobs import purge_expired
    from dialer.telephony import FakeTelephony

    with TestClient(replicas[0], client=HERE) as http:
        http.get("/api/campaigns", headers={"Authorization": "Bearer nope"})
    clock.advance(timedelta(days=2))
    with TestClient(replicas[0], client=HERE) as http:
        http.get("/api/campaigns", headers={"Authorization": "Bearer nope again"})
    purge_expired(replicas[0].state.context, FakeTelephony(), trigger="cli")
    with db.session() as session:
        assert [f.at for f in session.scalars(select(AuthFailure))] == [NOW + timedelta(days=2)]
