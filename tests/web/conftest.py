"""Screens under test: an app on the test database, users with passwords, logged-in clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from crm.models import Role
from duecall.auth import create_user
from duecall.clock import FixedClock
from duecall.settings import Settings
from server import create_app
from tests.conftest import NOW, Database
from web.users import set_password

PASSWORD = "correct horse battery"
SESSION_SECRET = "session-secret-for-tests-0123456789abcdef"


@pytest.fixture
def screen_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"session_secret": SecretStr(SESSION_SECRET)})


@pytest.fixture
def app_client(screen_settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(screen_settings, clock), follow_redirects=False) as client:
        yield client


def add_user(db: Database, name: str, role: Role, agent_id: str | None = None) -> None:
    with db.session() as session, session.begin():
        create_user(session, name=name, role=role, now=NOW, agent_id=agent_id)
        set_password(session, name=name, password=PASSWORD, now=NOW)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no CSRF field"
    return match.group(1)


def log_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token, "next": ""}
    )
    assert response.status_code == 303, response.text
    return client


LoggedIn = Callable[[str, Role], TestClient]


@pytest.fixture
def logged_in(db: Database, screen_settings: Settings, clock: FixedClock) -> Iterator[LoggedIn]:
    """A client logged in as a new user of `role` (agents get an agent id equal to the name)."""
    clients: list[TestClient] = []
    app = create_app(screen_settings, clock)

    def make(name: str, role: Role) -> TestClient:
        add_user(db, name, role, agent_id=name if role is Role.AGENT else None)
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return log_in(client, name)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
