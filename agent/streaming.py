"""Twilio ConversationRelay, the protocol: the TwiML that starts a session, and its WebSocket
messages. Pure; `agent.relay` runs the sessions.

Twilio opens a WebSocket to the `<ConversationRelay url>` (its handshake signed with
X-Twilio-Signature over that URL, like any webhook), sends `setup` first, then `prompt` (what
the caller said, transcribed), `dtmf` (a key pressed), `interrupt` (the caller spoke over the
agent: `utteranceUntilInterrupt` is what they heard) and `error`. The application answers with
`text` tokens (`last: true` ends a reply) and `end` (Twilio then requests the `<Connect
action>` URL, with `HandoffData`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from agent.conversation import Reply


def ws_base(public_base_url: str) -> str:
    """The WebSocket origin for the public base URL: https → wss, http → ws."""
    if public_base_url.startswith("https://"):
        return "wss://" + public_base_url.removeprefix("https://")
    return "ws://" + public_base_url.removeprefix("http://")


def relay_url(public_base_url: str, call_id: str) -> str:
    return f"{ws_base(public_base_url)}/twilio/relay/{call_id}"


def ended_url(public_base_url: str, call_id: str) -> str:
    return f"{public_base_url}/twilio/relay/{call_id}/ended"


def relay_twiml(reply: Reply, *, call_id: str, public_base_url: str) -> str:
    """`<Connect><ConversationRelay>`: the reply is the session's welcome line, and the caller's
    speech and keypad come back over the WebSocket."""
    response = VoiceResponse()
    connect = response.connect(action=ended_url(public_base_url, call_id), method="POST")
    connect.conversation_relay(
        url=relay_url(public_base_url, call_id),
        welcome_greeting=reply.text,
        language=reply.language,
        dtmf_detection=True,
        interruptible="any",
        welcome_greeting_interruptible="any",
    )
    return str(response)


@dataclass(frozen=True, slots=True)
class Setup:
    call_sid: str
    session_id: str


@dataclass(frozen=True, slots=True)
class Prompt:
    text: str
    last: bool = True  # partial prompts (partialPrompts="true") come with last false


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str


@dataclass(frozen=True, slots=True)
class Interrupt:
    heard: str  # the agent's words the caller heard before speaking over them
    after_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Error:
    description: str


Message = Setup | Prompt | Dtmf | Interrupt | Error


class BadMessage(ValueError):
    """A WebSocket message that is not one of ConversationRelay's."""


def parse(raw: str) -> Message:
    try:
        data: Any = json.loads(raw)
    except ValueError:
        raise BadMessage("not JSON") from None
    if not isinstance(data, dict):
        raise BadMessage("not a JSON object")
    kind = data.get("type")
    if kind == "setup":
        return Setup(str(data.get("callSid", "")), str(data.get("sessionId", "")))
    if kind == "prompt":
        return Prompt(str(data.get("voicePrompt", "")), bool(data.get("last", True)))
    if kind == "dtmf":
        return Dtmf(str(data.get("digit", "")))
    if kind == "interrupt":
        after = data.get("durationUntilInterruptMs")
        return Interrupt(
            str(data.get("utteranceUntilInterrupt", "")),
            int(after) if isinstance(after, int | str) and str(after).isdigit() else None,
        )
    if kind == "error":
        return Error(str(data.get("description", "")))
    raise BadMessage(f"unknown message type {kind!r}")


def text(token: str, *, last: bool) -> dict[str, Any]:
    return {"type": "text", "token": token, "last": last}


def end(turn: int) -> dict[str, Any]:
    """End the session; Twilio then asks the action URL what to do, with this handoff."""
    return {"type": "end", "handoffData": json.dumps({"turn": turn})}


def handoff_turn(handoff: str | None) -> int | None:
    """The turn an `end` handed over, from the action request's HandoffData."""
    if not handoff:
        return None
    try:
        data = json.loads(handoff)
    except ValueError:
        return None
    turn = data.get("turn") if isinstance(data, dict) else None
    return turn if isinstance(turn, int) else None
