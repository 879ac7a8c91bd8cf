"""/metrics: who may read it, and that each counter counts what it says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from agent.models import LlmTurn
from crm.models import Account, AccountFlag, AccountFlagCode, Call, Role
from dialer.jobs import dial_pass, refresh_queues
from dialer.telephony import FakeTelephony
from duecall.auth import create_user
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.errors import ProviderError, ProviderTimeout
from duecall.settings import Settings
from server import create_app
from tests.conftest import ADMIN_TOKEN, NOW, Database
from tests.dialer.conftest import add_accounts, add_campaign
from tests.factories import add_account, add_call, add_call_in_progress

METRICS_TOKEN = "metrics-token-for-tests-0123"
PUBLIC_URL = "https://duecall.example"


@pytest.fixture
def fake() -> FakeTelephony:
    return FakeTelephony(auth_token="metrics-test-auth-token")


@pytest.fixture
def client(api_settings: Settings, clock: FixedClock, fake: FakeTelephony) -> Iterator[TestClient]:
    settings = api_settings.model_copy(
        update={"metrics_token": SecretStr(METRICS_TOKEN), "public_base_url": PUBLIC_URL}
    )
    with TestClient(create_app(settings, clock, telephony=fake)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def value(client: TestClient, name: str, **labels: str) -> float:
    """The sample `name{labels}` of the app's /metrics (0 when absent)."""
    text = client.get("/metrics", headers=bearer(METRICS_TOKEN)).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_metrics_need_the_metrics_token_or_an_admin(client: TestClient, db: Database) -> None:
    with db.session() as session, session.begin():
        _user, qa_token = create_user(session, name="qa1", role=Role.QA, now=NOW)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer("not-the-token")).status_code == 401
    assert client.get("/metrics", headers=bearer(qa_token)).status_code == 403
    for token in (METRICS_TOKEN, ADMIN_TOKEN):
        response = client.get("/metrics", headers=bearer(token))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "duecall_calls_placed",
        "duecall_dispositions",
        "duecall_compliance_blocks",
        "duecall_webhook_duration_seconds",
        "duecall_llm_fallbacks",
        "duecall_dialer_skips",
        "duecall_database_unavailable",
        "process_cpu_seconds",
        "process_resident_memory_bytes",
        "python_gc_objects_collected",
    } <= names


def test_calls_placed_count_what_the_provider_answered(
    client: TestClient, db: Database, fake: FakeTelephony
) -> None:
    with db.session() as session, session.begin():
        for account in ("A1", "A2", "A3"):
            add_account(session, account, phones=(f"+9198123456{account[-1]}0",))
    fake.fail_next(ProviderError("invalid number (Twilio 21211)"))
    fake.fail_next(ProviderTimeout("the provider did not answer in time"))
    for account in ("A1", "A2", "A3"):
        response = client.post(
            "/api/calls", json={"account_id": account, "mode": "bot"}, headers=bearer(ADMIN_TOKEN)
        )
        assert response.status_code == 201, response.text
    assert value(client, "duecall_calls_placed_total", outcome="failed") == 1
    assert value(client, "duecall_calls_placed_total", outcome="unconfirmed") == 1
    assert value(client, "duecall_calls_placed_total", outcome="placed") == 1


def test_compliance_blocks_count_each_rule_once_per_refused_call(
    client: TestClient, db: Database
) -> None:
    with db.session() as session, session.begin():
        add_account(session, "A1")
        session.add(AccountFlag(account_id="A1", flag=AccountFlagCode.DNC))
    for _ in range(2):
        refused = client.post(
            "/api/calls", json={"account_id": "A1", "mode": "bot"}, headers=bearer(ADMIN_TOKEN)
        )
        assert refused.status_code == 409
    assert value(client, "duecall_compliance_blocks_total", rule="flag") == 2
    assert value(client, "duecall_compliance_blocks_total", rule="window") == 0


def test_compliance_blocks_count_the_candidates_a_dial_pass_parks(
    client: TestClient, fake: FakeTelephony
) -> None:
    context: AppContext = client.app.state.context  # type: ignore[attr-defined]
    with context.sessions() as session:
        _, recent = add_accounts(session, 2)
        number = session.get_one(Account, recent).phones[0].number
        add_call(session, recent, started_at=NOW - timedelta(minutes=20), phone=number)
        add_campaign(session)
        session.commit()
    refresh_queues(context)
    report = dial_pass(context, fake)
    assert (report.placed, report.blocked) == (1, 1)
    assert value(client, "duecall_compliance_blocks_total", rule="min_gap") == 1
    assert value(client, "duecall_compliance_blocks_total", rule="window") == 0


