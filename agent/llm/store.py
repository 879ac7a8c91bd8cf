"""What an LLM turn reads from the store and writes to it (database only)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.conversation import AFTER_RIGHT_PARTY, Said, Step, disclosure, interrupted
from agent.llm.turns import LlmRecord, TurnInput
from agent.models import FALLBACKS, LlmTurn
from agent.service import facts_of, state_of, with_facts
from crm.models import Call, Speaker, TranscriptTurn
from dialer.calls import TERMINAL
from dialer.models import WebhookEvent
from duecall.context import AppContext
from duecall.db import reading, table_of, transaction

log = logging.getLogger(__name__)

RELAY_FAILED = "relay_failed"  # webhook_events kind: this call's streaming session failed


# A turn in one statement: the call's state and facts on every row, one row per transcript turn
# in order (one row with no turn when there is none yet).
_calls, _transcript = table_of(Call), table_of(TranscriptTurn)
_TURN_READ = (
    with_facts(_calls.c.status, _calls.c.conversation, _transcript.c.speaker, _transcript.c.text)
    .outerjoin(_transcript, _transcript.c.call_id == _calls.c.call_id)
    .order_by(_transcript.c.seq)
)


def load_turn(
    context: AppContext, call_id: str, said: Said, now: datetime, *, before_rpc: bool = True
) -> TurnInput | None:
    """The borrower's next turn on `call_id` as the LLM turn needs it; None when the call is not
    in a conversation (unknown, over, or not yet answered), or, unless `before_rpc`, when the
    borrower has not passed verification yet (the model has nothing to do then)."""
    with reading(context.engine) as conn:
        rows = conn.execute(_TURN_READ, {"p_call": call_id}).all()
    if not rows or rows[0].status in TERMINAL:
        return None
    found = rows[0]
    state = state_of(found.conversation)
    if state is None or state.step is Step.ENDED:
        return None
    if not before_rpc and state.step not in AFTER_RIGHT_PARTY:
        return None
    facts = facts_of(context, found)
    turns = [(row.speaker.value, row.text) for row in rows if row.speaker is not None]
    return TurnInput(
        call_id=call_id,
        turn=state.turn + 1,
        state=state,
        facts=facts,
        said=said,
        now=now,
        history=since_disclosure(turns, disclosure(facts)),
    )


def since_disclosure(turns: list[tuple[str, str]], line: str) -> tuple[tuple[str, str], ...]:
    """The turns from the agent's disclosure on: the model never sees the greeting, the identity
    question or the verification answer."""
    for i in range(len(turns) - 1, -1, -1):
        speaker, text = turns[i]
        if speaker == "agent" and line in text:
            return tuple(turns[i:])
    return ()


def llm_turn_values(call_id: str, turn: int, record: LlmRecord, now: datetime) -> dict[str, Any]:
    """One use of the LLM as stored (an `llm_turns` row); a fallback to the script is logged."""
    if record.outcome in FALLBACKS:
        log.warning(
            "call %s turn %d: LLM %s fell back to the script (%s)",
            call_id, turn, record.task, record.outcome.value,
        )  # fmt: skip
    return {
        "call_id": call_id, "turn": turn, "task": record.task, "outcome": record.outcome.value,
        "detail": record.detail, "model": record.model or "-",
        "prompt_tokens": record.cost.prompt_tokens,
        "completion_tokens": record.cost.completion_tokens,
        "latency_ms": record.cost.latency_ms, "first_token_ms": record.cost.first_token_ms,
        "at": now,
    }  # fmt: skip


def record_llm_turn(
    context: AppContext, call_id: str, turn: int, record: LlmRecord, now: datetime
) -> None:
    """Keep one use of the LLM that is not part of a conversation turn (the screens)."""
    with transaction(context.sessions) as session:
        session.add(LlmTurn(**llm_turn_values(call_id, turn, record, now)))


def heard_until(context: AppContext, call_id: str, heard: str) -> None:
    """The borrower interrupted the agent's last line after `heard`: the transcript (the model's
    context) keeps only what was heard, and a confirmation question cut short is asked again."""
    with transaction(context.sessions) as session:
        call = session.scalar(select(Call).where(Call.call_id == call_id).with_for_update())
        if call is None:
            return
        last = session.scalar(
            select(TranscriptTurn)
            .where(TranscriptTurn.call_id == call_id)
            .order_by(TranscriptTurn.seq.desc())
            .limit(1)
        )
        if last is None or last.speaker is not Speaker.AGENT:
            return
        cut = heard.strip()
        if len(cut) >= len(last.text.strip()):
            return
        if cut:
            last.text = cut
        else:
            session.delete(last)  # none of it was heard
        state = state_of(call.conversation)
        if state is not None:
            call.conversation = {"state": interrupted(state).to_json()}


def stored_twiml(session: Session, provider_call_sid: str, turn: int) -> str | None:
    return session.scalar(
        select(WebhookEvent.response).where(
            WebhookEvent.provider_call_sid == provider_call_sid,
            WebhookEvent.kind == "voice",
            WebhookEvent.key == str(turn),
        )
    )


def relay_failed(session: Session, call: Call) -> bool:
    """Whether this call's streaming session failed (it goes on with a webhook per turn)."""
    count = session.scalar(
        select(func.count())
        .select_from(WebhookEvent)
        .where(
            WebhookEvent.provider_call_sid == (call.provider_call_sid or call.call_id),
            WebhookEvent.kind == RELAY_FAILED,
        )
    )
    return bool(count)
