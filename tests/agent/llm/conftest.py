"""LLM mode under test: the app talks to the OpenAI-compatible stand-in over HTTP (the
`standin` fixture, tests/conftest.py); calls are driven through the real webhooks, signed as
Twilio signs them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agent.llm.standin import StandIn
from duecall.clock import FixedClock
from duecall.settings import Settings
from server import create_app
from tests.agent.test_voice import RecordingTelephony
from tests.conftest import ADMIN_TOKEN, NOW, Database

MODEL = "standin-model"


def llm_settings(db: Database, url: str, **overrides: str) -> Settings:
    values = {
        "DUECALL_DATABASE_URL": db.url,
        "DUECALL_ADMIN_TOKEN": ADMIN_TOKEN,
        "DUECALL_SCHEDULER": "off",
        "DUECALL_AGENT_MODE": "llm",
        "OPENAI_BASE_URL": url,
        "DUECALL_LLM_MODEL": MODEL,
        "DUECALL_LLM_BUDGET_S": "1.0",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(db: Database, standin_server: tuple[StandIn, str]) -> Settings:
    return llm_settings(db, standin_server[1])


@pytest.fixture
def telephony() -> RecordingTelephony:
    return RecordingTelephony()


@pytest.fixture
def client(settings: Settings, telephony: RecordingTelephony) -> Iterator[TestClient]:
    with TestClient(create_app(settings, FixedClock(NOW), telephony=telephony)) as client:
        yield client
