"""LLM mode on the webhook path: the turn's reply is worked out before the store is locked.

The model may take the whole turn budget, so it is asked outside the turn's transaction (which
on SQLite holds the database's one write lock). `llm_turn` does the whole turn in the webhook's
one worker thread: `prepare` reads the call, plans the turn and asks the model, and returns a
responder for `agent.service.take_turn`, which then answers with the prepared reply when the
turn still starts from the state that was read, and with the scripted agent otherwise (a
retried webhook, a turn that raced another).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from agent.conversation import AFTER_RIGHT_PARTY, CallFacts, Reply, Said, State, Then, respond
from agent.llm.model import LanguageModel
from agent.llm.store import llm_turn_values, load_turn, relay_failed
from agent.llm.turns import Answer, answer, plan
from agent.service import Turn, take_turn
from crm.models import Call
from duecall.context import AppContext
from duecall.db import read_session


@dataclass(frozen=True, slots=True)
class Prepared:
    """A reply worked out for the turn that starts from `state` with `said`, and the use of the
    model that went into it (stored with the turn: `kept`)."""

    state: State
    said: Said
    answer: Answer
    call_id: str = ""
    turn: int = 0
    at: datetime | None = None

    def __call__(
        self, state: State, facts: CallFacts, said: Said, *, now: datetime
    ) -> tuple[State, Reply]:
        if state == self.state and said == self.said:
            return self.answer.state, self.answer.reply
        return respond(state, facts, said, now=now)

    @property
    def kept(self) -> dict[str, Any] | None:
        """The use of the model as stored with the turn (an `llm_turns` row); None for none."""
        if self.answer.record is None or self.at is None:
            return None
        return llm_turn_values(self.call_id, self.turn, self.answer.record, self.at)


def llm_turn(context: AppContext, turn: Turn) -> str:
    """A webhook turn in LLM mode, in one worker thread: the model is asked (`prepare`), then
    the turn is taken with its answer. Blocks for as long as the model takes."""
    prepared = prepare(context, turn)
    return take_turn(context, turn, prepared, prepared.kept if prepared is not None else None)


def prepare(context: AppContext, turn: Turn) -> Prepared | None:
    """The LLM's part of a webhook turn; None when the scripted agent answers alone (scripted
    mode, the answer, a turn that is not the call's next). Runs in a worker thread."""
    model: LanguageModel | None = context.llm
    if model is None or turn.number == 0:
        return None
    now = context.clock.now()
    settings = context.settings
    relay = settings.llm_transport == "relay"
    # With a webhook per turn the model has nothing to do before verification; with the relay
    # the verification turn is the one that hands the call over.
    turn_input = load_turn(context, turn.call_id, turn.said, now, before_rpc=relay)
    if turn_input is None or turn_input.turn != turn.number:
        return None
    planned = plan(turn_input)
    answered = answer(
        turn_input, planned, model, budget_s=settings.llm_budget_s,
        max_tokens=settings.llm_max_tokens,
    )  # fmt: skip
    if relay and _may_stream(context, answered, turn.call_id):
        # From here on the conversation streams: the reply is the session's welcome line.
        answered = replace(answered, reply=replace(answered.reply, then=Then.RELAY))
    return Prepared(turn_input.state, turn.said, answered, turn.call_id, turn.number, now)


def _may_stream(context: AppContext, answered: Answer, call_id: str) -> bool:
    if answered.reply.then is not Then.LISTEN or answered.state.step not in AFTER_RIGHT_PARTY:
        return False
    with read_session(context.sessions) as session:
        call = session.get(Call, call_id)
        return call is not None and not relay_failed(session, call)
