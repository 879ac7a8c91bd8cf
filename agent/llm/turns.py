"""One borrower turn in LLM mode: the state machine decides, the model reads what the rules could
not and words the reply, the guards decide whether its words are spoken.

- Before the borrower has confirmed who they are and passed verification (greeting, recording
  notice, identity, verification, the disclosure), and on every closing, confirmation question
  and transfer, the scripted line is said and the model is not asked: those are the
  compliance-critical steps and the words that record an outcome.
- After that, when the rules understood the turn, the state machine decides and the model is
  asked to say the decided line in its own words (`phrase`); when they did not, the model is
  asked what the borrower meant (`understand`), with tools for the outcomes. A tool call is
  validated (`agent.llm.tools`) and decided on by the same state machine, which has the borrower
  confirm it before anything is recorded; the line said is the state machine's.
- Borrower speech that addresses the model ("ignore your instructions...") is not sent to it.
- Whatever the model says is checked (`agent.guards`); a reply that fails, a timeout within the
  budget, an error or a malformed answer: the scripted line is said instead. Each use of the
  model is kept as an `LlmRecord` (tokens, latency, what became of it).

`plan` is pure; `answer` (a whole reply, from a worker thread) and `stream_answer` (text sent as
it is let through, on the event loop) talk to the model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from agent.conversation import (
    AFTER_RIGHT_PARTY,
    CallFacts,
    Reply,
    Said,
    State,
    Step,
    Then,
    decide,
    respond,
    understand_turn,
)
from agent.guards import Allowed, StreamGuard, check, injection
from agent.llm.model import Completion, Delta, LanguageModel, Message, Request
from agent.llm.prompting import Task, history_messages, system_message, turn_message
from agent.llm.tools import Reading, ToolRefused, read_tool_calls, tools
from agent.models import LlmOutcome
from agent.understanding import Intent, Understanding
from duecall.errors import ProviderError, ProviderMalformed, ProviderTimeout

# Steps whose question the model may word: not the confirmation of something heard unsurely.
PHRASED_STEPS = AFTER_RIGHT_PARTY
# Turns the model is not asked to word: nothing was said, or the borrower asked to hear it again.
_NOT_PHRASED = frozenset({Intent.SILENCE, Intent.ASK_REPEAT})

Send = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TurnInput:
    """A borrower turn and what the agent knows when it arrives."""

    call_id: str
    turn: int  # the borrower's turn number on this call
    state: State  # before the turn
    facts: CallFacts
    said: Said
    now: datetime
    history: tuple[tuple[str, str], ...] = ()  # (speaker, text) since the disclosure


@dataclass(frozen=True, slots=True)
class Plan:
    """What the rules make of a turn, and what the model is asked (`task`, None: nothing)."""

    task: Task | None
    state: State  # after the turn, as the rules decide it
    reply: Reply  # the scripted reply: said when the model's cannot be
    heard: Understanding
    refused: str | None = None  # why the model is deliberately not asked (prompt injection)


@dataclass(frozen=True, slots=True)
class Cost:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float | None = None  # request to the whole answer
    first_token_ms: float | None = None  # request to the first streamed text


@dataclass(frozen=True, slots=True)
class LlmRecord:
    """One use of the model, as stored in `llm_turns`."""

    task: str
    outcome: LlmOutcome
    model: str
    detail: str | None = None
    cost: Cost = Cost()


@dataclass(frozen=True, slots=True)
class Answer:
    state: State
    reply: Reply
    record: LlmRecord | None = None


def plan(turn: TurnInput) -> Plan:
    state, facts, said = turn.state, turn.facts, turn.said
    if state.step not in AFTER_RIGHT_PARTY:
        after, reply = respond(state, facts, said, now=turn.now)
        return Plan(
            None,
            after,
            reply,
            reply.understood or understand_turn(state, facts, said, now=turn.now),
        )
    heard = understand_turn(state, facts, said, now=turn.now)
    after, reply = decide(state, facts, said, heard, now=turn.now)
    attack = injection(said.text) if said.text else None
    if attack is not None:
        return Plan(
            None, after, reply, heard, refused=f"borrower speech addressed the model: {attack}"
        )
    if heard.intent is Intent.UNKNOWN:
        return Plan("understand", after, reply, heard)
    if (
        reply.then is Then.LISTEN
        and after.step in PHRASED_STEPS
        and heard.intent not in _NOT_PHRASED
    ):
        return Plan("phrase", after, reply, heard)
    return Plan(None, after, reply, heard)


def request_for(turn: TurnInput, planned: Plan, *, max_tokens: int) -> Request:
    facts = turn.facts
    messages: list[Message] = [
        system_message(facts, turn.now.astimezone(facts.zone).date()),
        *history_messages(turn.history),
    ]
    said = turn.said.text or (f"[keypad {turn.said.digits}]" if turn.said.digits else "")
    if planned.task == "phrase":
        messages.append(
            turn_message(
                "phrase", borrower_said=said, question=planned.state.question,
                agent_line=planned.reply.text,
            )
        )  # fmt: skip
        return Request(tuple(messages), max_tokens=max_tokens)
    messages.append(turn_message("understand", borrower_said=said, question=turn.state.question))
    return Request(tuple(messages), tools=tools(facts.language), max_tokens=max_tokens)


def allowed_for(turn: TurnInput, planned: Plan) -> Allowed:
    """What the model's words may mention this turn, and what they must."""
    facts = turn.facts
    today = turn.now.astimezone(facts.zone).date()
    state = planned.state if planned.task == "phrase" else turn.state
    lines = planned.reply.lines if planned.task == "phrase" else (turn.state.question,)
    read_back = planned.task == "phrase" and state.step is Step.READ_BACK
    return Allowed.of(
        today=today,
        language=facts.language,
        amounts=(facts.overdue, facts.emi, facts.total_outstanding, state.amount),
        dates=(facts.due_date, state.date, today + timedelta(days=facts.promise_horizon_days)),
        numbers=(facts.account_last4, facts.callback_number),
        lines=lines,
        required_amounts=(state.amount,) if read_back and state.amount is not None else (),
        required_dates=(state.date,) if read_back and state.date is not None else (),
    )


