"""TwiML parsing: every verb duecall uses, and the documents Twilio refuses."""

from __future__ import annotations

import pytest
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from dialer.simulator import twiml
from duecall.errors import SimulatorError


def _sdk_gather() -> str:
    response = VoiceResponse()
    gather = Gather(
        input="speech dtmf",
        action="/calls/next",
        method="POST",
        timeout=4,
        speech_timeout="auto",
        language="hi-IN",
        num_digits=4,
        hints="haan, nahi",
        action_on_empty_result=True,
    )
    gather.say("क्या मेरी बात प्रिया से हो रही है?", language="hi-IN")
    gather.pause(length=1)
    response.append(gather)
    return str(response)


def _sdk_dial() -> str:
    response = VoiceResponse()
    dial = Dial(action="/dialled", timeout=20, caller_id="+918045678901")
    dial.number("+919812345678")
    response.append(dial)
    return str(response)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("<Response/>", ()),
        ("<Response><Say>Hello</Say></Response>", (twiml.Say("Hello"),)),
        (
            '<Response><Say language="en-IN" voice="Polly.Aditi" loop="2">Hi  there</Say></Response>',
            (twiml.Say("Hi there", "en-IN", "Polly.Aditi", 2),),
        ),
        (
            '<Response><Say loop="0">again</Say></Response>',
            (twiml.Say("again", loop=twiml.MAX_LOOP),),
        ),
        (
            "<Response><Say>Please <prosody rate='slow'>listen</prosody> carefully</Say></Response>",
            (twiml.Say("Please listen carefully"),),
        ),
        (
            "<Response><Play>https://x.test/a.mp3</Play></Response>",
            (twiml.Play("https://x.test/a.mp3"),),
        ),
        ('<Response><Pause length="3"/></Response>', (twiml.Pause(3),)),
        ("<Response><Pause/></Response>", (twiml.Pause(1),)),
        (
            '<Response><Redirect method="GET">/next</Redirect></Response>',
            (twiml.Redirect("/next", "GET"),),
        ),
        ("<Response><Redirect>/next</Redirect></Response>", (twiml.Redirect("/next", "POST"),)),
        ("<Response><Hangup/></Response>", (twiml.Hangup(),)),
        ('<Response><Reject reason="busy"/></Response>', (twiml.Reject("busy"),)),
        ("<Response><Dial>+919812345678</Dial></Response>", (twiml.Dial(("+919812345678",)),)),
        (
            "<Response><Dial><Client>agent7</Client><Sip>sip:a@b.test</Sip></Dial></Response>",
            (twiml.Dial(("agent7", "sip:a@b.test")),),
        ),
        (
            _sdk_dial(),
            (twiml.Dial(("+919812345678",), "/dialled", "POST", 20, "+918045678901"),),
        ),
        (
            _sdk_gather(),
            (
                twiml.Gather(
                    inputs=frozenset({"speech", "dtmf"}),
                    action="/calls/next",
                    method="POST",
                    timeout=4,
                    speech_timeout=None,
                    language="hi-IN",
                    num_digits=4,
                    hints=("haan", "nahi"),
                    action_on_empty_result=True,
                    prompts=(twiml.Say("क्या मेरी बात प्रिया से हो रही है?", "hi-IN"), twiml.Pause(1)),
                ),
            ),
        ),
        (
            '<Response><Gather input="speech" speechTimeout="2" finishOnKey="*"/></Response>',
            (twiml.Gather(inputs=frozenset({"speech"}), speech_timeout=2, finish_on_key="*"),),
        ),
        (
            "<Response><Say>a</Say><Gather/><Say>b</Say><Hangup/></Response>",
            (twiml.Say("a"), twiml.Gather(), twiml.Say("b"), twiml.Hangup()),
        ),
    ],
)
def test_parses_voice_verbs(document: str, expected: tuple[object, ...]) -> None:
    assert twiml.parse_twiml(document) == twiml.Document(expected)


@pytest.mark.parametrize(
    ("document", "code", "fragment"),
    [
        ("<Response><Say>unclosed</Response>", twiml.DOCUMENT_PARSE_FAILURE, "parse failure"),
        ("not xml at all", twiml.DOCUMENT_PARSE_FAILURE, "parse failure"),
        ("", twiml.DOCUMENT_PARSE_FAILURE, "parse failure"),
        ("<Say>Hello</Say>", twiml.DOCUMENT_PARSE_FAILURE, "<Response>"),
        ("<Response><Record/></Response>", twiml.SCHEMA_VALIDATION, "<Record>"),
        ("<Response><Enqueue>q</Enqueue></Response>", twiml.SCHEMA_VALIDATION, "<Enqueue>"),
        ("<Response><Gather><Dial>1</Dial></Gather></Response>", twiml.SCHEMA_VALIDATION, "<Dial>"),
        (
            "<Response><Dial><Conference>c</Conference></Dial></Response>",
            twiml.SCHEMA_VALIDATION,
            "<Conference>",
        ),
        ("<Response><Say></Say></Response>", twiml.SCHEMA_VALIDATION, "empty"),
        ("<Response><Redirect/></Response>", twiml.SCHEMA_VALIDATION, "empty"),
        ('<Response><Say loop="twice">x</Say></Response>', twiml.SCHEMA_VALIDATION, "loop"),
        ('<Response><Pause length="-1"/></Response>', twiml.SCHEMA_VALIDATION, "length"),
        ('<Response><Gather input="voice"/></Response>', twiml.SCHEMA_VALIDATION, "input"),
        ('<Response><Gather timeout="0"/></Response>', twiml.SCHEMA_VALIDATION, "timeout"),
        (
            '<Response><Gather actionOnEmptyResult="yes"/></Response>',
            twiml.SCHEMA_VALIDATION,
            "true or false",
        ),
        (
            '<Response><Redirect method="PUT">/x</Redirect></Response>',
            twiml.SCHEMA_VALIDATION,
            "GET or POST",
        ),
    ],
)
def test_refuses_documents_twilio_refuses(document: str, code: int, fragment: str) -> None:
    with pytest.raises(SimulatorError) as refused:
        twiml.parse_twiml(document)
    assert refused.value.code == code
    assert fragment in refused.value.message
