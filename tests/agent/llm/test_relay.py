"""ConversationRelay: after verification the call streams over a WebSocket, driven here by a
WebSocket client speaking Twilio's protocol (setup, prompt, dtmf, interrupt; text tokens and end
back), against the stand-in model."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect
from twilio.request_validator import RequestValidator

from agent.llm.standin import Answer, StandIn, reply, stall, tool
from agent.models import LlmTurn
from dialer.models import WebhookEvent
from dialer.providers import SIMULATOR_AUTH_TOKEN
from duecall.clock import FixedClock
from duecall.live import free_socket, serving
from duecall.settings import Settings
from server import create_app
from tests.agent.llm.conftest import llm_settings
from tests.agent.test_voice import SID, Line, RecordingTelephony, Twiml, line, stored
from tests.conftest import NOW, Database

READ_BACK = "To confirm: you will pay 5,000 rupees by Thursday, 5 March. Is that correct?"


@pytest.fixture
def settings(db: Database, standin_server: tuple[StandIn, str]) -> Settings:
    return llm_settings(db, standin_server[1], DUECALL_LLM_TRANSPORT="relay")


def signature(url: str) -> str:
    return str(RequestValidator(SIMULATOR_AUTH_TOKEN).compute_signature(url, {}))


def relay_path(call_id: str = "CALL1") -> str:
    return f"/twilio/relay/{call_id}"


def verified(
    client: TestClient, settings: Settings, db: Database, **account: Any
) -> tuple[Line, ET.Element]:
    """Answered, confirmed, verified over webhooks; the last TwiML hands over to the relay."""
    call = line(client, settings, db, **account)
    call.answer()
    call.say("yes")
    response = call.post(call.heard[-1].action or "", {"SpeechResult": "4242", "Confidence": "0.9"})
    assert response.status_code == 200
    root = ET.fromstring(response.text)
    return call, root


@pytest.fixture
def relay(client: TestClient, settings: Settings, db: Database) -> Iterator[WebSocketTestSession]:
    verified(client, settings, db)
    url = f"ws://127.0.0.1:8000{relay_path()}"
    with client.websocket_connect(
        relay_path(), headers={"X-Twilio-Signature": signature(url)}
    ) as ws:
        ws.send_json({"type": "setup", "sessionId": "VX1", "callSid": SID, "from": "+911140000000",
                      "to": "+919812345678", "direction": "outbound-api", "customParameters": {}})  # fmt: skip
        yield ws


def prompt(ws: WebSocketTestSession, text: str) -> None:
    ws.send_json({"type": "prompt", "voicePrompt": text, "lang": "en-IN", "last": True})


def hear_reply(ws: WebSocketTestSession) -> tuple[list[str], dict[str, Any] | None]:
    """Text tokens up to the one marked last; or the end message."""
    tokens: list[str] = []
    while True:
        message = ws.receive_json()
        if message["type"] == "end":
            return tokens, message
        assert message["type"] == "text", message
        if message["last"]:
            return tokens, None
        tokens.append(message["token"])


def llm_turns(db: Database) -> list[LlmTurn]:
    with db.session() as session:
        rows = list(session.scalars(select(LlmTurn).order_by(LlmTurn.id)))
        session.expunge_all()
        return rows


def ended(call: Line, settings: Settings, **params: str) -> Twiml:
    response = call.post(
        f"{settings.public_base_url}/twilio/relay/CALL1/ended", {"SessionId": "VX1", **params}
    )
    assert response.status_code == 200
    return Twiml.parse(response.text)


# --- the hand-over -------------------------------------------------------------------------------


def test_after_verification_the_call_connects_to_the_relay(
    client: TestClient, settings: Settings, db: Database, standin: StandIn
) -> None:
    _call, root = verified(client, settings, db)
    connect = root.find("Connect")
    assert (
        connect is not None
        and connect.get("action") == f"{settings.public_base_url}/twilio/relay/CALL1/ended"
    )
    relay_noun = connect.find("ConversationRelay")
    assert relay_noun is not None
    assert relay_noun.get("url") == "ws://127.0.0.1:8000/twilio/relay/CALL1"
    assert relay_noun.get("welcomeGreeting", "").startswith(
        "Thank you, Priya. Your loan account ending 4 2 4 2"
    )
    assert relay_noun.get("language") == "en-IN" and relay_noun.get("dtmfDetection") == "true"
    assert standin.exchanges == []


def test_the_handshake_must_be_signed_for_the_websocket_url(
    client: TestClient, settings: Settings, db: Database
) -> None:
    verified(client, settings, db)
    for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
                    {"X-Twilio-Signature": signature("https://127.0.0.1:8000/twilio/relay/CALL1")}):  # fmt: skip
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(relay_path(), headers=headers),
        ):
            pass
        assert refused.value.code == 1008


def test_a_scripted_server_refuses_relay_sessions(api_settings: Settings, db: Database) -> None:
    with TestClient(
        create_app(api_settings, FixedClock(NOW), telephony=RecordingTelephony())
    ) as client:
        line(client, api_settings, db).answer()
        url = f"ws://127.0.0.1:8000{relay_path()}"
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(relay_path(), headers={"X-Twilio-Signature": signature(url)}),
        ):
            pass
    assert refused.value.code == 1008


def test_setup_must_name_the_calls_own_sid(
    client: TestClient, settings: Settings, db: Database
) -> None:
    verified(client, settings, db)
    url = f"ws://127.0.0.1:8000{relay_path()}"
    with client.websocket_connect(
        relay_path(), headers={"X-Twilio-Signature": signature(url)}
    ) as ws:
        ws.send_json({"type": "setup", "sessionId": "VX1", "callSid": "CA" + "9" * 32})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008


# --- streaming turns ----------------------------------------------------------------------------


def test_a_promise_streams_and_ends_with_the_stored_closing(
    client: TestClient,
    settings: Settings,
    db: Database,
    standin: StandIn,
    relay: WebSocketTestSession,
) -> None:
    worded = "Sure, Priya. So 5,000 rupees by Thursday, 5 March. Is that right?"
    standin.script(reply(worded))
    prompt(relay, "I will pay 5000 on the 5th")
    tokens, end = hear_reply(relay)
    assert end is None and "".join(tokens) == worded and len(tokens) > 3
    prompt(relay, "yes")
    tokens, end = hear_reply(relay)
    assert tokens == [] and end is not None and json.loads(end["handoffData"]) == {"turn": 4}
    call = Line(client, settings, "CALL1")
    closing = ended(call, settings, SessionStatus="ended", HandoffData=end["handoffData"])
    assert closing.hangs_up and "noted that you will pay 5,000 rupees" in closing.text

    record = stored(db)
    assert record.call.disposition == "PTP" and len(record.promises) == 1
    assert ("agent", worded) in record.turns and (
        "borrower",
        "I will pay 5000 on the 5th",
    ) in record.turns
    (used,) = llm_turns(db)
    assert (used.task, used.outcome) == ("phrase", "spoken")
    assert used.first_token_ms is not None and used.prompt_tokens


def test_the_first_word_is_forwarded_on_its_own(
    standin: StandIn, db: Database, relay: WebSocketTestSession
) -> None:
    """The first piece of a reply is sent as it arrives, not with the piece after it (which the
    stand-in sends well after: any waiting on it would show as the two arriving together)."""
    worded = "We understand. So 5,000 rupees by Thursday, 5 March. Is that right?"
    standin.script(reply(worded, chunk_delay_s=0.15))
    prompt(relay, "I will pay 5000 on the 5th")
    tokens, _ = hear_reply(relay)
    assert tokens[0] == "We" and tokens[1] == " understand." and "".join(tokens) == worded
    (used,) = llm_turns(db)
    assert used.outcome == "spoken" and used.first_token_ms is not None


def test_a_reply_stopped_by_a_guard_goes_on_with_the_scripted_line(
    standin: StandIn, db: Database, relay: WebSocketTestSession
) -> None:
    standin.script(
        reply("Okay. Otherwise we take legal action. So 5,000 rupees by Thursday, 5 March?")
    )
    prompt(relay, "I will pay 5000 on the 5th")
    tokens, _ = hear_reply(relay)
    said = "".join(tokens)
    assert said == "Okay. Otherwise we take " + READ_BACK
    assert "legal" not in said
    (used,) = llm_turns(db)
    assert used.outcome == "replaced" and (used.detail or "").startswith("legal")
    assert ("agent", said) in stored(db).turns


@pytest.mark.parametrize(
    "answer",
    [stall(5), Answer(status=503, body='{"error": {"message": "down"}}')],
    ids=["timeout", "503"],
)
def test_no_answer_in_time_streams_the_scripted_line(
    db: Database, standin_server: tuple[StandIn, str], standin: StandIn, answer: Answer
) -> None:
    settings = llm_settings(
        db, standin_server[1], DUECALL_LLM_TRANSPORT="relay", DUECALL_LLM_BUDGET_S="0.3"
    )
    with TestClient(
        create_app(settings, FixedClock(NOW), telephony=RecordingTelephony())
    ) as client:
        verified(client, settings, db)
        url = f"ws://127.0.0.1:8000{relay_path()}"
        with client.websocket_connect(
            relay_path(), headers={"X-Twilio-Signature": signature(url)}
        ) as ws:
            ws.send_json({"type": "setup", "sessionId": "VX1", "callSid": SID})
            standin.script(answer)
            prompt(ws, "I will pay 5000 on the 5th")
            tokens, _ = hear_reply(ws)
    assert "".join(tokens) == READ_BACK
    assert [t.outcome for t in llm_turns(db)] in (["timeout"], ["error"])


def test_a_tool_call_streams_the_state_machines_line(
    standin: StandIn, db: Database, relay: WebSocketTestSession
) -> None:
    standin.script(
        tool("set_disposition", {"disposition": "DISPUTE", "borrower_words": "mera bhai dekh lega"})
    )
    prompt(relay, "mera bhai dekh lega")
    tokens, _ = hear_reply(relay)
    assert "".join(tokens) == "Just to confirm, you dispute this amount. Is that right?"
    prompt(relay, "haan")
    _, end = hear_reply(relay)
    assert end is not None
    assert stored(db).call.disposition == "DISPUTE"


def test_keypad_answers_a_yes_or_no_question(
    standin: StandIn, db: Database, relay: WebSocketTestSession
) -> None:
    prompt(relay, "I will pay 5000 on the 5th")
    tokens, _ = hear_reply(relay)
    assert "".join(tokens) == READ_BACK  # the default stand-in says the agent's line
    relay.send_json({"type": "dtmf", "digit": "1"})
    _, end = hear_reply(relay)
    assert end is not None
    record = stored(db)
    assert record.call.disposition == "PTP" and ("borrower", "[keypad 1]") in record.turns


def test_keypad_digits_are_one_answer_up_to_the_hash(
    standin: StandIn, db: Database, relay: WebSocketTestSession
) -> None:
    prompt(relay, "no")
    hear_reply(relay)  # by which date?
    prompt(relay, "on the 5th")
    tokens, _ = hear_reply(relay)
    assert "".join(tokens) == "How much will you pay by Thursday, 5 March?"
    for digit in "3000#":
        relay.send_json({"type": "dtmf", "digit": digit})
    tokens, _ = hear_reply(relay)
    assert "3,000 rupees" in "".join(tokens)


# --- interruptions ------------------------------------------------------------------------------


def test_an_interrupt_keeps_only_what_was_heard_in_the_models_context(
    standin: StandIn, db: Database, relay: WebSocketTestSession
) -> None:
    long_reply = "I understand, Priya. You can pay by UPI, net banking or at any branch. Can you pay the overdue amount today?"
    standin.script(reply(long_reply, chunk_delay_s=0.05))
    prompt(relay, "can I pay through Paytm?")
    received = ""
    while "Priya." not in received:
        message = relay.receive_json()
        assert message["type"] == "text" and not message["last"]
        received += message["token"]
    relay.send_json(
        {
            "type": "interrupt",
            "utteranceUntilInterrupt": "I understand,",
            "durationUntilInterruptMs": "900",
        }
    )
    tokens, _ = hear_reply(relay)
    assert len(tokens) < len(long_reply.split(" ")) - 1  # the rest was not sent
    standin.script(reply("Of course. Can you pay the overdue amount today?"))
    prompt(relay, "kya aap mujhe bata sakte ho ki itna zyada kyun hai")
    hear_reply(relay)
    record = stored(db)
    assert ("agent", "I understand,") in record.turns
    assert long_reply not in [t for _, t in record.turns]
    history = [m["content"] for m in standin.exchanges[-1].messages if m["role"] == "assistant"]
    assert history[-1] == "I understand,"


def test_an_interrupted_read_back_is_asked_again_before_a_yes_counts(
    standin: StandIn, db: Database, relay: WebSocketTestSession
) -> None:
    prompt(relay, "I will pay 5000 on the 5th")
    tokens, _ = hear_reply(relay)
    assert "".join(tokens) == READ_BACK
    # Twilio was still speaking the read-back when the borrower spoke over it.
    relay.send_json(
        {
            "type": "interrupt",
            "utteranceUntilInterrupt": "To confirm: you will pay",
            "durationUntilInterruptMs": 1200,
        }
    )
    prompt(relay, "yes")
    tokens, end = hear_reply(relay)
    assert end is None and "".join(tokens) == READ_BACK
    assert stored(db).call.disposition is None
    assert ("agent", "To confirm: you will pay") in stored(db).turns
    prompt(relay, "yes")
    _, end = hear_reply(relay)
    assert end is not None and stored(db).call.disposition == "PTP"


# --- when the session ends otherwise --------------------------------------------------------------


def test_a_failed_session_goes_on_with_webhooks(
    client: TestClient, settings: Settings, db: Database, standin: StandIn
) -> None:
    call, _ = verified(client, settings, db)
    again = ended(call, settings, SessionStatus="failed", ErrorCode="64105")
    assert again.listens and "Can you pay the overdue amount today?" in again.text
    call.heard.append(again)
    standin.script(reply("So 5,000 rupees by Thursday, 5 March. Is that right?"))
    read_back = call.say("I will pay 5000 on the 5th")
    assert read_back.listens and read_back.text.startswith("So 5,000 rupees")
    assert call.say("yes").hangs_up
    assert stored(db).call.disposition == "PTP"
    with db.session() as session:
        assert (
            session.scalar(select(WebhookEvent.kind).where(WebhookEvent.kind == "relay_failed"))
            == "relay_failed"
        )


# --- over a real socket -------------------------------------------------------------------------


def test_over_a_real_socket_signed_connects_and_unsigned_gets_403(
    db: Database, standin_server: tuple[StandIn, str], standin: StandIn
) -> None:
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = llm_settings(
        db, standin_server[1], DUECALL_LLM_TRANSPORT="relay", DUECALL_PUBLIC_BASE_URL=base
    )
    app = create_app(settings, FixedClock(NOW), telephony=RecordingTelephony())
    with serving(app, sock), TestClient(app) as client:
        verified(client, settings, db)
        url = f"ws://127.0.0.1:{sock.getsockname()[1]}{relay_path()}"

        async def converse() -> list[str]:
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(url):
                    pass
            assert refused.value.response.status_code == 403
            async with websockets.connect(
                url, additional_headers={"X-Twilio-Signature": signature(url)}
            ) as ws:
                await ws.send(json.dumps({"type": "setup", "sessionId": "VX1", "callSid": SID}))
                await ws.send(
                    json.dumps(
                        {
                            "type": "prompt",
                            "voicePrompt": "I will pay 5000 on the 5th",
                            "last": True,
                        }
                    )
                )
                tokens = []
                while True:
                    message = json.loads(await ws.recv())
                    if message["last"]:
                        return tokens
                    tokens.append(message["token"])

        standin.script(
            reply("So 5,000 rupees by Thursday, 5 March. Is that right?", chunk_delay_s=0.01)
        )
        tokens = asyncio.run(converse())
    assert (
        "".join(tokens) == "So 5,000 rupees by Thursday, 5 March. Is that right?"
        and len(tokens) > 3
    )


def test_a_reply_not_heard_at_all_leaves_the_models_context(
    standin: StandIn, db: Database, relay: WebSocketTestSession
) -> None:
    prompt(relay, "I will pay 5000 on the 5th")
    hear_reply(relay)
    relay.send_json(
        {"type": "interrupt", "utteranceUntilInterrupt": "", "durationUntilInterruptMs": 0}
    )
    prompt(relay, "yes")
    tokens, end = hear_reply(relay)
    assert end is None and "".join(tokens) == READ_BACK  # asked again, not taken as a yes
    agent_lines = [text for who, text in stored(db).turns if who == "agent"]
    assert agent_lines.count(READ_BACK) == 1  # the unheard one is gone, the repeat is there