def _unasked(planned: Plan) -> Answer:
    record = None
    if planned.refused is not None:
        record = LlmRecord("understand", LlmOutcome.INJECTION, "", detail=planned.refused)
    return Answer(planned.state, planned.reply, record)


def _fallback(
    planned: Plan, task: str, outcome: LlmOutcome, model: str, detail: str, cost: Cost = Cost()
) -> Answer:
    return Answer(planned.state, planned.reply, LlmRecord(task, outcome, model, detail, cost))


def _proposal(turn: TurnInput, completion: Completion) -> Understanding:
    facts = turn.facts
    reading = Reading(turn.said.text, turn.now.astimezone(facts.zone).date(), facts.zone)
    return read_tool_calls(completion.tool_calls, reading)


def answer(
    turn: TurnInput, planned: Plan, model: LanguageModel, *, budget_s: float, max_tokens: int = 200
) -> Answer:
    """The reply to say for `turn`: the model's words if they may be said, else the script's.

    Blocks: a webhook turn runs in a worker thread and asks the model from there. An answer
    later than the budget counts as none, as it does when streamed."""
    if planned.task is None:
        return _unasked(planned)
    task = planned.task
    started = time.perf_counter()
    try:
        completion = model.complete_blocking(
            request_for(turn, planned, max_tokens=max_tokens), timeout_s=budget_s
        )
    except ProviderTimeout as exc:
        return _fallback(planned, task, LlmOutcome.TIMEOUT, model.name, str(exc))
    except ProviderMalformed as exc:
        return _fallback(planned, task, LlmOutcome.MALFORMED, model.name, str(exc))
    except ProviderError as exc:
        return _fallback(planned, task, LlmOutcome.ERROR, model.name, str(exc))
    cost = _cost(completion, started)
    if cost.latency_ms is not None and cost.latency_ms > budget_s * 1000:
        detail = f"no answer within {budget_s:g} s"
        return _fallback(planned, task, LlmOutcome.TIMEOUT, model.name, detail, cost)
    return _judged(turn, planned, completion, model.name, cost)


def _cost(completion: Completion, started: float, first: float | None = None) -> Cost:
    usage = completion.usage
    return Cost(
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        latency_ms=(time.perf_counter() - started) * 1000,
        first_token_ms=None if first is None else (first - started) * 1000,
    )


def _judged(
    turn: TurnInput,
    planned: Plan,
    completion: Completion,
    model: str,
    cost: Cost,
) -> Answer:
    """The whole answer, judged: a tool call decided on by the rules, or words checked."""
    task = planned.task
    assert task is not None
    if task == "understand" and completion.tool_calls:
        try:
            proposal = _proposal(turn, completion)
        except ToolRefused as exc:
            return _fallback(planned, task, LlmOutcome.INVALID_TOOL, model, str(exc), cost)
        state, reply = decide(turn.state, turn.facts, turn.said, proposal, now=turn.now)
        record = LlmRecord(task, LlmOutcome.PROPOSAL, model, "; ".join(proposal.evidence), cost)
        return Answer(state, reply, record)
    if planned.reply.then is not Then.LISTEN:
        return _fallback(
            planned, task, LlmOutcome.REPLACED, model, "the call closes: the scripted line", cost
        )
    text = " ".join(completion.text.split())
    violations = check(text, allowed_for(turn, planned))
    if violations:
        return _fallback(
            planned, task, LlmOutcome.REPLACED, model, "; ".join(map(str, violations)), cost
        )
    reply = replace(planned.reply, lines=(text,))
    return Answer(planned.state, reply, LlmRecord(task, LlmOutcome.SPOKEN, model, cost=cost))


