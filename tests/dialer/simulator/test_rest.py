"""Twilio's REST API as the official twilio SDK uses it: create, fetch, update, list, recordings."""

from __future__ import annotations

import io
import re
import wave
from datetime import datetime

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.dialer.simulator.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER_ID,
    Harness,
    new_number,
    twilio_client,
)

SAY = "<Response><Say>Hello from Demo Bank.</Say></Response>"
LONG_PAUSE = (
    "<Response><Say>Please hold.</Say><Pause length='3000'/><Say>Still there?</Say></Response>"
)


def test_the_sdk_creates_fetches_and_lists_calls(sim: Harness) -> None:
    to = sim.register(new_number(), persona="payer")
    call = sim.client.calls.create(
        to=to, from_=CALLER_ID, url=sim.webhooks.on("hello", SAY), timeout=30
    )
    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid)
    assert call.status == "queued"
    assert (call.to, call.from_formatted, call.direction) == (to, CALLER_ID, "outbound-api")
    assert call.account_sid == ACCOUNT_SID
    assert isinstance(call.date_created, datetime)
    assert call.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call.sid}.json"

    sim.wait(call.sid)
    fetched = sim.client.calls(call.sid).fetch()
    assert fetched.sid == call.sid
    assert fetched.status == "completed"
    assert int(fetched.duration) > 0
    assert fetched.start_time is not None and fetched.end_time > fetched.start_time
    assert [c.sid for c in sim.client.calls.list(to=to)] == [call.sid]


def test_the_sdk_hangs_up_a_live_call(sim: Harness) -> None:
    sid = sim.place(sim.register(new_number(), persona="promiser"), LONG_PAUSE)
    sim.wait_status(sid, "in-progress")
    updated = sim.client.calls(sid).update(status="completed")
    assert updated.sid == sid
    view = sim.wait(sid)
    assert view["status"] == "completed"
    assert view["duration"] < 3000
    assert "Still there?" not in [t["text"] for t in view["transcript"]]
    interrupted = [e["detail"]["reason"] for e in view["events"] if e["type"] == "interrupted"]
    assert interrupted == ["hung up via the REST API"]


def test_hanging_up_a_call_that_still_rings_cancels_it(sim: Harness) -> None:
    sim.reset(speed=20)  # 60 s of ringing take 3 real seconds
    sid = sim.place(sim.register(new_number(), persona="no_answer"), SAY)
    sim.wait_status(sid, "ringing")
    sim.client.calls(sid).update(status="canceled")
    view = sim.wait(sid)
    assert view["status"] == "canceled"
    assert view["answered_at"] is None
    assert [s["CallStatus"] for s in sim.statuses(sid)][-1] == "canceled"


def test_the_sdk_redirects_a_live_call_to_new_twiml_or_a_new_url(sim: Harness) -> None:
    sid = sim.place(sim.register(new_number(), persona="payer"), LONG_PAUSE)
    sim.wait_status(sid, "in-progress")
    sim.client.calls(sid).update(twiml="<Response><Say>Transferring you now.</Say></Response>")
    view = sim.wait(sid)
    said = [t["text"] for t in view["transcript"] if t["speaker"] == "agent"]
    assert said == ["Please hold.", "Transferring you now."]

    sid = sim.place(sim.register(new_number(), persona="payer"), LONG_PAUSE)
    sim.wait_status(sid, "in-progress")
    url = sim.webhooks.on("polite-end", "<Response><Say>Goodbye.</Say><Hangup/></Response>")
    sim.client.calls(sid).update(url=url, method="POST")
    view = sim.wait(sid)
    assert [t["text"] for t in view["transcript"]] == ["Please hold.", "Goodbye."]
    redirect = [e for e in view["events"] if e["type"] == "webhook"][-1]["detail"]
    assert redirect["purpose"] == "api_redirect"
    assert redirect["url"] == url
    assert sim.webhooks.hits_on("/twiml/polite-end", sid)[0].valid


