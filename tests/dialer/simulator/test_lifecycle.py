"""The call lifecycle against real webhooks: order, parameters, signatures, AMD, recordings."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import pytest

from tests.dialer.simulator.conftest import ACCOUNT_SID, CALLER_ID, Harness, new_number
from tests.dialer.simulator.webhook_server import BASE_URL

HELLO = "<Response><Say>Namaste, this is Demo Bank.</Say></Response>"
BASE_PARAMS = {"AccountSid", "CallSid", "From", "To", "CallStatus", "Direction", "ApiVersion"}


def test_status_callbacks_come_in_order_with_twilios_parameters(sim: Harness) -> None:
    to = sim.register(new_number(), persona="payer")
    sid = sim.place(to, HELLO)
    view = sim.wait(sid)
    callbacks = sim.statuses(sid)
    assert [c["CallStatus"] for c in callbacks] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [c["SequenceNumber"] for c in callbacks] == ["0", "1", "2", "3"]
    for callback in callbacks:
        assert set(callback) >= BASE_PARAMS
        assert callback["CallSid"] == sid
        assert callback["AccountSid"] == ACCOUNT_SID
        assert (callback["To"], callback["From"]) == (to, CALLER_ID)
        assert callback["Direction"] == "outbound-api"
        assert callback["ApiVersion"] == "2010-04-01"
        assert callback["CallbackSource"] == "call-progress-events"
        assert parsedate_to_datetime(callback["Timestamp"]).tzinfo is not None
        assert "AnsweredBy" not in callback  # machine detection was not asked for
    timestamps = [parsedate_to_datetime(c["Timestamp"]) for c in callbacks]
    assert timestamps == sorted(timestamps)
    completed = callbacks[-1]
    assert int(completed["CallDuration"]) == view["duration"] > 0
    assert int(completed["Duration"]) == -(-view["duration"] // 60)  # billed minutes
    assert all("CallDuration" not in c for c in callbacks[:-1])
    assert all(h.valid for h in sim.webhooks.hits)
    assert [h.params["CallStatus"] for h in sim.webhooks.hits_on("/twiml/", sid)] == ["in-progress"]


def test_only_the_completed_event_by_default(sim: Harness) -> None:
    sid = sim.place(sim.register(new_number(), persona="payer"), HELLO, status_callback_event=None)
    sim.wait(sid)
    assert [c["CallStatus"] for c in sim.statuses(sid)] == ["completed"]


@pytest.mark.parametrize(
    ("persona", "faults", "status"),
    [
        ("busy", {}, "busy"),
        ("no_answer", {}, "no-answer"),
        ("payer", {"failed_calls": 1.0}, "failed"),
    ],
)
def test_unanswered_calls_end_without_fetching_twiml(
    sim: Harness, persona: str, faults: dict[str, float], status: str
) -> None:
    sim.set_faults(**faults)
    sid = sim.place(sim.register(new_number(), persona=persona), HELLO)
    view = sim.wait(sid)
    assert view["status"] == status
    assert [c["CallStatus"] for c in sim.statuses(sid)] == ["initiated", "ringing", status]
    assert sim.statuses(sid)[-1]["CallDuration"] == "0"
    assert sim.webhooks.hits_on("/twiml/", sid) == []
    assert view["transcript"] == []
    assert sim.client.calls(sid).fetch().status == status


def test_get_webhooks_are_signed_over_the_url_with_its_query(sim: Harness) -> None:
    sid = sim.place(
        sim.register(new_number(), persona="payer"),
        HELLO,
        method="GET",
        status_callback_method="GET",
    )
    sim.wait(sid)
    voice = sim.webhooks.hits_on("/twiml/", sid)
    assert [h.method for h in voice] == ["GET"]
    assert voice[0].params["CallSid"] == sid and voice[0].valid
    status = sim.webhooks.hits_on("/status", sid)
    assert {h.method for h in status} == {"GET"} and all(h.valid for h in status)


def test_a_server_that_rejects_the_signature_fails_the_call_like_twilio(sim: Harness) -> None:
    sim.webhooks.token = "a-different-auth-token"  # the server validates with the wrong token
    sid = sim.place(sim.register(new_number(), persona="payer"), HELLO)
    view = sim.wait(sid)
    voice = sim.webhooks.hits_on("/twiml/", sid)
    assert [(h.valid, h.status_code) for h in voice] == [(False, 403)]
    assert view["error"]["code"] == 11200
    assert "403" in view["error"]["message"]
    assert [t["text"] for t in view["transcript"]] == [
        "We are sorry, an application error has occurred. Goodbye."
    ]
    assert view["status"] == "completed"
    webhook = next(e for e in view["events"] if e["type"] == "webhook")["detail"]
    assert webhook["status_code"] == 403 and webhook["latency_ms"] >= 0


def test_synchronous_machine_detection_tells_the_url_who_answered(sim: Harness) -> None:
    sid = sim.place(
        sim.register(new_number(), persona="voicemail"), HELLO, machine_detection="DetectMessageEnd"
    )
    view = sim.wait(sid)
    answered_by = sim.webhooks.hits_on("/twiml/", sid)[0].params["AnsweredBy"]
    assert answered_by in {"machine_end_beep", "machine_end_silence", "machine_end_other"}
    assert view["answered_by"] == answered_by
    callbacks = sim.statuses(sid)
    assert [c.get("AnsweredBy") for c in callbacks] == [None, None, answered_by, answered_by]
    assert any(e["type"] == "voicemail_greeting" for e in view["events"])
    assert [t["speaker"] for t in view["transcript"]] == ["agent"]  # a machine never replies


def test_synchronous_detection_of_a_person(sim: Harness) -> None:
    to = sim.register(new_number(), persona="promiser", answered_by="human")
    sid = sim.place(to, HELLO, machine_detection="Enable")
    sim.wait(sid)
    assert sim.webhooks.hits_on("/twiml/", sid)[0].params["AnsweredBy"] == "human"


def test_asynchronous_machine_detection_posts_its_own_callback(sim: Harness) -> None:
    to = sim.register(new_number(), persona="payer", answered_by="fax")
    twiml = "<Response><Say>One moment.</Say><Pause length='30'/></Response>"
    sid = sim.place(
        to,
        twiml,
        machine_detection="Enable",
        async_amd="true",
        async_amd_status_callback=f"{BASE_URL}/amd",
        async_amd_status_callback_method="POST",
    )
    view = sim.wait(sid)
    assert "AnsweredBy" not in sim.webhooks.hits_on("/twiml/", sid)[0].params
    [amd] = sim.webhooks.hits_on("/amd", sid)
    assert amd.valid
    assert amd.params["AnsweredBy"] == "fax"
    assert amd.params["AccountSid"] == ACCOUNT_SID
    assert int(amd.params["MachineDetectionDuration"]) > 0
    assert view["answered_by"] == "fax"
    assert sim.statuses(sid)[-1]["AnsweredBy"] == "fax"


@pytest.mark.parametrize(("channels", "expected"), [("mono", "1"), ("dual", "2")])
def test_recording_callbacks(sim: Harness, channels: str, expected: str) -> None:
    sid = sim.place(
        sim.register(new_number(), persona="promiser"),
        HELLO,
        record=True,
        recording_channels=channels,
        recording_status_callback=f"{BASE_URL}/recording",
        recording_status_callback_event=["in-progress", "completed"],
    )
    view = sim.wait(sid)
    hits = sim.webhooks.hits_on("/recording", sid)
    assert [h.params["RecordingStatus"] for h in hits] == ["in-progress", "completed"]
    assert all(h.valid for h in hits)
    done = hits[-1].params
    assert (
        re.fullmatch(r"RE[0-9a-f]{32}", done["RecordingSid"])
        and done["RecordingSid"] == view["recording_sid"]
    )
    assert (
        done["RecordingUrl"]
        == f"{sim.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{done['RecordingSid']}"
    )
    assert int(done["RecordingDuration"]) == view["duration"]
    assert done["RecordingChannels"] == expected
    assert done["CallSid"] == sid
    completed = sim.statuses(sid)[-1]
    assert completed["RecordingSid"] == done["RecordingSid"]


def test_no_recording_callback_unless_recording(sim: Harness) -> None:
    sid = sim.place(
        sim.register(new_number(), persona="payer"),
        HELLO,
        recording_status_callback=f"{BASE_URL}/recording",
    )
    view = sim.wait(sid)
    assert view["recording_sid"] is None
    assert sim.webhooks.hits_on("/recording", sid) == []
