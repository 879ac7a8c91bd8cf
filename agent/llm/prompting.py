"""What the model is told: the system prompt from `prompts/{language}/llm.toml`, the call so far,
and this turn as a JSON object.

Borrower speech only ever reaches the model as a JSON string value (`borrower_said`), in a user
message, after a system prompt that says it is data. Nothing the borrower says is put into the
system prompt or into the instructions of a turn.
"""

from __future__ import annotations

import json
import string
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

from agent.conversation import CallFacts
from agent.llm.model import Message
from agent.script import script
from duecall.errors import ConfigurationError

Task = Literal["phrase", "understand"]
HISTORY_TURNS = 8  # the call so far, as the model sees it: the last this many lines


@dataclass(frozen=True, slots=True)
class Prompts:
    language: str
    system: str
    tools: dict[str, str]  # tool name -> what it is for
    extra: dict[str, str]  # the screens' prompts (agent.assist)


@cache
def prompts(language: str) -> Prompts:
    """The LLM prompts for `language` (`en`, `hi`, or a tag), checked against English's."""
    code = "hi" if language.lower().startswith("hi") else "en"
    data = _load(code)
    if code != "en":
        _check_same_shape(code, data, _load("en"))
    tools = data.pop("tools")
    system = data.pop("system")
    return Prompts(code, system, dict(tools), dict(data))


def _load(code: str) -> dict[str, Any]:
    path = resources.files("prompts").joinpath(code, "llm.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"prompts/{code}/llm.toml: {exc}") from None
    if not isinstance(data.get("system"), str) or not isinstance(data.get("tools"), dict):
        raise ConfigurationError(f"prompts/{code}/llm.toml: needs `system` and a [tools] table")
    return data


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _check_same_shape(code: str, data: dict[str, Any], english: dict[str, Any]) -> None:
    for key, text in english.items():
        theirs = data.get(key)
        if theirs is None:
            raise ConfigurationError(f"prompts/{code}/llm.toml: {key}: missing")
        if isinstance(text, dict):
            if set(theirs) != set(text):
                raise ConfigurationError(f"prompts/{code}/llm.toml: [{key}] names differ")
        elif _placeholders(theirs) != _placeholders(text):
            raise ConfigurationError(
                f"prompts/{code}/llm.toml: {key}: placeholders differ from English"
            )


def account_values(facts: CallFacts, today: date) -> dict[str, str]:
    """The account facts the borrower may hear, worded as the call script words them."""
    lines = script(facts.language)
    return {
        "lender": facts.lender,
        "name": facts.borrower_name,
        "last4": " ".join(facts.account_last4),
        "overdue": lines.amount(facts.overdue),
        "due_date": lines.date(facts.due_date) if facts.due_date else "-",
        "emi": lines.amount(facts.emi) if facts.emi else "-",
        "total": lines.amount(facts.total_outstanding),
        "today": lines.date(today),
        "last_date": lines.date(today + timedelta(days=facts.promise_horizon_days)),
    }


def system_message(facts: CallFacts, today: date) -> Message:
    return Message("system", prompts(facts.language).system.format(**account_values(facts, today)))


def history_messages(turns: Sequence[tuple[str, str]]) -> list[Message]:
    """The call so far (speaker, text), oldest first: the agent's lines as the assistant's, the
    borrower's as data."""
    return [
        Message("assistant", text)
        if speaker == "agent"
        else Message("user", json.dumps({"borrower_said": text}, ensure_ascii=False))
        for speaker, text in turns[-HISTORY_TURNS:]
    ]


def turn_message(
    task: Task, *, borrower_said: str, question: str, agent_line: str | None = None
) -> Message:
    data: dict[str, str] = {"task": task, "borrower_said": borrower_said, "question": question}
    if agent_line is not None:
        data["agent_line"] = agent_line
    return Message("user", json.dumps(data, ensure_ascii=False))
