"""The Twilio adapter over real HTTP: the duecall server under uvicorn, the simulator as Twilio.

The dialer places calls with the official SDK at DUECALL_TWILIO_API_BASE_URL; the simulator
calls the server's webhooks at DUECALL_PUBLIC_BASE_URL, signed. Answered calls reach the
conversation webhook, which may not exist yet on this branch: nothing here depends on what it
answers.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from crm.models import Account, Call, Phone
from dialer.calls import NEVER_PLACED_AFTER, webhook_urls
from dialer.jobs import recover_calls
from dialer.providers import telephony_for
from dialer.telephony import STATUS_EVENTS, TwilioTelephony
from duecall.clock import FixedClock
from duecall.settings import Settings
from tests.conftest import Database
from tests.dialer.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER_ID,
    Live,
    settings_for,
)


def test_the_adapter_is_what_the_settings_name() -> None:
    settings = Settings(
        DUECALL_TELEPHONY="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=CALLER_ID,
        DUECALL_TWILIO_API_BASE_URL="http://127.0.0.1:1/",
    )
    assert isinstance(telephony_for(settings), TwilioTelephony)


def test_calls_go_out_with_every_parameter_and_come_back_signed(live: Live) -> None:
    busy = live.register("busy", 2, "BUSY")
    no_answer = live.register("no_answer", 2, "NOANS")
    payer = live.register("payer", 2, "PAYER")
    report = live.dial()
    assert (report.claimed, report.placed, report.failed) == (6, 6, 0)
    calls = live.settle()

    assert {calls[a].disposition for a in busy} == {"BUSY"}
    assert {calls[a].status for a in no_answer} == {"no-answer"}
    assert {calls[a].disposition for a in no_answer} == {"RNR"}
    for account_id in payer:
        call = calls[account_id]
        assert call.status == "completed" and call.answered_at is not None
        assert call.disposition is not None and call.ended_at is not None
    public_url = live.context.settings.public_base_url
    for call in calls.values():
        assert call.provider_call_sid is not None
        sim_call = live.simulator.call(call.provider_call_sid)
        urls = webhook_urls(public_url, call.call_id)
        options = sim_call.options
        assert (options.to, options.from_, options.url, options.method) == (
            call.phone, CALLER_ID, urls.answer, "POST",
        )  # fmt: skip
        assert (options.status_callback, options.status_callback_events) == (
            urls.status, frozenset(STATUS_EVENTS),
        )  # fmt: skip
        assert (options.record, options.recording_status_callback) == (True, urls.recording)
        assert (options.machine_detection, options.async_amd) == ("DetectMessageEnd", True)
        assert options.async_amd_status_callback == urls.amd
        delivered = [e.detail for e in sim_call.events if e.type.endswith("_callback")]
        assert delivered and {d["status_code"] for d in delivered} == {204}
    with live.context.sessions() as session:
        accounts = session.scalars(select(Account)).all()
    assert all(a.claimed_by is None for a in accounts)


def test_a_forged_callback_is_refused(live: Live) -> None:
    (account_id,) = live.register("busy", 1, "FORGED")
    live.dial()
    calls = live.settle()
    url = webhook_urls(live.context.settings.public_base_url, calls[account_id].call_id).status
    response = httpx.post(url, data={"CallSid": "CA" + "0" * 32, "CallStatus": "completed"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (
            {"token": "a-wrong-auth-token-0123"},
            "the provider refused our credentials (Twilio 20003)",
        ),
        ({"phone": "+91123"}, "invalid number (Twilio 21211)"),
        ({"faults": {"rest_429": 1.0}}, "rate limited by the provider (Twilio 20429)"),
        ({"faults": {"rest_500": 1.0}}, "provider error HTTP 500 (Twilio 20500)"),
    ],
)
def test_provider_errors_fail_the_call_with_the_reason(
    live: Live, db: Database, setup: dict[str, Any], reason: str
) -> None:
    (account_id,) = live.register("payer", 1, "ERR")
    if "phone" in setup:
        with live.context.sessions() as session:
            session.get_one(
                Phone, (account_id, session.get_one(Account, account_id).phones[0].number)
            ).number = setup["phone"]
            session.commit()
    live.faults(**setup.get("faults", {}))
    telephony = live.telephony
    if "token" in setup:
        settings = settings_for(
            db, live.context.settings.twilio_api_base_url, "http://x", setup["token"]
        )
        telephony = telephony_for(settings)
    report = live.dial(telephony)
    assert (report.claimed, report.placed, report.failed) == (1, 0, 1)
    with live.context.sessions() as session:
        call = session.scalars(select(Call)).one()
        account = session.get_one(Account, account_id)
    assert (call.status, call.disposition) == ("failed", "FAILED")
    assert call.failure_reason is not None and call.failure_reason.startswith(reason)
    assert account.claimed_by is None


@pytest.mark.parametrize("placed_anyway", [True, False])
def test_a_provider_that_does_not_answer_in_time(live: Live, placed_anyway: bool) -> None:
    (account_id,) = live.register("busy", 1, "SLOW")
    live.faults(rest_timeout=1.0, rest_timeout_seconds=1.0, rest_timeout_places_call=placed_anyway)
    settings = live.context.settings
    impatient = TwilioTelephony(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=CALLER_ID,
        api_base_url=settings.twilio_api_base_url, timeout_s=0.2,
    )  # fmt: skip
    report = live.dial(impatient)
    assert (report.claimed, report.placed, report.unconfirmed) == (1, 0, 1)
    if placed_anyway:
        # The call went out after all: its callbacks finish it.
        (call,) = live.settle().values()
        assert (call.status, call.disposition) == ("busy", "BUSY")
    else:
        time.sleep(1.5)  # let the simulator's delayed answer go by: no call was placed
        assert live.control.get("/_sim/calls").json() == []
        assert isinstance(live.context.clock, FixedClock)
        live.context.clock.advance(NEVER_PLACED_AFTER + timedelta(seconds=1))
        assert recover_calls(live.context) == 1
        with live.context.sessions() as session:
            call = session.scalars(select(Call)).one()
        assert (call.status, call.disposition) == ("lost", "FAILED")
        assert call.failure_reason is not None and "never placed" in call.failure_reason
    with live.context.sessions() as session:
        assert session.get_one(Account, account_id).claimed_by is None
