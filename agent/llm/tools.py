"""The outcomes a model may report, as tools, and their validation into what the rules understand.

A tool call is only a reading of what the borrower said. `read_tool_calls` turns it into an
`Understanding` marked `low_confidence`, so the conversation's state machine treats it as it
treats speech it is not sure of: anything with a consequence is said back to the borrower and
recorded only on their "yes", and a promise is read back and checked against the lender's rules
(`crm.outcomes`) before it is recorded. Arguments that do not parse, outcomes the model may not
report, and quotes that are not the borrower's words are refused with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from agent import lexicon
from agent.llm.model import Tool, ToolCall
from agent.llm.prompting import prompts
from agent.spoken_text import hear
from agent.understanding import (
    PAISE,
    AmountKind,
    AvoidPreference,
    Hardship,
    Intent,
    PhoneScope,
    Understanding,
)

MAX_AMOUNT = Decimal(10) ** 9  # more than any retail loan: a misread, not a promise
GROUNDING = 2 / 3  # share of the quoted words that must be words the borrower said

_WORDS = {"type": "string", "description": "the customer's own words that say this"}
_SCHEMAS: dict[str, dict[str, Any]] = {
    "record_promise": {
        "type": "object",
        "properties": {
            "amount_rupees": {"type": "number", "exclusiveMinimum": 0},
            "date": {"type": "string", "description": "YYYY-MM-DD"},
            "borrower_words": _WORDS,
        },
        "required": ["borrower_words"],
    },
    "set_disposition": {
        "type": "object",
        "properties": {
            "disposition": {"type": "string", "enum": ["PAID", "REFUSED", "DISPUTE", "HARDSHIP"]},
            "hardship": {"type": "string", "enum": [h.value for h in Hardship]},
            "paid_on": {"type": "string", "description": "YYYY-MM-DD, if they said when"},
            "borrower_words": _WORDS,
        },
        "required": ["disposition", "borrower_words"],
    },
    "schedule_callback": {
        "type": "object",
        "properties": {
            "at": {"type": "string", "description": "local date and time, YYYY-MM-DDTHH:MM"},
            "borrower_words": _WORDS,
        },
        "required": ["at", "borrower_words"],
    },
    "escalate": {
        "type": "object",
        "properties": {
            "reason": {"type": "string", "enum": ["asked_for_person", "complaint"]},
            "borrower_words": _WORDS,
        },
        "required": ["reason", "borrower_words"],
    },
    "note_preference": {
        "type": "object",
        "properties": {
            "days": {
                "type": "array",
                "items": {"type": "string", "enum": list(lexicon.WEEKDAY_CODES)},
                "description": "days not to call; empty for every day",
            },
            "start": {"type": "string", "description": "HH:MM, start of the hours not to call"},
            "end": {"type": "string", "description": "HH:MM, end of the hours not to call"},
            "this_number_only": {"type": "boolean"},
            "borrower_words": _WORDS,
        },
        "required": ["borrower_words"],
    },
}
_DISPOSITION_INTENTS = {
    "PAID": Intent.ALREADY_PAID,
    "REFUSED": Intent.REFUSE,
    "DISPUTE": Intent.DISPUTE,
    "HARDSHIP": Intent.CANNOT_PAY,
}


def tools(language: str) -> tuple[Tool, ...]:
    described = prompts(language).tools
    return tuple(Tool(name, described[name], schema) for name, schema in _SCHEMAS.items())


class ToolRefused(ValueError):
    """A tool call the rules do not take; the message says why."""


@dataclass(frozen=True, slots=True)
class Reading:
    """Where a tool call is read: the borrower's words, their day and zone."""

    borrower_said: str
    today: date
    zone: ZoneInfo


def read_tool_calls(calls: Sequence[ToolCall], reading: Reading) -> Understanding:
    """The one outcome the model reported, as an understanding to confirm; ToolRefused if not."""
    if len(calls) != 1:
        raise ToolRefused(f"{len(calls)} tool calls: one outcome per turn")
    call = calls[0]
    if call.name not in _SCHEMAS:
        raise ToolRefused(f"unknown tool {call.name!r}")
    try:
        arguments = json.loads(call.arguments or "{}")
    except ValueError:
        raise ToolRefused(f"{call.name}: arguments are not JSON") from None
    if not isinstance(arguments, dict):
        raise ToolRefused(f"{call.name}: arguments are not an object")
    quote = _grounded(arguments.get("borrower_words"), reading.borrower_said, call.name)
    evidence = (f"llm {call.name}: {quote}",)
    understood = _READERS[call.name](arguments, reading)
    return Understanding(
        intent=understood.intent,
        date=understood.date,
        amount=understood.amount,
        amount_kind=understood.amount_kind,
        callback_at=understood.callback_at,
        preference=understood.preference,
        hardship=understood.hardship,
        evidence=evidence,
        low_confidence=True,
    )


