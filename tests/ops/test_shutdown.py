"""Graceful shutdown of a real `duecall serve` process dialling through the Twilio simulator.

SIGTERM while calls are live: the server places no more calls (the rest of the portfolio stays
unrung, requests for calls get 503, /readyz says draining), keeps answering the live calls'
webhooks until each call has ended and its recording has come, then exits with status 0. With
a short DUECALL_DRAIN_TIMEOUT it exits when the timeout passes, calls or no calls.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from crm.models import Account, Call, Role
from dialer.calls import TERMINAL
from dialer.jobs import refresh_queues
from dialer.models import DialQueueEntry
from dialer.simulator import SimulatorConfig, SimulatorServer, start_simulator
from duecall.auth import create_user
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.settings import Settings
from tests.conftest import NOW, Database
from tests.dialer.conftest import add_accounts, add_campaign

ACCOUNT_SID = "AC" + "6" * 32
AUTH_TOKEN = "shutdown-test-auth-token-0123"
CALLER_ID = "+918045678901"
LIVE_AT_SIGNAL = 3  # due at the start: these calls are live when SIGTERM comes
PORTFOLIO = 6  # the rest fall due once SIGTERM was handled: a dialer not draining rings them
STARTUP_SECONDS = 60.0


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> Iterator[SimulatorServer]:
    speed: float = request.param
    server = start_simulator(
        SimulatorConfig(
            account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, speed=speed, seed=11, start=NOW
        )
    )
    yield server
    server.stop()


def prepare(db: Database, simulator: SimulatorServer, api_settings: Settings) -> str:
    """A campaign over promisers (long, talkative calls) and an agent-less admin user's token."""
    context = AppContext.from_settings(api_settings, FixedClock(NOW))
    try:
        with context.sessions() as session:
            ids = add_accounts(session, PORTFOLIO, prefix="S")
            add_campaign(session, max_concurrent=PORTFOLIO, calls_per_second=5.0)
            numbers = {a.account_id: a.phones[0].number for a in session.scalars(select(Account))}
            _user, token = create_user(session, name="ops", role=Role.ADMIN, now=NOW)
            session.commit()
        refresh_queues(context)
        set_due(db, ids[LIVE_AT_SIGNAL:], NOW + timedelta(days=1))
    finally:
        context.close()
    directory = [
        {
            "number": numbers[account_id], "persona": "promiser", "name": "Priya Sharma",
            "language": "en", "loan_last4": "".join(filter(str.isdigit, account_id))[-4:],
        }
        for account_id in ids
    ]  # fmt: skip
    httpx.post(f"{simulator.base_url}/_sim/directory", json=directory).raise_for_status()
    return token


@pytest.fixture
def serve(db: Database, tmp_path: Path, simulator: SimulatorServer) -> Iterator[Any]:
    started: list[Server] = []

    def start(speed: float, drain_timeout: float) -> Server:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DUECALL_DATABASE_URL": db.url,
            "DUECALL_PUBLIC_BASE_URL": url,
            "DUECALL_TELEPHONY": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": CALLER_ID,
            "DUECALL_TWILIO_API_BASE_URL": simulator.base_url,
            "DUECALL_SCHEDULER": "on",
            "DUECALL_CLOCK": NOW.isoformat(),
            "DUECALL_CLOCK_RATE": str(speed),
            "DUECALL_DRAIN_TIMEOUT": str(drain_timeout),
            "DUECALL_LOG_FORMAT": "json",
        }
        log = tmp_path / f"serve-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "duecall.cli", "serve", "--port", str(port)],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, url, log)
        started.append(server)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "duecall serve did not start"
            time.sleep(0.1)

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
        server.process.wait()


def set_due(db: Database, account_ids: list[str], at: datetime) -> None:
    with db.session() as session, session.begin():
        session.execute(
            update(DialQueueEntry)
            .where(DialQueueEntry.account_id.in_(account_ids))
            .values(due_at=at, reason=None)
        )


def sim_calls(simulator: SimulatorServer) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = httpx.get(f"{simulator.base_url}/_sim/calls").json()
    return calls


def wait_for_live_calls(simulator: SimulatorServer, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while sum(c["status"] == "in-progress" for c in sim_calls(simulator)) < count:
        assert time.monotonic() < deadline, f"not {count} live calls: {sim_calls(simulator)}"
        time.sleep(0.05)


@pytest.mark.parametrize("simulator", [15.0], indirect=True)
def test_sigterm_lets_live_calls_finish_and_places_no_new_ones(
    db: Database, simulator: SimulatorServer, api_settings: Settings, serve: Any
) -> None:
    token = prepare(db, simulator, api_settings)
    server: Server = serve(speed=15.0, drain_timeout=120.0)
    wait_for_live_calls(simulator, LIVE_AT_SIGNAL)

    server.process.send_signal(signal.SIGTERM)
    ready = httpx.get(f"{server.url}/readyz")
    while ready.status_code == 200:  # the signal is handled between two requests
        ready = httpx.get(f"{server.url}/readyz")
    set_due(db, [f"S{n:05d}" for n in range(LIVE_AT_SIGNAL, PORTFOLIO)], NOW)
    refused = httpx.post(
        f"{server.url}/api/calls",
        json={"account_id": "S00005", "mode": "bot"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert server.process.wait(timeout=120) == 0, server.log.read_text()

    assert ready.json()["checks"]["drain"] == "draining"
    assert refused.status_code == 503, refused.text
    calls = sim_calls(simulator)
    # Only the calls live at the signal were ever placed, and each ran to its end.
    assert len(calls) == LIVE_AT_SIGNAL
    assert all(c["done"] and c["status"] == "completed" for c in calls)
    answered = [e for c in calls for e in c["events"] if e["detail"].get("status_code") is not None]
    assert answered and all(e["detail"]["status_code"] < 400 for e in answered)
    assert not [e for c in calls for e in c["events"] if e["type"] == "error"]
    with db.session() as session:
        stored = session.scalars(select(Call)).all()
    assert len(stored) == LIVE_AT_SIGNAL
    assert all(c.status in TERMINAL and c.status != "lost" for c in stored)
    assert all(c.disposition == "PTP" for c in stored), [c.disposition for c in stored]
    assert all(c.recording_url for c in stored)
    messages = [line["message"] for line in server.lines()]
    assert any(m.startswith("SIGTERM: placing no more calls") for m in messages)
    assert "drained: no call in progress; shutting down" in messages


@pytest.mark.parametrize("simulator", [4.0], indirect=True)
def test_the_drain_timeout_bounds_the_wait(
    db: Database, simulator: SimulatorServer, api_settings: Settings, serve: Any
) -> None:
    prepare(db, simulator, api_settings)
    server: Server = serve(speed=4.0, drain_timeout=0.5)
    wait_for_live_calls(simulator, 1)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0, server.log.read_text()
    assert not all(c["done"] for c in sim_calls(simulator))  # calls were still going
    messages = [line["message"] for line in server.lines()]
    assert "drain timeout: shutting down with calls still in progress" in messages
    httpx.post(f"{simulator.base_url}/_sim/reset", json={}).raise_for_status()
