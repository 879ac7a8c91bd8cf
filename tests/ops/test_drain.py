"""Shutting down in this process: once the drain begins, nothing more is claimed or placed and
requests for calls get 503, while claims not yet placed are given back as if never made."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crm.models import Account, Call
from dialer.jobs import dial_pass, refresh_queues
from dialer.telephony import FakeTelephony, OutboundCall, PlacedCall
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.lifecycle import calls_in_progress
from duecall.settings import Settings
from server import create_app
from tests.conftest import ADMIN_TOKEN, NOW, Database
from tests.dialer.conftest import add_accounts, add_campaign
from tests.factories import add_account, add_call


class SignalledWhilePlacing(FakeTelephony):
    """Places calls; SIGTERM arrives while the first one is being placed."""

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context

    def place_call(self, call: OutboundCall) -> PlacedCall:
        self.context.drain.begin(at=self.context.clock.now(), timeout=60)
        return super().place_call(call)


@pytest.fixture
def context(api_settings: Settings, clock: FixedClock) -> Iterator[AppContext]:
    context = AppContext.from_settings(api_settings, clock)
    yield context
    context.close()


def test_a_dial_pass_stops_placing_when_the_drain_begins(context: AppContext) -> None:
    with context.sessions() as session:
        ids = add_accounts(session, 5)
        add_campaign(session, max_concurrent=5)
        session.commit()
    refresh_queues(context)
    telephony = SignalledWhilePlacing(context)
    report = dial_pass(context, telephony)
    assert (report.claimed, report.placed, report.abandoned) == (5, 1, 4)
    with context.sessions() as session:
        calls = session.scalars(select(Call)).all()
        claims = dict(session.execute(select(Account.account_id, Account.claimed_by)).all())
    assert [(c.call_id, c.status) for c in calls] == [
        (telephony.calls[0].outbound.call_id, "initiated")
    ]
    # The placed call holds its account; the others are free, with no attempt on record.
    assert [a for a in ids if claims[a] is not None] == [calls[0].account_id]
    assert dial_pass(context, FakeTelephony()).claimed == 0


def test_call_requests_get_503_while_draining(
    api_settings: Settings, clock: FixedClock, db: Database
) -> None:
    with db.session() as session, session.begin():
        add_account(session, "A1")
    fake = FakeTelephony()
    with TestClient(create_app(api_settings, clock, telephony=fake)) as client:
        client.app.state.context.drain.begin(at=NOW, timeout=60)  # type: ignore[attr-defined]
        response = client.post(
            "/api/calls",
            json={"account_id": "A1", "mode": "bot"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert client.get("/healthz").status_code == 200
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
    assert "shutting down" in response.json()["detail"]
    assert fake.calls == []
    with db.session() as session:
        assert session.scalars(select(Call)).all() == []


def test_calls_in_progress_are_those_live_when_the_drain_began(db: Database) -> None:
    began = NOW
    with db.session() as session, session.begin():
        add_account(session, "A1")
        live = {"status": "in-progress", "disposition": None}
        add_call(session, "A1", call_id="LIVE", started_at=began - timedelta(minutes=2), **live)
        add_call(session, "A1", call_id="LATER", started_at=began + timedelta(seconds=5), **live)
        add_call(
            session, "A1", call_id="DONE", started_at=began - timedelta(minutes=5),
            status="completed", answered_at=began - timedelta(minutes=4),
            ended_at=began - timedelta(minutes=1), recording_url="https://rec/1",
        )  # fmt: skip
        add_call(
            session, "A1", call_id="AWAITING_RECORDING", started_at=began - timedelta(minutes=3),
            status="completed", answered_at=began - timedelta(minutes=2),
            ended_at=began - timedelta(seconds=10),
        )  # fmt: skip
    assert calls_in_progress(db.engine, since=began, now=began) == 2
    # The recording is waited for only for a while after the call ended.
    assert calls_in_progress(db.engine, since=began, now=began + timedelta(seconds=25)) == 1
    with db.session() as session, session.begin():
        session.get_one(Call, "LIVE").status = "completed"
    assert calls_in_progress(db.engine, since=began, now=began + timedelta(seconds=25)) == 0
