"""Logging in and out, the session cookie, CSRF, failed-login throttling and role checks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from crm.models import Role, User
from tests.conftest import NOW, Database
from tests.web.conftest import PASSWORD, add_user, csrf_of, log_in
from web.auth import safe_next
from web.session import MAX_FAILURES, SESSION_COOKIE, locked_until


def test_a_page_without_a_session_sends_the_browser_to_login_and_back(
    app_client: TestClient, db: Database
) -> None:
    response = app_client.get("/?x=1", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/%3Fx%3D1"
    add_user(db, "tc1", Role.AGENT, "tc1")
    page = app_client.get("/login?next=/queue").text
    response = app_client.post(
        "/login",
        data={"name": "tc1", "password": PASSWORD, "csrf_token": csrf_of(page), "next": "/queue"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/queue"


def test_the_session_cookie_is_httponly_and_samesite_lax(
    app_client: TestClient, db: Database
) -> None:
    add_user(db, "qa1", Role.QA)
    page = app_client.get("/login")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    response = app_client.post(
        "/login",
        data={"name": "qa1", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert response.headers["location"] == "/qa"  # the role's landing page
    assert app_client.get("/").headers["location"] == "/qa"


def test_login_without_the_csrf_token_is_refused(app_client: TestClient, db: Database) -> None:
    add_user(db, "qa1", Role.QA)
    app_client.get("/login")
    response = app_client.post("/login", data={"name": "qa1", "password": PASSWORD})
    assert response.status_code == 403
    response = app_client.post(
        "/login", data={"name": "qa1", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert app_client.get("/", headers={"Accept": "text/html"}).status_code == 303


def test_wrong_password_is_refused_and_repeated_failures_lock_the_name(
    app_client: TestClient, db: Database
) -> None:
    add_user(db, "qa1", Role.QA)
    token = csrf_of(app_client.get("/login").text)
    for _ in range(MAX_FAILURES):
        response = app_client.post(
            "/login", data={"name": "qa1", "password": "wrong password!", "csrf_token": token}
        )
        assert response.status_code == 401
        assert "Wrong name or password." in response.text
    response = app_client.post(
        "/login", data={"name": "qa1", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert "Too many failed logins" in response.text


def test_logout_ends_the_session(app_client: TestClient, db: Database) -> None:
    add_user(db, "qa1", Role.QA)
    log_in(app_client, "qa1")
    token = csrf_of(app_client.get("/login").text)
    assert app_client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert app_client.get("/", headers={"Accept": "text/html"}).status_code == 303


def test_a_disabled_user_is_logged_out_at_the_next_request(
    app_client: TestClient, db: Database
) -> None:
    add_user(db, "qa1", Role.QA)
    log_in(app_client, "qa1")
    assert app_client.get("/").status_code == 303
    assert app_client.get("/").headers["location"] == "/qa"
    with db.session() as session, session.begin():
        session.execute(update(User).where(User.name == "qa1").values(disabled_at=NOW))
    response = app_client.get("/", headers={"Accept": "text/html"})
    assert response.headers["location"].startswith("/login")


def test_a_user_without_a_screen_password_cannot_log_in(
    app_client: TestClient, db: Database
) -> None:
    from duecall.auth import create_user

    with db.session() as session, session.begin():
        create_user(session, name="api-only", role=Role.ADMIN, now=NOW)
    token = csrf_of(app_client.get("/login").text)
    response = app_client.post(
        "/login", data={"name": "api-only", "password": "", "csrf_token": token}
    )
    assert response.status_code in (401, 422)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/queue", "/queue"),
        ("/accounts/A1?x=1", "/accounts/A1?x=1"),
        ("//evil.example/x", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("", None),
        (None, None),
    ],
)
def test_only_local_paths_are_followed_after_login(value: str | None, expected: str | None) -> None:
    assert safe_next(value) == expected


@pytest.mark.parametrize(
    ("ages_minutes", "locked_for_minutes"),
    [
        ([], None),
        ([1, 2, 3, 4], None),
        ([1, 2, 3, 4, 5], 10),  # the oldest of the last five ages out 15 minutes after it
        ([20, 1, 2, 3, 4], None),  # one failure is older than the window
        ([14, 13, 12, 11, 10, 1], 2),
    ],
)
def test_locked_until(ages_minutes: list[int], locked_for_minutes: int | None) -> None:
    failures = sorted(NOW - timedelta(minutes=m) for m in ages_minutes)
    expected = None if locked_for_minutes is None else NOW + timedelta(minutes=locked_for_minutes)
    assert locked_until(failures, NOW) == expected