def test_redirecting_an_ended_call_is_refused_like_twilio(sim: Harness) -> None:
    sid = sim.place(sim.register(new_number(), persona="busy"), SAY)
    sim.wait(sid)
    with pytest.raises(TwilioRestException) as refused:
        sim.client.calls(sid).update(url="http://webhooks.test/twiml/x")
    assert (refused.value.status, refused.value.code) == (400, 21220)


@pytest.mark.parametrize(
    ("to", "code"),
    [("12345", 21211), ("+91123", 21211), ("+9198123456789012", 21211)],
)
def test_invalid_numbers_are_refused_with_twilio_codes(sim: Harness, to: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as refused:
        sim.client.calls.create(to=to, from_=CALLER_ID, url="http://webhooks.test/twiml/x")
    assert (refused.value.status, refused.value.code) == (400, code)
    assert to in refused.value.msg
    assert sim.http.get("/_sim/calls").json() == []


def test_wrong_credentials_get_twilios_401(sim: Harness) -> None:
    client = twilio_client(sim.base_url, token="not-the-token")
    with pytest.raises(TwilioRestException) as refused:
        client.calls.create(to=new_number(), from_=CALLER_ID, url="http://webhooks.test/x")
    assert (refused.value.status, refused.value.code) == (401, 20003)

    response = httpx.post(
        f"{sim.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
        data={"To": new_number(), "From": CALLER_ID, "Url": "http://webhooks.test/x"},
    )
    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert response.headers["www-authenticate"].startswith("Basic")
    assert sim.http.get("/_sim/calls").json() == []


def test_another_accounts_resources_are_not_found(sim: Harness) -> None:
    other = "AC" + "6" * 32
    response = httpx.get(
        f"{sim.base_url}/2010-04-01/Accounts/{other}/Calls.json", auth=(ACCOUNT_SID, AUTH_TOKEN)
    )
    assert response.status_code == 404
    assert response.json()["code"] == 20404
    with pytest.raises(TwilioRestException) as missing:
        sim.client.calls("CA" + "0" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


def test_recordings_are_served_as_json_wav_and_mp3_behind_basic_auth(sim: Harness) -> None:
    sid = sim.place(sim.register(new_number(), persona="payer"), SAY, record=True)
    view = sim.wait(sid)
    recording_sid = view["recording_sid"]
    assert re.fullmatch(r"RE[0-9a-f]{32}", recording_sid)

    recording = sim.client.recordings(recording_sid).fetch()
    assert recording.call_sid == sid
    assert recording.status == "completed"
    assert int(recording.duration) == view["duration"]
    assert recording.channels == 1

    base = f"{sim.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}"
    for suffix in ("", ".wav"):
        audio = httpx.get(base + suffix, auth=(ACCOUNT_SID, AUTH_TOKEN))
        assert audio.status_code == 200
        assert audio.headers["content-type"] == "audio/x-wav"
        with wave.open(io.BytesIO(audio.content)) as wav:
            assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (8000, 2, 1)
            assert wav.getnframes() > 0
    mp3 = httpx.get(base + ".mp3", auth=(ACCOUNT_SID, AUTH_TOKEN))
    assert mp3.headers["content-type"] == "audio/mpeg"
    assert mp3.content[:2] == b"\xff\xfb" and len(mp3.content) % 417 == 0
    assert httpx.get(base + ".wav").status_code == 401
    missing = httpx.get(
        base.replace(recording_sid, "RE" + "0" * 32) + ".wav", auth=(ACCOUNT_SID, AUTH_TOKEN)
    )
    assert missing.status_code == 404


def test_the_adapter_deletes_recordings_like_twilio(sim: Harness) -> None:
    from dialer.telephony import TwilioTelephony

    sid = sim.place(sim.register(new_number(), persona="payer"), SAY, record=True)
    recording_sid = sim.wait(sid)["recording_sid"]
    telephony = TwilioTelephony(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=CALLER_ID,
        api_base_url=sim.base_url,
    )  # fmt: skip
    telephony.delete_recording(recording_sid)
    base = f"{sim.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}"
    assert httpx.get(base + ".wav", auth=(ACCOUNT_SID, AUTH_TOKEN)).status_code == 404
    assert httpx.delete(base + ".json").status_code == 401
    telephony.delete_recording(recording_sid)  # already gone: nothing to do