async def stream_answer(
    turn: TurnInput,
    planned: Plan,
    model: LanguageModel,
    send: Send,
    *,
    budget_s: float,
    max_tokens: int = 200,
) -> Answer:
    """`answer`, with the reply's text sent (`send`) as it comes and passes the guards.

    The first text must come within the budget, and each further piece within the budget of the
    one before. If the model fails or a guard stops it after some of its words were sent, those
    words stay said and the scripted reply follows in full. A reply that goes on listening comes
    back with what was sent as its text; a closing is not sent: it is the caller's to say.
    """
    if planned.task is None:
        answered = _unasked(planned)
        if answered.reply.then is Then.LISTEN:
            await send(answered.reply.text)
        return answered
    task = planned.task
    forward = planned.reply.then is Then.LISTEN
    guard = StreamGuard(allowed_for(turn, planned))
    sent: list[str] = []
    started = time.perf_counter()
    first: float | None = None
    completion: Completion | None = None
    failure: tuple[LlmOutcome, str] | None = None

    async def say(text: str) -> None:
        if text:
            await send(text)
            sent.append(text)

    request = request_for(turn, planned, max_tokens=max_tokens)
    try:
        async with aclosing(model.stream(request)) as pieces:
            async for item in _within(pieces, budget_s):
                if isinstance(item, Completion):
                    completion = item
                    break
                first = first or time.perf_counter()
                if forward:
                    await say(guard.feed(item.text))
                    if guard.failed:
                        failure = (LlmOutcome.REPLACED, "; ".join(map(str, guard.violations)))
                        break
    except TimeoutError:
        failure = (LlmOutcome.TIMEOUT, f"no text within {budget_s:g} s")
    except ProviderTimeout as exc:
        failure = (LlmOutcome.TIMEOUT, str(exc))
    except ProviderMalformed as exc:
        failure = (LlmOutcome.MALFORMED, str(exc))
    except ProviderError as exc:
        failure = (LlmOutcome.ERROR, str(exc))
    cost = _cost(completion or Completion(""), started, first)
    if failure is None and completion is None:
        failure = (LlmOutcome.MALFORMED, "the stream ended without an answer")
    if failure is None and completion is not None:
        if task == "understand" and completion.tool_calls:
            judged = _judged(turn, planned, completion, model.name, cost)
            record = judged.record
            assert record is not None
            if record.outcome is LlmOutcome.PROPOSAL:
                if judged.reply.then is not Then.LISTEN:
                    said_first = "".join(sent).strip()
                    detail = (
                        f"{record.detail}; said before it: {said_first}"
                        if said_first
                        else record.detail
                    )
                    return replace(judged, record=replace(record, detail=detail))
                await say(_joined(sent, judged.reply.text))
                return replace(judged, reply=replace(judged.reply, lines=("".join(sent),)))
            failure = (record.outcome, record.detail or "")
        elif not forward:
            failure = (LlmOutcome.REPLACED, "the call closes: the scripted line")
        else:
            await say(guard.finish())
            if not guard.failed:
                reply = replace(planned.reply, lines=("".join(sent),))
                return Answer(
                    planned.state, reply, LlmRecord(task, LlmOutcome.SPOKEN, model.name, cost=cost)
                )
            failure = (LlmOutcome.REPLACED, "; ".join(map(str, guard.violations)))
    assert failure is not None
    answered = _fallback(planned, task, failure[0], model.name, failure[1], cost)
    if answered.reply.then is Then.LISTEN:
        await say(_joined(sent, answered.reply.text))
        return replace(answered, reply=replace(answered.reply, lines=("".join(sent),)))
    return answered


def _joined(sent: list[str], text: str) -> str:
    """`text` to follow what was already said, with a space between."""
    return text if not sent or "".join(sent).endswith((" ", "\n")) else " " + text


async def _within(
    pieces: AsyncIterator[Delta | Completion], budget_s: float
) -> AsyncIterator[Delta | Completion]:
    """The pieces, each within `budget_s` of the one before (TimeoutError when one is not)."""
    iterator = aiter(pieces)
    while True:
        try:
            async with asyncio.timeout(budget_s):
                item = await anext(iterator)
        except StopAsyncIteration:
            return
        yield item
