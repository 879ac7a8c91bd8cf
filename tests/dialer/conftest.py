"""Dialer fixtures: the app context on the test database with a fixed clock, a fake provider,
the simulator over HTTP, and a campaign to dial."""

from __future__ import annotations

import time as wall
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.buckets import Bucket
from crm.models import Account, Call
from dialer.calls import TERMINAL
from dialer.campaigns import DEFAULT_RETRIES, CampaignIn, create_campaign
from dialer.jobs import PassReport, dial_pass, refresh_queues
from dialer.models import Campaign, Channel
from dialer.simulator import SimulatorConfig, SimulatorServer, start_simulator
from dialer.simulator.engine import Simulator
from dialer.telephony import FakeTelephony, Telephony
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.live import free_socket, serving
from duecall.settings import Settings
from server import create_app
from tests.conftest import NOW, Database
from tests.factories import add_account

ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "dialer-test-auth-token-0123"
CALLER_ID = "+918045678901"
SPEED = 600.0


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[SimulatorServer]:
    """The Twilio stand-in over HTTP, for the whole session (tests reset it)."""
    server = start_simulator(
        SimulatorConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, speed=SPEED, seed=3)
    )
    yield server
    server.stop()


@pytest.fixture
def context(api_settings: Settings, clock: FixedClock) -> Iterator[AppContext]:
    context = AppContext.from_settings(api_settings, clock)
    yield context
    context.close()


@pytest.fixture
def telephony() -> FakeTelephony:
    return FakeTelephony()


def add_campaign(session: Session, **fields: Any) -> Campaign:
    """A bot campaign over every bucket, open 07:00-21:00 every day (the policy decides)."""
    values: dict[str, Any] = {
        "name": "test campaign",
        "buckets": list(Bucket),
        "channels": dict.fromkeys(Bucket, Channel.BOT),
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": time(7),
        "end": time(21),
        "max_concurrent": 50,
        "calls_per_second": 10.0,
        "retry_rules": DEFAULT_RETRIES,
    }
    values.update(fields)
    return create_campaign(session, CampaignIn.model_validate(values), now=NOW)


def add_accounts(session: Session, count: int, *, prefix: str = "A", **fields: Any) -> list[str]:
    """`count` accounts with distinct valid Indian mobile numbers."""
    ids = []
    for n in range(count):
        account_id = f"{prefix}{n:05d}"
        add_account(
            session,
            account_id,
            phones=(f"+9198{zlib.crc32(prefix.encode()) % 100:02d}{n:06d}",),
            **fields,
        )
        ids.append(account_id)
    return ids


@dataclass
class Live:
    """The server (its context and provider), the simulator and its control API."""

    context: AppContext
    telephony: Telephony
    simulator: Simulator
    control: httpx.Client

    def register(self, persona: str, count: int, prefix: str) -> list[str]:
        """`count` accounts whose phones answer as `persona` in the simulator."""
        with self.context.sessions() as session:
            ids = add_accounts(session, count, prefix=prefix)
            numbers = [session.get_one(Account, a).phones[0].number for a in ids]
            session.commit()
        entries = [{"number": n, "persona": persona} for n in numbers]
        self.control.post("/_sim/directory", json=entries).raise_for_status()
        return ids

    def faults(self, **faults: Any) -> None:
        self.control.put("/_sim/faults", json=faults).raise_for_status()

    def dial(self, telephony: Telephony | None = None) -> PassReport:
        refresh_queues(self.context)
        return dial_pass(self.context, telephony or self.telephony)

    def settle(self, timeout: float = 60.0) -> dict[str, Call]:
        """Every call, once each has a final status and the simulator is idle."""
        deadline = wall.monotonic() + timeout
        while True:
            with self.context.sessions() as session:
                calls = {c.account_id: c for c in session.scalars(select(Call))}
            idle = self.control.get("/_sim/status").json()["idle"]
            if idle and all(c.status in TERMINAL for c in calls.values()):
                return calls
            if wall.monotonic() > deadline:
                stuck = {a: c.status for a, c in calls.items() if c.status not in TERMINAL}
                raise AssertionError(f"calls without a final status: {stuck}")
            wall.sleep(0.05)


def settings_for(db: Database, sim_url: str, public_url: str, token: str = AUTH_TOKEN) -> Settings:
    return Settings(
        DUECALL_DATABASE_URL=db.url,
        DUECALL_SCHEDULER="off",
        DUECALL_TELEPHONY="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=token,
        TWILIO_FROM_NUMBER=CALLER_ID,
        DUECALL_TWILIO_API_BASE_URL=sim_url,
        DUECALL_PUBLIC_BASE_URL=public_url,
    )


@pytest.fixture
def live(db: Database, simulator_server: SimulatorServer, clock: FixedClock) -> Iterator[Live]:
    sock = free_socket()
    public_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = settings_for(db, simulator_server.base_url, public_url)
    app = create_app(settings, clock)
    with (
        httpx.Client(base_url=simulator_server.base_url, timeout=30) as control,
        serving(app, sock),
    ):
        control.post("/_sim/reset", json={"seed": 3, "speed": SPEED}).raise_for_status()
        control.put("/_sim/faults", json={}).raise_for_status()
        with app.state.context.sessions() as session:
            add_campaign(session)
            session.commit()
        yield Live(
            app.state.context, app.state.telephony, simulator_server.app.state.simulator, control
        )
        control.post("/_sim/reset", json={}).raise_for_status()
