"""ConversationRelay sessions: after verification, an LLM-mode call streams (`DUECALL_LLM_TRANSPORT
=relay`). Twilio transcribes the borrower and speaks the agent's text tokens as they arrive.

- `WS /twilio/relay/{call_id}`: the handshake must carry a valid X-Twilio-Signature for the
  WebSocket URL (`wss://` + the public host + path), or it is refused (HTTP 403). `setup` must
  name the call's own CallSid.
- Each `prompt` (or keypad entry) is one borrower turn: planned by the state machine, answered
  by the model within the budget, its text forwarded as the guards let it through, then stored
  exactly as a webhook turn is (`agent.service.take_turn`: transcript, state, outcome, once).
- `interrupt`: the borrower spoke over the agent. The reply being streamed stops, and the
  transcript — the model's context for the next turn — keeps only what they heard
  (`utteranceUntilInterrupt`); a read-back or confirmation they did not hear to the end is asked
  again before a yes or no counts.
- A closing ends the session (`end`); Twilio then requests `POST /twilio/relay/{call_id}/ended`,
  which answers with the turn's stored TwiML (the closing line, then hang-up or transfer). A
  session that fails or ends otherwise falls back to a webhook per turn for the rest of the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import datetime
from functools import partial

import anyio.to_thread
from fastapi import APIRouter, Depends, Response, WebSocket, WebSocketDisconnect, WebSocketException
from sqlalchemy import select

from agent import streaming
from agent.conversation import Reply, Said, State, Step, Then, interrupted
from agent.llm.responder import Prepared
from agent.llm.store import (
    RELAY_FAILED,
    heard_until,
    load_turn,
    stored_twiml,
)
from agent.llm.turns import Answer, LlmRecord, Plan, TurnInput, plan, stream_answer
from agent.models import LlmOutcome
from agent.service import Turn, hang_up, render, state_of, take_turn
from crm.models import Call
from dialer.calls import TERMINAL
from dialer.telephony import Telephony
from dialer.webhooks import TwilioParams, first_time
from duecall.access import access_check
from duecall.context import AppContext
from duecall.db import read_session, transaction
from duecall.deps import ContextDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/twilio", tags=["twilio webhooks"], include_in_schema=False)
TWIML = "application/xml"
POLICY_VIOLATION = 1008  # WebSocket close code
YES_NO_STEPS = frozenset({Step.PAYMENT, Step.READ_BACK, Step.CONFIRM})


@access_check
async def signed_handshake(websocket: WebSocket) -> None:
    """Refuse the handshake (HTTP 403) unless its X-Twilio-Signature signs the public wss URL."""
    context: AppContext = websocket.app.state.context
    telephony: Telephony = websocket.app.state.telephony
    url = streaming.ws_base(context.settings.public_base_url) + websocket.url.path
    if websocket.url.query:
        url += "?" + websocket.url.query
    signature = websocket.headers.get("x-twilio-signature", "")
    if not signature or not telephony.signature_valid(url, {}, signature):
        log.warning(
            "relay for call %s refused: invalid or missing X-Twilio-Signature",
            websocket.path_params.get("call_id"),
        )
        raise WebSocketException(POLICY_VIOLATION, "invalid or missing X-Twilio-Signature")


@router.websocket("/relay/{call_id}", dependencies=[Depends(signed_handshake)])
async def relay(websocket: WebSocket, call_id: str) -> None:
    context: AppContext = websocket.app.state.context
    if context.llm is None:
        log.warning("relay for call %s refused: DUECALL_AGENT_MODE is not llm", call_id)
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    await RelaySession(context, call_id, websocket).run()


class RelaySession:
    """One ConversationRelay WebSocket: its turns run one at a time, each as a tracked task."""

    def __init__(self, context: AppContext, call_id: str, websocket: WebSocket) -> None:
        self.context = context
        self.call_id = call_id
        self.websocket = websocket
        self.call_sid: str | None = None
        self.step: Step | None = None
        self.digits = ""
        self.turn_task: asyncio.Task[None] | None = None
        self.speaking: asyncio.Task[Answer] | None = None
        self.heard: str | None = None  # set by an interrupt while a reply streams
        self.sent: list[str] = []
        self.closed = False  # the socket is gone

    async def run(self) -> None:
        try:
            while True:
                raw = await self.websocket.receive_text()
                try:
                    message = streaming.parse(raw)
                except streaming.BadMessage as exc:
                    log.warning("call %s: relay message ignored: %s", self.call_id, exc)
                    continue
                if not await self.on(message):
                    return
        except WebSocketDisconnect:
            pass
        finally:
            await self._stop()

    async def on(self, message: streaming.Message) -> bool:
        """Handle one message; False ends the session."""
        if isinstance(message, streaming.Setup):
            return await self._setup(message)
        if self.call_sid is None:
            log.warning("call %s: relay message before setup ignored", self.call_id)
            return True
        if isinstance(message, streaming.Prompt):
            if message.last and message.text.strip():
                await self._start(Said(text=message.text))
        elif isinstance(message, streaming.Dtmf):
            await self._key(message.digit)
        elif isinstance(message, streaming.Interrupt):
            await self._interrupt(message.heard)
        elif isinstance(message, streaming.Error):
            log.warning("call %s: ConversationRelay error: %s", self.call_id, message.description)
        return True

    async def _setup(self, setup: streaming.Setup) -> bool:
        step = await anyio.to_thread.run_sync(self._call_step, setup.call_sid)
        if step is None:
            log.warning("call %s: relay setup for another or finished call refused", self.call_id)
            await self.websocket.close(code=POLICY_VIOLATION)
            return False
        self.call_sid, self.step = setup.call_sid, step
        return True

    def _call_step(self, call_sid: str) -> Step | None:
        with read_session(self.context.sessions) as session:
            call = session.get(Call, self.call_id)
            if call is None or call.status in TERMINAL or call.provider_call_sid != call_sid:
                return None
            state = state_of(call.conversation)
            return None if state is None or state.step is Step.ENDED else state.step

    async def _key(self, digit: str) -> None:
        if digit == "#":
            digits, self.digits = self.digits, ""
            if digits:
                await self._start(Said(digits=digits))
            return
        if self.step in YES_NO_STEPS and not self.digits and digit in ("1", "2"):
            await self._start(Said(digits=digit))
            return
        self.digits += digit

    async def _start(self, said: Said) -> None:
        await self._settle()
        self.turn_task = asyncio.create_task(self._turn(said), name=f"relay-turn-{self.call_id}")

    async def _settle(self) -> None:
        """Let the turn in hand finish (stored) before the next one starts."""
        if self.turn_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.turn_task
            self.turn_task = None

    async def _interrupt(self, heard: str) -> None:
        if self.speaking is not None and not self.speaking.done():
            self.heard = heard
            self.speaking.cancel()
            return
        await self._settle()
        await anyio.to_thread.run_sync(heard_until, self.context, self.call_id, heard)

    async def _send(self, token: str) -> None:
        self.sent.append(token)
        await self._deliver(streaming.text(token, last=False))

    async def _deliver(self, message: dict[str, object]) -> None:
        """Send to Twilio; once the socket is gone, the turn still finishes and is stored."""
        if self.closed:
            return
        try:
            await self.websocket.send_json(message)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closed = True

    async def _turn(self, said: Said) -> None:
        context = self.context
        now = context.clock.now()
        # Read and planned in a worker thread: the event loop is left to forward other calls'
        # tokens.
        loaded = await anyio.to_thread.run_sync(self._load, said, now)
        if loaded is None:
            return
        turn_input, planned = loaded
        self.sent, self.heard = [], None
        settings = context.settings
        assert context.llm is not None  # checked at the handshake
        self.speaking = asyncio.create_task(
            stream_answer(
                turn_input, planned, context.llm, self._send,
                budget_s=settings.llm_budget_s, max_tokens=settings.llm_max_tokens,
            ),
            name=f"relay-speak-{self.call_id}",
        )  # fmt: skip
        try:
            answered = await self.speaking
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            answered = self._cut_short(turn_input, planned.state, planned.reply, planned.task)
        finally:
            self.speaking = None
        answered = self._as_heard(answered)
        # Stored before the reply is marked complete: once Twilio (or anyone) sees `last` or
        # `end`, the turn is in the store.
        await anyio.to_thread.run_sync(partial(self._store, turn_input, answered, now))
        self.step = answered.state.step
        if answered.reply.then is Then.LISTEN:
            await self._deliver(streaming.text("", last=True))
        else:
            await self._deliver(streaming.end(turn_input.turn))

    def _load(self, said: Said, now: datetime) -> tuple[TurnInput, Plan] | None:
        turn_input = load_turn(self.context, self.call_id, said, now)
        return None if turn_input is None else (turn_input, plan(turn_input))

    def _cut_short(
        self, turn_input: TurnInput, state: State, reply: Reply, task: str | None
    ) -> Answer:
        """The borrower spoke over a reply still streaming: the turn is what was decided, said
        as far as it got."""
        spoken = "".join(self.sent)
        record = None
        if task is not None and self.context.llm is not None:
            record = LlmRecord(task, LlmOutcome.SPOKEN, self.context.llm.name, "interrupted")
        return Answer(state, replace(reply, lines=(spoken,) if spoken else reply.lines), record)

    def _as_heard(self, answered: Answer) -> Answer:
        """The reply as far as the borrower heard it, when they spoke over it."""
        if self.heard is None or answered.reply.then is not Then.LISTEN:
            return answered
        heard, spoken = self.heard.strip(), answered.reply.text.strip()
        if len(heard) >= len(spoken):
            return answered
        reply = replace(answered.reply, lines=(heard,) if heard else ())
        return replace(answered, state=interrupted(answered.state), reply=reply)

    def _store(self, turn_input: TurnInput, answered: Answer, now: datetime) -> None:
        assert self.call_sid is not None
        prepared = Prepared(
            turn_input.state, turn_input.said, answered, self.call_id, turn_input.turn, now
        )
        take_turn(
            self.context,
            Turn(self.call_id, self.call_sid, turn_input.turn, turn_input.said),
            responder=prepared,
            also=prepared.kept,
        )

    async def _stop(self) -> None:
        """The session is over: a reply still streaming stops; the turn in hand is stored."""
        self.closed = True
        if self.speaking is not None and not self.speaking.done():
            self.speaking.cancel()
        if self.turn_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self.turn_task)


@router.post("/relay/{call_id}/ended")
def relay_ended(call_id: str, params: TwilioParams, context: ContextDep) -> Response:
    """The session is over: a closing's TwiML, or, if it ended any other way while the call
    goes on, the current question again with a webhook per turn from here on."""
    sid = params.get("CallSid", "")
    turn = streaming.handoff_turn(params.get("HandoffData"))
    now = context.clock.now()
    with transaction(context.sessions) as session:
        call = session.scalar(select(Call).where(Call.call_id == call_id).with_for_update())
        if call is None or call.status in TERMINAL:
            return Response(hang_up(), media_type=TWIML)
        if turn is not None:
            twiml = stored_twiml(session, sid or call.call_id, turn)
            return Response(twiml or hang_up(), media_type=TWIML)
        state = state_of(call.conversation)
        if state is None or state.step is Step.ENDED:
            return Response(hang_up(), media_type=TWIML)
        log.warning(
            "call %s: the relay session ended (%s %s): going on with webhooks",
            call_id, params.get("SessionStatus", ""), params.get("ErrorCode", ""),
        )  # fmt: skip
        first_time(session, sid=sid or call.call_id, kind=RELAY_FAILED, key="1", now=now)
        language = "hi-IN" if (call.language or "en").startswith("hi") else "en-IN"
        base = f"{context.settings.public_base_url}/twilio"
        again = Reply((state.question,), Then.LISTEN, language)
        return Response(
            render(
                again, action_url=f"{base}/voice/{call_id}?turn={state.turn + 1}",
                transfer_url=f"{base}/transferred/{call_id}",
                transfer_to=context.settings.transfer_number,
            ),
            media_type=TWIML,
        )  # fmt: skip