def _grounded(quote: object, said: str, name: str) -> str:
    """The model's quote, if it is the borrower's words (so it cannot invent what was said)."""
    if not isinstance(quote, str) or not quote.strip():
        raise ToolRefused(f"{name}: borrower_words missing")
    quoted = [k for k in hear(quote).keys if k != "|"]
    heard = set(hear(said).keys)
    if not quoted or sum(k in heard for k in quoted) < GROUNDING * len(quoted):
        raise ToolRefused(f"{name}: borrower_words are not what the borrower said")
    return quote.strip()


def _date(value: object, field: str) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ToolRefused(f"{field}: not a date")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise ToolRefused(f"{field}: {value!r} is not a date (YYYY-MM-DD)") from None


def _time(value: object, field: str) -> time | None:
    if value in (None, ""):
        return None
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError:
        raise ToolRefused(f"{field}: {value!r} is not a time (HH:MM)") from None


def _promise(arguments: dict[str, Any], reading: Reading) -> Understanding:
    raw = arguments.get("amount_rupees")
    amount: Decimal | None = None
    if raw not in (None, ""):
        try:
            amount = Decimal(str(raw).replace(",", "")).quantize(PAISE)
        except (InvalidOperation, ValueError):
            raise ToolRefused(f"amount_rupees: {raw!r} is not an amount") from None
        if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
            raise ToolRefused(f"amount_rupees: {raw!r} is not an amount")
    when = _date(arguments.get("date"), "date")
    if amount is None and when is None:
        raise ToolRefused("record_promise: neither an amount nor a date")
    kind = AmountKind.EXACT if amount is not None else None
    return Understanding(Intent.PROMISE, date=when, amount=amount, amount_kind=kind)


def _disposition(arguments: dict[str, Any], reading: Reading) -> Understanding:
    code = arguments.get("disposition")
    intent = _DISPOSITION_INTENTS.get(code) if isinstance(code, str) else None
    if intent is None:
        raise ToolRefused(f"disposition: {code!r} is not one the agent may record")
    hardship = arguments.get("hardship")
    try:
        reason = Hardship(hardship) if intent is Intent.CANNOT_PAY and hardship else None
    except ValueError:
        raise ToolRefused(f"hardship: {hardship!r} is not a reason") from None
    paid_on = _date(arguments.get("paid_on"), "paid_on") if intent is Intent.ALREADY_PAID else None
    if paid_on is not None and paid_on > reading.today:
        raise ToolRefused("paid_on: a payment cannot have been made in the future")
    return Understanding(intent, date=paid_on, hardship=reason)


def _callback(arguments: dict[str, Any], reading: Reading) -> Understanding:
    value = arguments.get("at")
    try:
        at = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ToolRefused(f"at: {value!r} is not a date and time") from None
    at = at.replace(tzinfo=reading.zone) if at.tzinfo is None else at.astimezone(reading.zone)
    return Understanding(Intent.CALLBACK, date=at.date(), callback_at=at)


def _escalate(arguments: dict[str, Any], reading: Reading) -> Understanding:
    if arguments.get("reason") not in ("asked_for_person", "complaint"):
        raise ToolRefused(f"reason: {arguments.get('reason')!r} is not a reason to escalate")
    return Understanding(Intent.ASK_HUMAN)


def _preference(arguments: dict[str, Any], reading: Reading) -> Understanding:
    days = arguments.get("days") or []
    if not isinstance(days, list) or any(d not in lexicon.WEEKDAY_CODES for d in days):
        raise ToolRefused(f"days: {days!r} are not days (mon..sun)")
    start, end = _time(arguments.get("start"), "start"), _time(arguments.get("end"), "end")
    only_here = arguments.get("this_number_only") is True
    if not days and start is None and end is None and not only_here:
        raise ToolRefused("note_preference: no day, hour or number to avoid")
    preference = AvoidPreference(
        phone=PhoneScope.THIS if only_here else PhoneScope.ALL,
        days=tuple(d for d in lexicon.WEEKDAY_CODES if d in days),
        start=start,
        end=end,
    )
    return Understanding(Intent.PREFERENCE, preference=preference)


_READERS = {
    "record_promise": _promise,
    "set_disposition": _disposition,
    "schedule_callback": _callback,
    "escalate": _escalate,
    "note_preference": _preference,
}
