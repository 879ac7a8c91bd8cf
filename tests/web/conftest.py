"""Screens under test: an app on the test database, users with passwords, logged-in clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal

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


# --- a small portfolio for the screens ---------------------------------------------------

AGENT = "tc1"
OTHER_AGENT = "tc2"
AGENT_PHONE = "+919800000001"
QA_CALL = "C-QA-1"
QA_TRANSCRIPT = (
    (
        "agent",
        "Hello, this is Meera calling from Demo Bank. This call is recorded. Am I speaking with Priya Sharma?",
    ),
    ("borrower", "Yes, speaking."),
    ("agent", "Your EMI of rupees 5000 is overdue. When can you pay?"),
    ("borrower", "I will pay on Friday."),
    ("agent", "Thank you. Pay or the police will come to your house."),
)


def seed_screens(db: Database, recording_url: str = "http://127.0.0.1:9/recording.wav") -> None:
    """Two tele-callers with accounts, a QA reviewer, a supervisor and a recorded call."""
    from datetime import timedelta

    from sqlalchemy import update

    from crm.models import Agent, Hold, Recording, TranscriptTurn
    from tests.factories import add_account, add_call

    add_user(db, AGENT, Role.AGENT, AGENT)
    add_user(db, OTHER_AGENT, Role.AGENT, OTHER_AGENT)
    add_user(db, "qa1", Role.QA)
    add_user(db, "sup1", Role.SUPERVISOR)
    with db.session() as session, session.begin():
        session.execute(update(Agent).where(Agent.agent_id == AGENT).values(phone=AGENT_PHONE))
        add_account(
            session,
            "A1",
            dpd=45,
            assigned_agent_id=AGENT,
            borrower_name="Priya Sharma",
            phones=("+919812345601",),
            overdue_amount=Decimal("5000.00"),
        )
        add_account(
            session,
            "A2",
            dpd=12,
            assigned_agent_id=AGENT,
            borrower_name="Rahul Verma",
            phones=("+919812345602",),
            language="hi",
        )
        add_account(
            session,
            "A3",
            dpd=70,
            assigned_agent_id=AGENT,
            borrower_name="Anita Rao",
            phones=("+919812345603",),
        )
        session.add(Hold(account_id="A3", kind="dispute", until=None, created_at=NOW))
        add_account(
            session,
            "B1",
            dpd=30,
            assigned_agent_id=OTHER_AGENT,
            borrower_name="Vikram Singh",
            phones=("+919812345604",),
        )
        add_call(
            session,
            "A2",
            call_id=QA_CALL,
            agent_id=AGENT,
            disposition="PTP",
            started_at=NOW - timedelta(days=1),
            status="completed",
            duration_s=95,
            phone="+919812345602",
            mode="agent",
            source="api",
        )
        for seq, (speaker, text) in enumerate(QA_TRANSCRIPT):
            session.add(
                TranscriptTurn(
                    call_id=QA_CALL, seq=seq, speaker=speaker, text=text, at=NOW - timedelta(days=1)
                )
            )
        session.add(
            Recording(
                call_id=QA_CALL,
                provider_recording_sid="RE" + "1" * 32,
                url=recording_url,
                duration_s=95,
                created_at=NOW - timedelta(days=1),
            )
        )


def sample_recorded_calls(db: Database) -> None:
    """The QA job for yesterday: flag the calls' transcripts, then draw the sample."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from analytics.qa.sampling import SamplingPlan
    from analytics.qa.service import flag_calls, run_sampling
    from compliance.policy import load_policy

    yesterday = (NOW - timedelta(days=1)).astimezone(ZoneInfo("Asia/Kolkata")).date()
    with db.session() as session, session.begin():
        flag_calls(session, [QA_CALL], policy=load_policy("rbi"), zone="Asia/Kolkata", now=NOW)
        run_sampling(
            session,
            start=yesterday,
            end=yesterday,
            plan=SamplingPlan(rate=0.1, minimum=1, seed=7),
            outliers=(),
            zone=ZoneInfo("Asia/Kolkata"),
            now=NOW,
        )
