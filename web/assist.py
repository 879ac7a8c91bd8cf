"""The tele-caller's assistant on the call screen: what to say next, and after the call a summary
with a proposed disposition, which the tele-caller confirms or corrects.

Both work without a model: the rules (`agent.understanding`) read what the borrower said and the
lender's tele-caller script (`web.scripts`) answers the objection it amounts to; the rules read
the call for the summary. With `DUECALL_AGENT_MODE=llm` the model is asked first, within the
turn budget: what it suggests passes the same guards as the voice agent's words
(`agent.guards`), what it proposes the same rules as a disposition typed by hand
(`crm.outcomes`); anything else, a timeout or an error, and the rules' answer is shown. Either
way a person decides what is said and what is recorded.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent import lexicon
from agent.conversation import CallFacts
from agent.guards import Allowed, Rule, check
from agent.llm.model import Completion, LanguageModel, Message, Request, Tool
from agent.llm.prompting import account_values, prompts
from agent.llm.store import record_llm_turn
from agent.llm.turns import Cost, LlmRecord
from agent.models import LlmOutcome
from agent.service import call_facts
from agent.spoken_text import Phrases, hear
from agent.understanding import Expecting, Intent, Understanding, understand
from crm.dispositions import BY_CODE
from crm.models import Call
from crm.outcomes import Outcome, promise_rule_problems
from duecall.context import AppContext
from duecall.errors import ProviderError, ProviderMalformed, ProviderTimeout
from web.models import CallSummary
from web.scripts import Script

log = logging.getLogger(__name__)

CALL_TURNS = 12  # the call so far, as the model sees it: the last this many lines
_SETTLEMENT = Phrases(lexicon.UNAUTHORISED_OFFERS)
_LEGAL = Phrases((*lexicon.LEGAL_THREATS, *lexicon.COLLECTOR_THREATS))
# Answers that are not objections: nothing in the script answers them.
_NOT_OBJECTIONS = frozenset(
    {Intent.UNKNOWN, Intent.AFFIRM, Intent.DENY, Intent.SILENCE, Intent.DIGITS,
     Intent.IDENTITY_CONFIRMED, Intent.VERIFICATION, Intent.ASK_REPEAT}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Suggestion:
    heard: str  # the borrower's words it answers
    understood: str  # what they amount to, for the tele-caller
    say_next: str
    objection: str | None  # the script's objection they match, if any
    answer: str | None
    source: str  # llm | script


@dataclass(frozen=True, slots=True)
class Proposal:
    outcome: Outcome
    summary: str
    source: str  # llm | rules


# --- reading what was said ----------------------------------------------------------------------


def _heard(text: str, facts: CallFacts, now: datetime) -> Understanding:
    local = now.astimezone(facts.zone)
    return understand(
        text, expecting=Expecting.ANYTHING, today=local.date(), now=local, zone=facts.zone,
        language=facts.language, overdue=facts.overdue, emi=facts.emi,
    )  # fmt: skip


def topic(text: str, facts: CallFacts, now: datetime) -> str | None:
    """What the words amount to as an objection: an intent of the rules, or a settlement or
    legal question (words the rules do not decide on)."""
    heard = _heard(text, facts, now)
    if heard.intent not in _NOT_OBJECTIONS:
        return heard.intent.value
    words = hear(text)
    if _SETTLEMENT.first(words) is not None:
        return "settlement"
    if _LEGAL.first(words) is not None:
        return "legal"
    return None


def script_suggestion(
    text: str, script: Script | None, facts: CallFacts, now: datetime
) -> Suggestion:
    """The script's answer to the objection the words amount to; the script's ask to say next."""
    said = topic(text, facts, now)
    objection = answer = None
    if script is not None and said is not None:
        for label, reply in script.objections:
            if topic(label, facts, now) == said:
                objection, answer = label, reply
                break
    say_next = answer or (script.purpose if script is not None else "")
    heard = _heard(text, facts, now)
    if heard.intent is Intent.PROMISE and heard.amount is not None and heard.date is not None:
        today = now.astimezone(facts.zone).date()
        problems = promise_rule_problems(
            heard.amount, heard.date, total_outstanding=facts.total_outstanding,
            horizon_days=facts.promise_horizon_days, bucket=facts.bucket, today=today,
        )  # fmt: skip
        if not problems and script is not None:
            promise = f"₹{heard.amount:,.2f} by {heard.date:%d %b %Y}"
            say_next = script.close.replace("{promise}", promise)
    understood = said.replace("_", " ") if said else "not understood"
    return Suggestion(text, understood, say_next, objection, answer, "script")


# --- the model ----------------------------------------------------------------------------------

_SUGGEST = Tool(
    "suggest",
    "",
    {
        "type": "object",
        "properties": {
            "say_next": {"type": "string"},
            "objection": {"type": "string"},
            "answer": {"type": "string"},
        },
        "required": ["say_next", "objection", "answer"],
    },
)
_PROPOSE = Tool(
    "propose_disposition",
    "",
    {
        "type": "object",
        "properties": {
            "disposition": {"type": "string", "enum": sorted(BY_CODE)},
            "ptp_amount_rupees": {"type": "number"},
            "ptp_date": {"type": "string", "description": "YYYY-MM-DD"},
            "callback_at": {"type": "string", "description": "YYYY-MM-DDTHH:MM, local time"},
            "summary": {"type": "string"},
        },
        "required": ["disposition", "summary"],
    },
)


def _described(tool: Tool, language: str) -> Tool:
    return Tool(tool.name, prompts(language).tools[tool.name], tool.parameters)


class _Unusable(ValueError):
    """The model's answer cannot be shown: why, and what became of it."""

    def __init__(self, outcome: LlmOutcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome


def _ask(model: LanguageModel, request: Request, budget_s: float) -> tuple[Completion, Cost]:
    """The model's answer, from the screen's worker thread (no hop to the event loop)."""
    started = time.perf_counter()
    try:
        completion = model.complete_blocking(request, timeout_s=budget_s)
    except ProviderTimeout as exc:
        raise _Unusable(LlmOutcome.TIMEOUT, str(exc)) from None
    except ProviderMalformed as exc:
        raise _Unusable(LlmOutcome.MALFORMED, str(exc)) from None
    except ProviderError as exc:
        raise _Unusable(LlmOutcome.ERROR, str(exc)) from None
    usage = completion.usage
    cost = Cost(
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    if cost.latency_ms is not None and cost.latency_ms > budget_s * 1000:
        raise _Unusable(LlmOutcome.TIMEOUT, f"no answer within {budget_s:g} s")
    return completion, cost


def _arguments(completion: Completion, name: str) -> dict[str, Any]:
    calls = [c for c in completion.tool_calls if c.name == name]
    if len(calls) != 1:
        raise _Unusable(LlmOutcome.INVALID_TOOL, f"expected one {name} call")
    try:
        arguments = json.loads(calls[0].arguments or "{}")
    except ValueError:
        raise _Unusable(LlmOutcome.INVALID_TOOL, f"{name}: arguments are not JSON") from None
    if not isinstance(arguments, dict):
        raise _Unusable(LlmOutcome.INVALID_TOOL, f"{name}: arguments are not an object")
    return arguments


def _allowed(facts: CallFacts, today: date, language: str, *extra: str, **values: Any) -> Allowed:
    return Allowed.of(
        today=today, language=language,
        amounts=(facts.overdue, facts.emi, facts.total_outstanding, *values.get("amounts", ())),
        dates=(facts.due_date, *values.get("dates", ())),
        numbers=(facts.account_last4, facts.callback_number), lines=extra,
    )  # fmt: skip


def _guarded(text: object, field: str, allowed: Allowed, *, any_language: bool = False) -> str:
    if not isinstance(text, str):
        raise _Unusable(LlmOutcome.INVALID_TOOL, f"{field}: not text")
    text = " ".join(text.split())
    violations = [v for v in check(text, allowed) if not (any_language and v.rule is Rule.LANGUAGE)]
    if violations:
        raise _Unusable(LlmOutcome.REPLACED, f"{field}: " + "; ".join(map(str, violations)))
    return text


def _call_json(turns: Sequence[tuple[str, str]]) -> list[list[str]]:
    return [[speaker, text] for speaker, text in turns[-CALL_TURNS:]]


def model_suggestion(
    model: LanguageModel, text: str, turns: Sequence[tuple[str, str]], script: Script | None,
    facts: CallFacts, now: datetime, *, budget_s: float,
) -> tuple[Suggestion | None, LlmRecord]:  # fmt: skip
    """The model's suggestion, if it may be shown, and what became of asking it."""
    today = now.astimezone(facts.zone).date()
    system = prompts(facts.language).extra["assist"].format(**account_values(facts, today))
    data = {
        "heard": text,
        "call": _call_json(turns),
        "script": dict(script.objections) if script is not None else {},
    }
    request = Request(
        (Message("system", system), Message("user", json.dumps(data, ensure_ascii=False))),
        tools=(_described(_SUGGEST, facts.language),),
    )
    cost = Cost()
    try:
        completion, cost = _ask(model, request, budget_s)
        arguments = _arguments(completion, "suggest")
        script_lines = (*(a for _, a in script.objections), script.purpose) if script else ()
        allowed = _allowed(facts, today, facts.language, *script_lines)
        suggestion = Suggestion(
            heard=text,
            understood=_guarded(
                arguments.get("objection"), "objection", allowed, any_language=True
            ),
            say_next=_guarded(arguments.get("say_next"), "say_next", allowed),
            objection=None,
            answer=_guarded(arguments.get("answer"), "answer", allowed),
            source="llm",
        )
    except _Unusable as exc:
        return None, LlmRecord("suggest", exc.outcome, model.name, str(exc), cost)
    return suggestion, LlmRecord("suggest", LlmOutcome.SPOKEN, model.name, cost=cost)


def model_proposal(
    model: LanguageModel, turns: Sequence[tuple[str, str]], notes: str, facts: CallFacts,
    now: datetime, *, budget_s: float,
) -> tuple[Proposal | None, LlmRecord]:  # fmt: skip
    """The model's proposed disposition, if the lender's rules take it."""
    today = now.astimezone(facts.zone).date()
    system = prompts(facts.language).extra["summary"].format(**account_values(facts, today))
    data = {"call": _call_json(turns), "notes": notes}
    request = Request(
        (Message("system", system), Message("user", json.dumps(data, ensure_ascii=False))),
        tools=(_described(_PROPOSE, facts.language),),
    )
    cost = Cost()
    try:
        completion, cost = _ask(model, request, budget_s)
        outcome = _outcome(_arguments(completion, "propose_disposition"), facts, now)
        allowed = _allowed(
            facts, today, "en",
            amounts=(outcome.ptp_amount,),
            dates=(outcome.ptp_date, outcome.callback_at.date() if outcome.callback_at else None),
        )  # fmt: skip
        summary = _guarded(
            _arguments(completion, "propose_disposition").get("summary"), "summary", allowed,
            any_language=True,
        )  # fmt: skip
    except _Unusable as exc:
        return None, LlmRecord("summarise", exc.outcome, model.name, str(exc), cost)
    record = LlmRecord("summarise", LlmOutcome.PROPOSAL, model.name, outcome.disposition, cost)
    return Proposal(outcome, summary, "llm"), record


def _outcome(arguments: dict[str, Any], facts: CallFacts, now: datetime) -> Outcome:
    """The proposed disposition, if it is one a tele-caller could record as it is."""
    code = arguments.get("disposition")
    if not isinstance(code, str) or code.upper() not in BY_CODE:
        raise _Unusable(LlmOutcome.INVALID_TOOL, f"disposition: {code!r} is not a code")
    code = code.upper()
    amount = when = callback = None
    if code == "PTP":
        try:
            amount = Decimal(str(arguments.get("ptp_amount_rupees"))).quantize(Decimal("0.01"))
            when = date.fromisoformat(str(arguments.get("ptp_date")))
        except (InvalidOperation, ValueError):
            raise _Unusable(LlmOutcome.INVALID_TOOL, "ptp: needs an amount and a date") from None
        problems = promise_rule_problems(
            amount, when, total_outstanding=facts.total_outstanding,
            horizon_days=facts.promise_horizon_days, bucket=facts.bucket,
            today=now.astimezone(facts.zone).date(),
        )  # fmt: skip
        if problems:
            raise _Unusable(LlmOutcome.INVALID_TOOL, "ptp: " + "; ".join(problems))
    if code == "CALLBACK":
        try:
            callback = datetime.fromisoformat(str(arguments.get("callback_at")))
        except ValueError:
            raise _Unusable(LlmOutcome.INVALID_TOOL, "callback_at: not a time") from None
        callback = callback.replace(tzinfo=facts.zone) if callback.tzinfo is None else callback
        if callback <= now:
            raise _Unusable(LlmOutcome.INVALID_TOOL, "callback_at: the time has passed")
    return Outcome(code, ptp_amount=amount, ptp_date=when, callback_at=callback)


# --- the rules' summary -------------------------------------------------------------------------

# When a call says several things, the one recorded: protective outcomes first, then what was
# agreed, then what was refused.
_PRECEDENCE = (
    Intent.WRONG_NUMBER, Intent.THIRD_PARTY, Intent.NOT_THE_PERSON, Intent.BEREAVEMENT,
    Intent.DISPUTE, Intent.ALREADY_PAID, Intent.PROMISE, Intent.CALLBACK, Intent.REFUSE,
    Intent.CANNOT_PAY, Intent.ASK_HUMAN, Intent.ABUSE,
)  # fmt: skip
_DISPOSITION = {
    Intent.WRONG_NUMBER: "WRONG_NUMBER", Intent.THIRD_PARTY: "THIRD_PARTY",
    Intent.NOT_THE_PERSON: "THIRD_PARTY", Intent.DISPUTE: "DISPUTE", Intent.ALREADY_PAID: "PAID",
    Intent.CALLBACK: "CALLBACK", Intent.REFUSE: "REFUSED", Intent.CANNOT_PAY: "HARDSHIP",
    Intent.ASK_HUMAN: "ESCALATED", Intent.ABUSE: "ESCALATED",
}  # fmt: skip


def rules_proposal(
    turns: Sequence[tuple[str, str]], notes: str, facts: CallFacts, now: datetime
) -> Proposal | None:
    """The outcome the borrower's words (and the tele-caller's notes) amount to, by the rules."""
    said = [text for speaker, text in turns if speaker == "borrower" and text.strip()]
    said += [line for line in notes.splitlines() if line.strip()]
    readings = [(text, _heard(text, facts, now)) for text in said]
    today = now.astimezone(facts.zone).date()
    for intent in _PRECEDENCE:
        found = [(text, h) for text, h in readings if h.intent is intent]
        if not found:
            continue
        text, heard = found[-1]
        outcome = _rules_outcome(heard, facts, today, now)
        if outcome is None:
            continue
        return Proposal(outcome, f"The borrower said: “{text}”.", "rules")
    return None


def _rules_outcome(
    heard: Understanding, facts: CallFacts, today: date, now: datetime
) -> Outcome | None:
    if heard.intent is Intent.PROMISE:
        if heard.amount is None or heard.date is None or promise_rule_problems(
            heard.amount, heard.date, total_outstanding=facts.total_outstanding,
            horizon_days=facts.promise_horizon_days, bucket=facts.bucket, today=today,
        ):  # fmt: skip
            return None
        return Outcome("PTP", ptp_amount=heard.amount, ptp_date=heard.date)
    if heard.intent is Intent.BEREAVEMENT:
        return Outcome("DECEASED" if heard.borrower_deceased else "HARDSHIP", bereavement=True)
    if heard.intent is Intent.CALLBACK:
        if heard.callback_at is None or heard.callback_at <= now:
            return None
        return Outcome("CALLBACK", callback_at=heard.callback_at)
    return Outcome(_DISPOSITION[heard.intent])


# --- on the screen ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallView:
    """What the assistant knows of a call, read before the model is asked (the store is not held
    while it thinks)."""

    call_id: str
    facts: CallFacts
    turns: tuple[tuple[str, str], ...]
    script: Script | None


def call_view(context: AppContext, session: Session, call: Call, script: Script | None) -> CallView:
    turns = tuple((t.speaker.value, t.text) for t in call.turns)
    return CallView(call.call_id, call_facts(session, call, context), turns, script)


def suggest(context: AppContext, view: CallView, text: str) -> Suggestion:
    """What to say next to `text`: the model's suggestion if it may be shown, else the script's."""
    now = context.clock.now()
    fallback = script_suggestion(text, view.script, view.facts, now)
    if context.llm is None or not text.strip():
        return fallback
    suggestion, record = model_suggestion(
        context.llm, text, view.turns, view.script, view.facts, now,
        budget_s=context.settings.llm_budget_s,
    )  # fmt: skip
    record_llm_turn(context, view.call_id, 0, record, now)
    if suggestion is None:
        return fallback
    # The script's own answer to the objection stays the reference beside the model's words.
    return Suggestion(
        text, suggestion.understood, suggestion.say_next, fallback.objection,
        suggestion.answer, "llm",
    )  # fmt: skip


def propose(context: AppContext, view: CallView, notes: str) -> Proposal | None:
    """The call's disposition as the model proposes it if the rules take it, else the rules'."""
    now = context.clock.now()
    proposal = None
    if context.llm is not None:
        proposal, record = model_proposal(
            context.llm, view.turns, notes, view.facts, now,
            budget_s=context.settings.llm_budget_s,
        )  # fmt: skip
        record_llm_turn(context, view.call_id, 0, record, now)
    return proposal or rules_proposal(view.turns, notes, view.facts, now)


def keep_proposal(
    session: Session, call_id: str, proposal: Proposal, notes: str, *, now: datetime
) -> None:
    """Keep the proposal until the tele-caller saves the disposition (a new one replaces it)."""
    stored = session.get(CallSummary, call_id) or CallSummary(call_id=call_id)
    outcome = proposal.outcome
    stored.summary, stored.source = proposal.summary, proposal.source
    stored.disposition, stored.ptp_amount = outcome.disposition, outcome.ptp_amount
    stored.ptp_date, stored.callback_at = outcome.ptp_date, outcome.callback_at
    stored.note, stored.created_at = notes.strip() or None, now
    stored.decision = stored.decided_disposition = stored.decided_by = None
    stored.decided_at = None
    session.add(stored)


def settle_summary(
    session: Session, call_id: str, saved: Outcome, *, by: str, now: datetime
) -> None:
    """The tele-caller saved the call's disposition: the proposal was confirmed or corrected."""
    proposal = session.scalar(
        select(CallSummary).where(CallSummary.call_id == call_id, CallSummary.decision.is_(None))
    )
    if proposal is None:
        return
    same = (
        proposal.disposition == saved.disposition.upper()
        and proposal.ptp_amount == saved.ptp_amount
        and proposal.ptp_date == saved.ptp_date
        and proposal.callback_at == saved.callback_at
    )
    proposal.decision = "confirmed" if same else "corrected"
    proposal.decided_disposition = saved.disposition.upper()
    proposal.decided_by, proposal.decided_at = by, now
