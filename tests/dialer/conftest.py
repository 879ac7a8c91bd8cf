"""Dialer fixtures: the app context on the test database with a fixed clock, a fake provider,
the simulator over HTTP, and a campaign to dial."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import time
from typing import Any

import pytest
from sqlalchemy.orm import Session

from crm.buckets import Bucket
from dialer.campaigns import DEFAULT_RETRIES, CampaignIn, create_campaign
from dialer.models import Campaign, Channel
from dialer.simulator import SimulatorConfig, SimulatorServer, start_simulator
from dialer.telephony import FakeTelephony
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.settings import Settings
from tests.conftest import NOW
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
