"""Each TwiML verb executed on a live call, and the errors Twilio reports for bad documents."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from tests.dialer.simulator.conftest import CALLER_ID, Harness, new_number
from tests.dialer.simulator.webhook_server import BASE_URL

APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
IDENTITY = "Hello, this is Demo Bank. Am I speaking with Priya Sharma?"


def _agent_lines(view: dict[str, Any]) -> list[str]:
    return [t["text"] for t in view["transcript"] if t["speaker"] == "agent"]


def _events(view: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in view["events"] if e["type"] == type_]


def test_say_speaks_at_150_words_a_minute_for_each_loop(sim: Harness) -> None:
    words = " ".join(["rupees"] * 50)  # 20 s at 150 words a minute
    view = sim.run(
        sim.register(new_number(), persona="payer"),
        f'<Response><Say loop="3" language="hi-IN">{words}</Say></Response>',
    )
    assert _agent_lines(view) == [words]
    assert view["transcript"][0]["language"] == "hi-IN"
    assert view["duration"] >= 60


def test_pause_and_play_take_their_time(sim: Harness) -> None:
    view = sim.run(
        sim.register(new_number(), persona="payer"),
        '<Response><Pause length="40"/><Play loop="2">https://cdn.test/tone.mp3</Play></Response>',
    )
    assert view["duration"] >= 50
    assert _events(view, "play") == [{"url": "https://cdn.test/tone.mp3", "loop": 2}]
    assert [v["verb"] for v in _events(view, "verb")] == ["Pause", "Play"]


def test_gather_posts_the_borrowers_speech_to_its_action(sim: Harness) -> None:
    to = sim.register(new_number(), persona="promiser", name="Priya Sharma", gender="female")
    response = VoiceResponse()
    gather = Gather(input="speech dtmf", action="next", language="en-IN", hints="haan, yes")
    gather.say(IDENTITY)
    response.append(gather)
    response.say("We did not hear you.")
    sim.webhooks.on("next", "<Response><Say>Thank you.</Say></Response>")
    sid = sim.place(to, str(response))
    view = sim.wait(sid)
    [action] = sim.webhooks.hits_on("/twiml/next", sid)  # "next" resolved against the document
    assert action.valid and action.method == "POST"
    speech = action.params["SpeechResult"]
    assert 0.5 < float(action.params["Confidence"]) <= 1
    assert action.params["CallSid"] == sid
    assert view["transcript"][1] == {
        "speaker": "borrower",
        "text": speech,
        "at": view["transcript"][1]["at"],
        "language": "en-IN",
        "confidence": pytest.approx(float(action.params["Confidence"])),
        "input": "speech",
        "intents": ["confirm_identity"],
    }
    assert _agent_lines(view) == [IDENTITY, "Thank you."]  # the rest of the first document is left


def test_dtmf_only_gather_gets_the_keys(sim: Harness) -> None:
    to = sim.register(new_number(), persona="payer", loan_last4="7315")
    response = VoiceResponse()
    gather = Gather(input="dtmf", num_digits=4, action=f"{BASE_URL}/twiml/keys", method="GET")
    gather.say("Please enter the last four digits of your loan account.")
    response.append(gather)
    sim.webhooks.on("keys", "<Response><Hangup/></Response>")
    sid = sim.place(to, str(response))
    view = sim.wait(sid)
    [keys] = sim.webhooks.hits_on("/twiml/keys", sid)
    assert keys.method == "GET" and keys.valid
    assert keys.params["Digits"] == "7315"
    assert "SpeechResult" not in keys.params
    assert view["transcript"][-1]["input"] == "dtmf"


def test_gather_without_action_posts_to_the_document_itself(sim: Harness) -> None:
    to = sim.register(new_number(), persona="payer")
    calls: list[dict[str, str]] = []

    def script(params: dict[str, str]) -> str:
        calls.append(params)
        if "SpeechResult" in params:
            return "<Response><Hangup/></Response>"
        return f'<Response><Gather input="speech"><Say>{IDENTITY}</Say></Gather></Response>'

    sim.wait(sim.place(to, url=sim.webhooks.on("self", script)))
    assert len(calls) == 2 and "SpeechResult" in calls[1]


@pytest.mark.parametrize(("on_empty", "action_called"), [(False, False), (True, True)])
def test_silence_falls_through_or_posts_an_empty_result(
    sim: Harness, on_empty: bool, action_called: bool
) -> None:
    to = sim.register(new_number(), persona="silent")
    response = VoiceResponse()
    gather = Gather(
        input="speech", action="/twiml/heard", timeout=3, action_on_empty_result=on_empty
    )
    gather.say(IDENTITY)
    response.append(gather)
    response.say("Sorry, we could not hear you. Goodbye.")
    sim.webhooks.on("heard", "<Response><Say>Heard nothing.</Say></Response>")
    sid = sim.place(to, str(response))
    view = sim.wait(sid)
    heard = sim.webhooks.hits_on("/twiml/heard", sid)
    assert bool(heard) is action_called
    if action_called:
        assert "SpeechResult" not in heard[0].params and "Digits" not in heard[0].params
        assert _agent_lines(view) == [IDENTITY, "Heard nothing."]
    else:
        assert _agent_lines(view) == [IDENTITY, "Sorry, we could not hear you. Goodbye."]
    assert [t["speaker"] for t in view["transcript"]].count("borrower") == 0


def test_redirect_fetches_the_next_document(sim: Harness) -> None:
    sim.webhooks.on("second", "<Response><Say>Second document.</Say></Response>")
    view = sim.run(
        sim.register(new_number(), persona="payer"),
        '<Response><Say>First.</Say><Redirect method="GET">second</Redirect><Say>Never.</Say></Response>',
    )
    assert _agent_lines(view) == ["First.", "Second document."]
    redirect = _events(view, "webhook")[-1]
    assert (redirect["purpose"], redirect["method"]) == ("redirect", "GET")
    assert redirect["url"].startswith(f"{BASE_URL}/twiml/second?")


def test_dial_bridges_a_leg_then_posts_its_outcome_to_the_action(sim: Harness) -> None:
    response = VoiceResponse()
    response.say("Connecting you to an officer.")
    dial = Dial(action="/twiml/after-dial", timeout=20)
    dial.number("+919900000000")
    response.append(dial)
    sim.webhooks.on("after-dial", "<Response><Say>The officer has left.</Say></Response>")
    sid = sim.place(sim.register(new_number(), persona="promiser"), str(response))
    view = sim.wait(sid)
    [after] = sim.webhooks.hits_on("/twiml/after-dial", sid)
    params = after.params
    [dialled] = _events(view, "dial")
    assert dialled["targets"] == ["+919900000000"]
    assert params["DialCallStatus"] == dialled["status"]
    assert params["DialCallSid"].startswith("CA") and params["DialCallSid"] != sid
    if params["DialCallStatus"] == "completed":
        assert int(params["DialCallDuration"]) >= 45
        assert view["duration"] >= 45
    assert _agent_lines(view)[-1] == "The officer has left."


def test_dial_without_action_goes_on_with_the_next_verb(sim: Harness) -> None:
    view = sim.run(
        sim.register(new_number(), persona="payer"),
        "<Response><Dial>+919900000000</Dial><Say>Back with the bot.</Say></Response>",
    )
    assert _agent_lines(view) == ["Back with the bot."]
    assert len(_events(view, "dial")) == 1


@pytest.mark.parametrize(
    "document",
    [
        "<Response><Say>Goodbye.</Say><Hangup/><Say>Never said.</Say></Response>",
        "<Response><Say>Goodbye.</Say><Reject/><Say>Never said.</Say></Response>",
        "<Response><Say>Goodbye.</Say></Response>",
    ],
)
def test_hangup_reject_and_the_end_of_the_document_end_the_call(
    sim: Harness, document: str
) -> None:
    view = sim.run(sim.register(new_number(), persona="payer"), document)
    assert _agent_lines(view) == ["Goodbye."]
    assert view["status"] == "completed"
    assert view["error"] is None
    assert _events(view, "ended")[-1]["by"] == "twiml"


@pytest.mark.parametrize(
    ("body", "content_type", "failures", "code"),
    [
        ("<Response><Record/></Response>", "application/xml", [], 12200),
        ("<Response><Say>unclosed</Response>", "text/xml", [], 12100),
        ('{"say": "hello"}', "application/json", [], 12300),
        ("<Response/>", "application/xml", [500], 11200),
    ],
)
def test_bad_documents_are_an_application_error(
    sim: Harness, body: str, content_type: str, failures: list[int], code: int
) -> None:
    to = sim.register(new_number(), persona="payer")
    sim.webhooks.content_types[f"/twiml/start-{to}"] = content_type
    sim.webhooks.failures[f"/twiml/start-{to}"] = list(failures)
    view = sim.run(to, body)
    assert view["error"]["code"] == code
    assert _agent_lines(view) == [APPLICATION_ERROR]
    assert view["status"] == "completed"
    assert _events(view, "error")[0]["code"] == code
    assert _events(view, "ended")[-1]["by"] == "application_error"


def test_inline_twiml_needs_no_url(sim: Harness) -> None:
    to = sim.register(new_number(), persona="payer")
    call = sim.client.calls.create(
        to=to, from_=CALLER_ID, twiml="<Response><Say>Inline hello.</Say></Response>"
    )
    sid = call.sid
    view = sim.wait(sid)
    assert _agent_lines(view) == ["Inline hello."]
    assert sim.webhooks.hits_on("/twiml/", sid) == []
