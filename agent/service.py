"""The conversation agent's edge: one webhook turn against the store.

A turn loads the call's facts and conversation state, lets `agent.conversation` decide, and in
the same transaction stores the transcript, the new state, any outcome and its effects, and the
TwiML answered. Twilio retries a webhook it did not get an answer to in time; a retried turn is
recognised by its number and gets the stored TwiML back, so no turn or effect is ever applied
twice. The call's row is locked for the turn, so a retry racing the original waits for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from agent.conversation import (
    CallFacts,
    Reply,
    Responder,
    Said,
    State,
    Step,
    Then,
    open_call,
    respond,
    voicemail,
    window_closed,
)
from agent.streaming import relay_twiml
from compliance.screening import decide_for_phone
from compliance.zones import phone_zones, zone
from crm.models import Account, Call, Speaker, TranscriptTurn
from crm.outcomes import record_outcome, record_preferences
from dialer.calls import MACHINE, STATUS_RANK, TERMINAL
from dialer.models import WebhookEvent
from dialer.providers import credentials
from duecall.context import AppContext
from duecall.db import transaction

log = logging.getLogger(__name__)

GATHER_TIMEOUT_S = 5  # seconds of silence before Twilio gives up listening
VOICEMAIL_TURN = "voicemail"


@dataclass(frozen=True, slots=True)
class Turn:
    """One webhook request of the conversation: which turn, and what Twilio reported."""

    call_id: str
    provider_call_sid: str
    number: int  # 0: the call was answered; n: the borrower's n-th answer
    said: Said
    answered_by: str | None = None


def take_turn(
    context: AppContext,
    turn: Turn,
    responder: Responder | None = None,
    also: Callable[[Session], None] | None = None,
) -> str:
    """The TwiML for `turn`, applying it once; a replayed turn gets the same TwiML again.

    `responder` computes the borrower turn's reply (LLM mode prepares one); default the script.
    `also` stores what else the turn produced (LLM mode: its use of the model), in the same
    transaction, when the turn is applied.
    """
    now = context.clock.now()
    with transaction(context.sessions) as session:
        call = session.scalar(select(Call).where(Call.call_id == turn.call_id).with_for_update())
        if call is None:
            log.warning("voice webhook for unknown call %s", turn.call_id)
            return hang_up()
        key = str(turn.number)
        replay = _stored(session, turn.provider_call_sid or call.call_id, key)
        if replay is not None:
            return replay
        state = _state(call)
        if call.status in TERMINAL or (state is not None and state.step is Step.ENDED):
            return hang_up()
        facts = call_facts(session, call, context)
        if turn.number == 0 or state is None:
            state, reply = _answer(session, call, facts, turn, context, now)
        else:
            _add_turn(session, call, Speaker.BORROWER, turn.said, now)
            state, reply = (responder or respond)(state, facts, turn.said, now=now)
        twiml = _apply(session, call, facts, state, reply, context, now, next_turn=turn.number + 1)
        session.add(
            WebhookEvent(
                provider_call_sid=turn.provider_call_sid or call.call_id,
                kind="voice",
                key=key,
                received_at=now,
                response=twiml,
            )
        )
        if also is not None:
            also(session)
        return twiml


def leave_voicemail(context: AppContext, call_id: str, provider_call_sid: str) -> str:
    """An answering machine was detected: the limited-content message, once."""
    now = context.clock.now()
    with transaction(context.sessions) as session:
        call = session.scalar(select(Call).where(Call.call_id == call_id).with_for_update())
        if call is None:
            return hang_up()
        replay = _stored(session, provider_call_sid or call_id, VOICEMAIL_TURN)
        if replay is not None:
            return replay
        state = _state(call) or State()
        if state.identity_confirmed:
            return hang_up()  # a person confirmed who they are: not a machine after all
        facts = call_facts(session, call, context)
        ended = State(step=Step.ENDED, turn=state.turn)
        twiml = _apply(
            session, call, facts, ended, voicemail(facts), context, now, next_turn=state.turn + 1
        )
        session.add(
            WebhookEvent(
                provider_call_sid=provider_call_sid or call_id,
                kind="voice",
                key=VOICEMAIL_TURN,
                received_at=now,
                response=twiml,
            )
        )
        return twiml


def conversation_open(session: Session, call_id: str) -> bool:
    """Whether the bot is still talking on `call_id` (a machine may still get the voicemail)."""
    call = session.get(Call, call_id)
    if call is None or call.status in TERMINAL:
        return False
    state = _state(call)
    return state is None or (state.step is not Step.ENDED and not state.identity_confirmed)


def call_facts(session: Session, call: Call, context: AppContext) -> CallFacts:
    account = session.get(Account, call.account_id)
    assert account is not None, f"call {call.call_id} has no account"
    settings = context.settings
    digits = "".join(ch for ch in account.account_id if ch.isdigit())
    overdue = account.overdue_amount
    return CallFacts(
        lender=settings.lender_name,
        borrower_name=account.borrower.name,
        language=call.language or account.language or "en",
        account_last4=digits[-4:],
        overdue=overdue,
        emi=account.emi_amount,
        due_date=account.due_date,
        total_outstanding=(account.principal_outstanding or Decimal(0)) + overdue,
        bucket=account.bucket,
        promise_horizon_days=context.policy.promise_horizon(account.bucket),
        zone=_borrower_zone(account.timezone, call.phone, settings.default_timezone),
        callback_number=settings.lender_phone or credentials(settings)[2],
        verification=(
            digits[-4:]
            if settings.agent_verification == "loan_last4" and len(digits) >= 4
            else None
        ),
        transfer_number=settings.transfer_number,
    )


def render(reply: Reply, *, action_url: str, transfer_url: str, transfer_to: str | None) -> str:
    """The reply as TwiML: Say inside a speech-and-keypad Gather, or before Hangup or Dial."""
    response = VoiceResponse()
    if reply.then is Then.LISTEN:
        gather = response.gather(
            input="speech dtmf", action=action_url, method="POST", language=reply.language,
            timeout=GATHER_TIMEOUT_S, speech_timeout="auto", action_on_empty_result=True,
        )  # fmt: skip
        for line in reply.lines:
            gather.say(line, language=reply.language)
        return str(response)
    for line in reply.lines:
        response.say(line, language=reply.language)
    if reply.then is Then.TRANSFER and transfer_to:
        response.dial(transfer_to, action=transfer_url, method="POST", timeout=30)
    else:
        response.hangup()
    return str(response)


def _answer(
    session: Session, call: Call, facts: CallFacts, turn: Turn, context: AppContext, now: datetime
) -> tuple[State, Reply]:
    if call.answered_at is None:
        call.answered_at = now
    if STATUS_RANK.get(call.status, 0) < STATUS_RANK["in-progress"]:
        call.status = "in-progress"
    if turn.answered_by:
        call.answered_by = call.answered_by or turn.answered_by
    if turn.answered_by in MACHINE:
        return State(step=Step.ENDED), voicemail(facts)
    # The window may have closed while the call rang or queued: check again at answer
    # (RBI recovery-call hours; this call itself does not count against the caps).
    decision = (
        decide_for_phone(
            session.connection(), call.account_id, call.phone, at=now, policy=context.policy,
            excluding_call=call.call_id,
        )
        if call.phone
        else None
    )  # fmt: skip
    if decision is not None and not decision.allowed:
        why = "; ".join(f"{r.rule}: {r.detail}" for r in decision.reasons)
        return State(step=Step.ENDED), window_closed(facts, why)
    return open_call(facts)


def _apply(
    session: Session,
    call: Call,
    facts: CallFacts,
    state: State,
    reply: Reply,
    context: AppContext,
    now: datetime,
    *,
    next_turn: int,
) -> str:
    _add_turn(session, call, Speaker.AGENT, Said(reply.text), now)
    if reply.avoid:
        record_preferences(session, call, reply.avoid, now=now)
    if reply.outcome is not None:
        today = now.astimezone(facts.zone).date()
        record_outcome(session, call, reply.outcome, now=now, today=today, policy=context.policy)
    call.language = call.language or reply.language.split("-")[0]
    call.conversation = {"state": state.to_json()}
    if reply.then is Then.RELAY:
        return relay_twiml(
            reply, call_id=call.call_id, public_base_url=context.settings.public_base_url
        )
    base = f"{context.settings.public_base_url}/twilio"
    return render(
        reply,
        action_url=f"{base}/voice/{call.call_id}?turn={next_turn}",
        transfer_url=f"{base}/transferred/{call.call_id}",
        transfer_to=context.settings.transfer_number,
    )


def _add_turn(session: Session, call: Call, speaker: Speaker, said: Said, now: datetime) -> None:
    text = said.text.strip() or (f"[keypad {said.digits}]" if said.digits else "")
    if not text:
        return  # silence: the agent's next line says so
    seq = session.scalar(
        select(func.coalesce(func.max(TranscriptTurn.seq), 0)).where(
            TranscriptTurn.call_id == call.call_id
        )
    )
    session.add(
        TranscriptTurn(
            call_id=call.call_id, seq=(seq or 0) + 1, speaker=speaker, text=text,
            confidence=said.confidence, at=now,
        )
    )  # fmt: skip


def _stored(session: Session, provider_call_sid: str, key: str) -> str | None:
    return session.scalar(
        select(WebhookEvent.response).where(
            WebhookEvent.provider_call_sid == provider_call_sid,
            WebhookEvent.kind == "voice",
            WebhookEvent.key == key,
        )
    )


def _state(call: Call) -> State | None:
    if not call.conversation or "state" not in call.conversation:
        return None
    return State.from_json(call.conversation["state"])


def _borrower_zone(account_zone: str | None, phone: str | None, default: str) -> ZoneInfo:
    if account_zone:
        return zone(account_zone)
    zones = phone_zones(phone) if phone else ()
    return zone(zones[0] if zones else default)


def hang_up() -> str:
    """TwiML that ends the call."""
    response = VoiceResponse()
    response.hangup()
    return str(response)
