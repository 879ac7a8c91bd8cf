"""/readyz: ready only with the database reachable, the schema at head, the scheduler running
(when on) and the server not shutting down; each check says what it found."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.db import head_revision
from duecall.settings import Settings
from server import create_app, readiness
from tests.conftest import NOW, Database


@pytest.fixture
def client(api_settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, clock)) as client:
        yield client


def test_ready(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "drain": "ok"},
    }


def test_not_ready_while_draining(client: TestClient) -> None:
    context: AppContext = client.app.state.context  # type: ignore[attr-defined]
    context.drain.begin(at=NOW, timeout=60)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["drain"] == "draining"
    assert response.json()["status"] == "unavailable"


def test_not_ready_when_the_schema_is_behind_the_code(client: TestClient, db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    try:
        response = client.get("/readyz")
    finally:
        with db.engine.begin() as conn:
            conn.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": head_revision()}
            )
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == f"at 0005, code needs {head_revision()}"


def test_not_ready_when_the_database_is_unreachable() -> None:
    settings = Settings(DUECALL_DATABASE_URL="postgresql://duecall@127.0.0.1:9/nowhere")
    context = AppContext.from_settings(settings)
    try:
        ready, checks = readiness(context, None)
    finally:
        context.close()
    assert not ready
    assert checks["database"] == "unreachable (OperationalError)"
    assert "migrations" not in checks


def test_the_scheduler_is_checked_when_it_is_on(api_settings: Settings, clock: FixedClock) -> None:
    settings = api_settings.model_copy(update={"scheduler": "on"})
    with TestClient(create_app(settings, clock)) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["scheduler"] == "ok"