def test_dispositions_and_webhook_latency_are_counted_as_callbacks_apply(
    client: TestClient, db: Database, fake: FakeTelephony
) -> None:
    with db.session() as session, session.begin():
        add_account(session, "A1")
    placed = client.post(
        "/api/calls", json={"account_id": "A1", "mode": "bot"}, headers=bearer(ADMIN_TOKEN)
    ).json()
    call_id, sid = placed["call_id"], fake.calls[0].provider_call_sid
    url = f"{PUBLIC_URL}/twilio/status/{call_id}"
    for status, sequence in (("ringing", "1"), ("busy", "2"), ("busy", "2")):  # a retried one
        params = {"CallSid": sid, "CallStatus": status, "SequenceNumber": sequence}
        response = client.post(
            f"/twilio/status/{call_id}",
            data=params,
            headers={"X-Twilio-Signature": fake.sign(url, params)},
        )
        assert response.status_code == 204
    assert value(client, "duecall_dispositions_total", disposition="BUSY") == 1
    assert value(client, "duecall_dispositions_total", disposition="RNR") == 0
    route = "/twilio/status/{call_id}"
    assert value(client, "duecall_webhook_duration_seconds_count", route=route) == 3
    assert value(client, "duecall_webhook_duration_seconds_bucket", route=route, le="+Inf") == 3
    unsigned = client.post(f"/twilio/status/{call_id}", data={"CallSid": sid})
    assert unsigned.status_code == 403  # refused requests are timed too: they cost the same
    assert value(client, "duecall_webhook_duration_seconds_count", route=route) == 4


def test_voice_turns_are_timed_under_their_route(
    client: TestClient, db: Database, fake: FakeTelephony
) -> None:
    sid = "CA" + "ab" * 16
    with db.session() as session, session.begin():
        add_call_in_progress(session, sid)
    for path in ("/twilio/voice/C1", "/twilio/voice/C1?turn=1", "/twilio/voicemail/C1"):
        params = {"CallSid": sid}
        signature = fake.sign(PUBLIC_URL + path, params)
        response = client.post(path, data=params, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/xml"
    seconds = "duecall_webhook_duration_seconds_count"
    assert value(client, seconds, route="/twilio/voice/{call_id}") == 2
    assert value(client, seconds, route="/twilio/voicemail/{call_id}") == 1


def test_a_rolled_back_disposition_is_not_counted(db: Database) -> None:
    context = AppContext.from_settings(Settings(DUECALL_DATABASE_URL=db.url))
    try:
        with context.sessions() as session, session.begin():
            add_account(session, "A1")
            add_call(session, "A1", call_id="C1", disposition=None)
        with context.sessions() as session:
            session.get_one(Call, "C1").disposition = "PTP"
            session.flush()
            session.rollback()
        with context.sessions() as session, session.begin():
            session.get_one(Call, "C1").disposition = "REFUSED"
    finally:
        context.close()
    counted = {
        s.labels["disposition"]: s.value
        for f in text_string_to_metric_families(context.metrics.render().decode())
        for s in f.samples
        if s.name == "duecall_dispositions_total" and s.value
    }
    assert counted == {"REFUSED": 1}


def test_llm_fallbacks_are_counted_by_reason_once_stored(db: Database) -> None:
    context = AppContext.from_settings(Settings(DUECALL_DATABASE_URL=db.url))
    try:
        with context.sessions() as session, session.begin():
            add_account(session, "A1")
            add_call(session, "A1", call_id="C1", disposition=None)
        outcomes = ("timeout", "timeout", "replaced", "spoken")
        with context.sessions() as session, session.begin():
            session.add_all(llm_turn("C1", n, outcome) for n, outcome in enumerate(outcomes))
        with context.sessions() as session:
            session.add(llm_turn("C1", 9, "error"))
            session.flush()
            session.rollback()  # never stored: never counted
    finally:
        context.close()
    counted = {
        s.labels["reason"]: s.value
        for f in text_string_to_metric_families(context.metrics.render().decode())
        for s in f.samples
        if s.name == "duecall_llm_fallbacks_total"
    }
    assert counted == {"timeout": 2, "replaced": 1}


def llm_turn(call_id: str, turn: int, outcome: str) -> LlmTurn:
    return LlmTurn(
        call_id=call_id, turn=turn, task="phrase", outcome=outcome, detail=None, model="m",
        prompt_tokens=10, completion_tokens=5, latency_ms=100, first_token_ms=None, at=NOW,
    )  # fmt: skip
