"""What an LLM turn reads from the store and writes to it (database only)."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, insert, select
from sqlalchemy.orm import Session, joinedload

from agent.conversation import AFTER_RIGHT_PARTY, Said, State, Step, disclosure, interrupted
from agent.llm.turns import LlmRecord, TurnInput
from agent.models import FALLBACKS, LlmTurn
from agent.service import call_facts
from crm.models import Account, Call, Speaker, TranscriptTurn
from dialer.calls import TERMINAL
from dialer.models import WebhookEvent
from duecall.context import AppContext
from duecall.db import read_session, table_of, transaction

log = logging.getLogger(__name__)

RELAY_FAILED = "relay_failed"  # webhook_events kind: this call's streaming session failed
_INSERT_LLM_TURN = insert(table_of(LlmTurn))


def conversation_state(call: Call) -> State | None:
    if not call.conversation or "state" not in call.conversation:
        return None
    return State.from_json(call.conversation["state"])


@cache
def _turn_read() -> Select[Call, Account]:
    """One statement for a turn: the call, its account and borrower (the facts) and its
    transcript; built once."""
    return (
        select(Call, Account)
        .join(Account, Account.account_id == Call.account_id)
        .options(joinedload(Call.turns), joinedload(Account.borrower))
        .where(Call.call_id == bindparam("call_id"))
    )


def load_turn(
    context: AppContext, call_id: str, said: Said, now: datetime, *, before_rpc: bool = True
) -> TurnInput | None:
    """The borrower's next turn on `call_id` as the LLM turn needs it; None when the call is not
    in a conversation (unknown, over, or not yet answered), or, unless `before_rpc`, when the
    borrower has not passed verification yet (the model has nothing to do then)."""
    with read_session(context.sessions) as session:
        found = session.execute(_turn_read(), {"call_id": call_id}).unique().first()
        if found is None:
            return None
        call = found[0]
        if call.status in TERMINAL:
            return None
        state = conversation_state(call)
        if state is None or state.step is Step.ENDED:
            return None
        if not before_rpc and state.step not in AFTER_RIGHT_PARTY:
            return None
        facts = call_facts(session, call, context)  # the account is in the session already
        return TurnInput(
            call_id=call_id,
            turn=state.turn + 1,
            state=state,
            facts=facts,
            said=said,
            now=now,
            history=since_disclosure(
                [(t.speaker.value, t.text) for t in call.turns], disclosure(facts)
            ),
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


def keep_llm_turn(
    conn: Connection, call_id: str, turn: int, record: LlmRecord, now: datetime
) -> None:
    """Store one use of the LLM in the conversation turn's own transaction (one statement)."""
    conn.execute(_INSERT_LLM_TURN, llm_turn_values(call_id, turn, record, now))


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
        state = conversation_state(call)
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
