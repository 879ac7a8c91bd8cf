"""The database gone from under a running app (any store; tests/reliability/test_faults.py cuts
PostgreSQL off under real servers): webhooks that answer with TwiML close the call politely,
callbacks and the API get 503, a bug in a statement is still a 500, and the dialer tick skips."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from agent.script import script
from dialer.jobs import DialGuard, dial_tick
from dialer.telephony import FakeTelephony
from duecall.clock import FixedClock
from duecall.db import make_engine, make_sessionmaker
from duecall.settings import Settings
from server import create_app
from tests.conftest import ADMIN_TOKEN, Database
from tests.factories import add_call_in_progress

PUBLIC = "http://127.0.0.1:8000"
SID = "CA" + "ab" * 16
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def fake() -> FakeTelephony:
    return FakeTelephony(auth_token="outage-test-auth-token-0123")


@pytest.fixture
def app(
    db: Database, api_settings: Settings, clock: FixedClock, fake: FakeTelephony, tmp_path: Path
) -> Iterator[FastAPI]:
    with db.session() as session, session.begin():
        add_call_in_progress(session, SID)
    built = create_app(api_settings.model_copy(update={"public_base_url": PUBLIC}), clock, fake)
    yield built
    built.state.context.close()


def cut_off(app: FastAPI, tmp_path: Path) -> None:
    """The store is gone: every connection attempt fails (a file in a directory that is not)."""
    context = app.state.context
    context.engine.dispose()
    context.engine = make_engine(f"sqlite:///{tmp_path / 'gone' / 'duecall.db'}")
    context.sessions = make_sessionmaker(context.engine)


def post(
    client: TestClient, fake: FakeTelephony, route: str, params: dict[str, str]
) -> httpx.Response:
    headers = {**FORM, "X-Twilio-Signature": fake.sign(PUBLIC + route, params)}
    return client.post(route, data=params, headers=headers)


def test_webhooks_close_the_call_politely_while_the_database_is_away(
    app: FastAPI, fake: FakeTelephony, tmp_path: Path
) -> None:
    params = {"CallSid": SID, "CallStatus": "in-progress", "SpeechResult": "yes"}
    with TestClient(app, raise_server_exceptions=False) as client:
        cut_off(app, tmp_path)
        voice = post(client, fake, "/twilio/voice/C1?turn=1", params)
        status = post(client, fake, "/twilio/status/C1", {**params, "CallStatus": "completed"})
        api = client.get("/api/accounts/A1", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        metrics = app.state.context.metrics.registry

    assert voice.status_code == 200, voice.text
    assert voice.headers["content-type"].startswith("application/xml")
    # The call's language is in the database that is away: the apology is said in each.
    apologies = [script(language).line("close_outage") for language in ("en", "hi")]
    assert all(apology in voice.text for apology in apologies), voice.text
    assert 'language="hi-IN"' in voice.text and "<Hangup />" in voice.text
    assert status.status_code == 503
    assert api.status_code == 503 and api.headers["retry-after"]
    count = metrics.get_sample_value
    assert count("duecall_database_unavailable_total", {"kind": "twiml"}) == 1
    assert count("duecall_database_unavailable_total", {"kind": "callback"}) == 1


def test_a_statement_bug_is_still_a_500(app: FastAPI) -> None:
    @app.get("/broken")
    def broken() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/broken").status_code == 500


def test_the_dialer_tick_skips_while_the_database_is_away(
    app: FastAPI, fake: FakeTelephony, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    context = app.state.context
    guard = DialGuard()
    cut_off(app, tmp_path)
    assert dial_tick(context, fake, guard) is None
    assert dial_tick(context, fake, guard) is None
    assert fake.calls == []
    skipped = context.metrics.registry.get_sample_value(
        "duecall_dialer_skips_total", {"reason": "database_unreachable"}
    )
    assert skipped == 2
    assert caplog.text.count("dialer paused: database unreachable") == 1
