"""Injected faults: REST 429/500/timeouts, duplicated, reordered and retried callbacks, drops."""

from __future__ import annotations

import httpx
import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from dialer.simulator import SimulatorConfig, SimulatorServer
from tests.dialer.simulator.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER_ID,
    Harness,
    new_number,
    twilio_client,
)
from tests.dialer.simulator.webhook_server import WebhookServer

HELLO = "<Response><Say>Hello.</Say></Response>"


@pytest.mark.parametrize(
    ("faults", "status", "code", "message"),
    [
        ({"rest_429": 1.0}, 429, 20429, "Too Many Requests"),
        ({"rest_500": 1.0}, 500, 20500, "Internal Server Error"),
    ],
)
def test_calls_json_answers_429_and_500_like_twilio(
    sim: Harness, faults: dict[str, float], status: int, code: int, message: str
) -> None:
    sim.set_faults(**faults)
    with pytest.raises(TwilioRestException) as refused:
        sim.place(new_number(), HELLO)
    assert (refused.value.status, refused.value.code) == (status, code)
    assert refused.value.msg.endswith(message)
    assert sim.http.get("/_sim/calls").json() == []


def test_a_share_of_requests_fails_reproducibly(sim: Harness) -> None:
    def outcomes() -> list[int]:
        sim.reset(seed=4)
        sim.set_faults(rest_429=0.3, rest_500=0.2)
        results = []
        for _ in range(30):
            try:
                sim.place(sim.register(new_number(), persona="busy"), HELLO)
                results.append(201)
            except TwilioRestException as exc:
                results.append(exc.status)
        return results

    first = outcomes()
    assert first == outcomes()
    assert {201, 429, 500} == set(first)
    assert 3 <= first.count(429) <= 16 and 1 <= first.count(500) <= 12


@pytest.mark.parametrize(("places_call", "calls"), [(True, 1), (False, 0)])
def test_a_slow_answer_times_the_client_out(sim: Harness, places_call: bool, calls: int) -> None:
    sim.set_faults(rest_timeout=1.0, rest_timeout_seconds=1.0, rest_timeout_places_call=places_call)
    impatient = twilio_client(sim.base_url, timeout=0.2)
    to = sim.register(new_number(), persona="payer")
    with pytest.raises(requests.exceptions.Timeout):
        impatient.calls.create(to=to, from_=CALLER_ID, url=sim.webhooks.on("hello", HELLO))
    assert len(sim.http.get("/_sim/calls").json()) == calls


def test_duplicated_callbacks_repeat_the_same_sequence_number_and_token(sim: Harness) -> None:
    sim.set_faults(duplicate_callbacks=1.0)
    sid = sim.place(sim.register(new_number(), persona="payer"), HELLO)
    sim.wait(sid)
    hits = sim.webhooks.hits_on("/status", sid)
    assert [h.params["SequenceNumber"] for h in hits] == ["0", "0", "1", "1", "2", "2", "3", "3"]
    tokens = [h.headers["i-twilio-idempotency-token"] for h in hits]
    assert tokens[0::2] == tokens[1::2] and len(set(tokens)) == 4
    assert all(h.valid for h in hits)


def test_reordered_callbacks_arrive_out_of_order_but_all_arrive(sim: Harness) -> None:
    sim.set_faults(reorder_callbacks=1.0)
    sid = sim.place(sim.register(new_number(), persona="payer"), HELLO)
    sim.wait(sid)
    callbacks = sim.statuses(sid)
    assert [c["CallStatus"] for c in callbacks] == [
        "ringing",
        "initiated",
        "completed",
        "in-progress",
    ]
    assert [c["SequenceNumber"] for c in callbacks] == ["1", "0", "3", "2"]


def test_failed_callbacks_are_retried_until_the_server_answers(sim: Harness) -> None:
    sim.set_faults(callback_retries=2)
    sim.webhooks.failures["/status"] = [500, 503]
    sid = sim.place(sim.register(new_number(), persona="payer"), HELLO)
    view = sim.wait(sid)
    hits = sim.webhooks.hits_on("/status", sid)
    assert [(h.params["CallStatus"], h.status_code) for h in hits] == [
        ("initiated", 500),
        ("initiated", 503),
        ("initiated", 204),
        ("ringing", 204),
        ("in-progress", 204),
        ("completed", 204),
    ]
    attempts = [e["detail"]["attempt"] for e in view["events"] if e["type"] == "status_callback"]
    assert attempts == [1, 2, 3, 1, 1, 1]


def test_without_retries_a_failed_callback_is_lost_and_4xx_is_never_retried(sim: Harness) -> None:
    sim.webhooks.failures["/status"] = [500]
    sid = sim.place(sim.register(new_number(), persona="payer"), HELLO)
    sim.wait(sid)
    assert [h.status_code for h in sim.webhooks.hits_on("/status", sid)] == [500, 204, 204, 204]

    sim.set_faults(callback_retries=3)
    sim.webhooks.failures["/status"] = [404]
    sid = sim.place(sim.register(new_number(), persona="payer"), HELLO)
    sim.wait(sid)
    assert [h.status_code for h in sim.webhooks.hits_on("/status", sid)] == [404, 204, 204, 204]


def test_a_callback_that_times_out_is_retried() -> None:
    webhooks = WebhookServer(token=AUTH_TOKEN)
    webhooks.delays["/status"] = 0.6
    config = SimulatorConfig(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        speed=1000,
        webhook_timeout=0.2,
        transport=httpx.ASGITransport(app=webhooks.app()),
    )
    with SimulatorServer(config) as server, httpx.Client(base_url=server.base_url) as http:
        http.put("/_sim/faults", json={"callback_retries": 1}).raise_for_status()
        client = twilio_client(server.base_url)
        call = client.calls.create(
            to=new_number(),
            from_=CALLER_ID,
            twiml=HELLO,
            status_callback="http://webhooks.test/status",
        )
        harness = Harness(server.base_url, client, webhooks, http)
        view = harness.wait(call.sid)
    attempts = [e["detail"] for e in view["events"] if e["type"] == "status_callback"]
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, None), (2, None)]
    assert all("timed out" in a["error"] for a in attempts)


def test_a_dropped_line_ends_the_call_early(sim: Harness) -> None:
    sim.set_faults(drop_calls=1.0)
    to = sim.register(new_number(), persona="promiser")
    view = sim.run(to, "<Response><Say>Please hold.</Say><Pause length='600'/></Response>")
    assert view["status"] == "completed"
    assert view["duration"] < 600
    ended = [e["detail"] for e in view["events"] if e["type"] == "ended"][-1]
    assert ended["by"] == "drop"
    assert sim.statuses(view["sid"])[-1]["CallStatus"] == "completed"


def test_fault_draws_replay_with_the_seed(sim: Harness) -> None:
    number = new_number()

    def arrivals() -> list[str]:
        sim.reset(seed=5)
        sim.webhooks.hits.clear()
        sim.set_faults(duplicate_callbacks=0.5, reorder_callbacks=0.5)
        sid = sim.place(sim.register(number, persona="payer"), HELLO)
        sim.wait(sid)
        return [h.params["SequenceNumber"] for h in sim.webhooks.hits_on("/status", sid)]

    first = arrivals()
    assert first == arrivals()
    assert sorted(set(first)) == ["0", "1", "2", "3"]
