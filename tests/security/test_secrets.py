"""Secrets never reach a log record: a working day's requests and commands with every secret set,
every logger captured at DEBUG, and not one record (message, arguments, exception, extras)
carries a secret."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import make_url, select

from crm.models import Call, Recording, Role
from dialer.calls import TERMINAL
from dialer.simulator import SimulatorConfig, SimulatorServer, start_simulator
from duecall.auth import create_user
from duecall.clock import FixedClock
from duecall.live import free_socket, serving
from duecall.settings import Settings
from server import create_app
from tests.conftest import NOW, Database
from tests.factories import add_account
from tests.web.conftest import PASSWORD, add_user, csrf_of

SECRETS = {
    "DUECALL_ADMIN_TOKEN": "admin-secret-4f1c9e2b7a",
    "TWILIO_AUTH_TOKEN": "twilio-secret-8d3a6b1f0c",
    "OPENAI_API_KEY": "sk-openai-secret-2e7f9a4c1b",
    "DUECALL_SESSION_SECRET": "session-secret-0123456789abcdef-5b8e",
    "DUECALL_METRICS_TOKEN": "metrics-secret-6c2d8f0a3e",
}
DB_PASSWORD = "db-secret-9a7c5e3b1d"
ACCOUNT_SID = "AC" + "e" * 32
PHONE = "+919845012345"


def secret_values(db: Database) -> list[str]:
    values = list(SECRETS.values())
    return [*values, DB_PASSWORD] if db.backend == "postgresql" else values


def url_with_password(db: Database) -> str:
    """The test database's URL, with a password where the backend has one (trust auth ignores it)."""
    if db.backend != "postgresql":
        return db.url
    return make_url(db.url).set(password=DB_PASSWORD).render_as_string(hide_password=False)


def leaks(records: list[logging.LogRecord], secrets: list[str]) -> list[str]:
    found = []
    for record in records:
        parts = [record.getMessage(), repr(record.args), record.exc_text or ""]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(repr(record.exc_info[1]))
        parts.extend(repr(value) for value in vars(record).values())
        text = "\n".join(parts)
        found.extend(f"{record.name}: {secret[:8]}…" for secret in secrets if secret in text)
    return found


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    server = start_simulator(
        SimulatorConfig(
            account_sid=ACCOUNT_SID,
            auth_token=SecretStr(SECRETS["TWILIO_AUTH_TOKEN"]),
            speed=600,
            seed=4,
            start=NOW,
        )
    )
    yield server
    server.stop()


def test_a_day_of_requests_logs_no_secret(
    db: Database,
    simulator: SimulatorServer,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    add_user(db, "qa1", Role.QA)
    with db.session() as session, session.begin():
        add_account(session, "A1234", phones=(PHONE,), borrower_name="Priya Sharma")
        _user, agent_token = create_user(session, name="tc9", role=Role.AGENT, now=NOW)
    httpx.post(
        f"{simulator.base_url}/_sim/directory",
        json=[{"number": PHONE, "persona": "payer", "name": "Priya Sharma", "loan_last4": "1234"}],
    ).raise_for_status()
    sock = free_socket()
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        DUECALL_DATABASE_URL=url_with_password(db),
        DUECALL_SCHEDULER="off",
        DUECALL_TELEPHONY="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_FROM_NUMBER="+918045678901",
        DUECALL_TWILIO_API_BASE_URL=simulator.base_url,
        DUECALL_PUBLIC_BASE_URL=public,
        DUECALL_LOG_LEVEL="DEBUG",
        **SECRETS,
    )
    app = create_app(settings, clock)
    admin = {"Authorization": f"Bearer {SECRETS['DUECALL_ADMIN_TOKEN']}"}
    with serving(app, sock), httpx.Client(base_url=public, follow_redirects=False) as http:
        placed = http.post("/api/calls", json={"account_id": "A1234", "mode": "bot"}, headers=admin)
        assert placed.status_code == 201, placed.text
        call_id = placed.json()["call_id"]
        deadline = time.monotonic() + 60
        while True:
            with db.session() as session:
                call = session.get_one(Call, call_id)
                recording = session.scalar(select(Recording).where(Recording.call_id == call_id))
            if call.status in TERMINAL and recording is not None:
                break
            assert time.monotonic() < deadline, call.status
            time.sleep(0.05)
        assert http.get(f"/api/calls/{call_id}", headers=admin).status_code == 200
        assert (
            http.get("/api/campaigns", headers={"Authorization": "Bearer wrong"}).status_code == 401
        )
        assert (
            http.get(
                "/api/campaigns", headers={"Authorization": f"Bearer {agent_token}"}
            ).status_code
            == 403
        )
        metrics = {"Authorization": f"Bearer {SECRETS['DUECALL_METRICS_TOKEN']}"}
        assert http.get("/metrics", headers=metrics).status_code == 200
        csrf = csrf_of(http.get("/login").text)
        http.post("/login", data={"name": "qa1", "password": "not it", "csrf_token": csrf})
        logged_in = http.post(
            "/login", data={"name": "qa1", "password": PASSWORD, "csrf_token": csrf}
        )
        assert logged_in.status_code == 303
        audio = http.get(f"/recordings/{recording.id}")
        assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
        unsigned = http.post(f"/twilio/status/{call_id}", data={"CallSid": "CA" + "0" * 32})
        assert unsigned.status_code == 403
    app.state.context.close()
    records = caplog.records
    assert len(records) > 20  # the day was logged: DEBUG from the SDK, uvicorn, the simulator
    assert leaks(records, [*secret_values(db), PASSWORD]) == []


def test_commands_log_and_print_no_secret(
    db: Database, cli: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env = {**SECRETS, "DUECALL_DATABASE_URL": url_with_password(db), "DUECALL_LOG_LEVEL": "DEBUG"}
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"at": "2026-03-02T10:15:00+05:30", "phone": PHONE, "account": {}}))
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "account_id,borrower_id,borrower_name,phone,overdue_amount,dpd\nX,B,Priya,bad,1,1\n"
    )
    outcomes = [
        cli("users", "add", "ravi", "--role", "supervisor", **env),
        cli("compliance", "check", str(case), **env),
        cli("import", "accounts", str(accounts), **env),
        cli("import", "accounts", str(tmp_path / "missing.csv"), **env),
        cli("purge", "--dry-run", **env),
        cli("dial", "--once", **env),
        cli("report", "agents", **env),
    ]
    unreachable = (
        make_url(url_with_password(db)).set(database="no_such_database_here")
        if db.backend == "postgresql"
        else make_url(db.url).set(database=str(tmp_path / "nowhere" / "x.db"))
    )
    outcomes.append(
        cli(
            "dial",
            "--once",
            **{**env, "DUECALL_DATABASE_URL": unreachable.render_as_string(hide_password=False)},
        )
    )
    assert [o.code for o in outcomes][:3] == [0, 0, 0]
    assert outcomes[3].code == 2 and outcomes[-1].code == 2
    assert "the database cannot be used" in outcomes[-1].err
    printed = "\n".join(o.out + o.err for o in outcomes)
    assert [s for s in secret_values(db) if s in printed] == []
    assert leaks(caplog.records, secret_values(db)) == []
