"""Tool calls are readings to confirm: validated, grounded in what the borrower said, and turned
into what the state machine understands."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from agent.llm.model import ToolCall
from agent.llm.tools import Reading, ToolRefused, read_tool_calls, tools
from agent.understanding import Hardship, Intent, PhoneScope

IST = ZoneInfo("Asia/Kolkata")
SAID = "haan theek hai main 5 tareekh ko 3000 de dunga, and call me after 6 on Sunday please"
READING = Reading(SAID, date(2026, 3, 2), IST)


def call(name: str, **arguments: object) -> ToolCall:
    return ToolCall(
        name, json.dumps({"borrower_words": "main 5 tareekh ko 3000 de dunga", **arguments})
    )


def test_a_promise_is_a_promise_to_read_back() -> None:
    heard = read_tool_calls(
        [call("record_promise", amount_rupees=3000, date="2026-03-05")], READING
    )
    assert heard.intent is Intent.PROMISE and heard.low_confidence
    assert (heard.amount, heard.date) == (Decimal("3000.00"), date(2026, 3, 5))
    assert heard.evidence == ("llm record_promise: main 5 tareekh ko 3000 de dunga",)


@pytest.mark.parametrize(
    ("tool_call", "intent", "check"),
    [
        (call("record_promise", date="2026-03-05"), Intent.PROMISE, lambda h: h.amount is None),
        (call("record_promise", amount_rupees="3,000"), Intent.PROMISE, lambda h: h.amount == Decimal(3000)),
        (call("set_disposition", disposition="PAID", paid_on="2026-03-01"), Intent.ALREADY_PAID,
         lambda h: h.date == date(2026, 3, 1)),
        (call("set_disposition", disposition="REFUSED"), Intent.REFUSE, lambda h: True),
        (call("set_disposition", disposition="DISPUTE"), Intent.DISPUTE, lambda h: True),
        (call("set_disposition", disposition="HARDSHIP", hardship="medical"), Intent.CANNOT_PAY,
         lambda h: h.hardship is Hardship.MEDICAL),
        (call("schedule_callback", at="2026-03-08T18:00"), Intent.CALLBACK,
         lambda h: h.callback_at == datetime(2026, 3, 8, 18, 0, tzinfo=IST)),
        (call("schedule_callback", at="2026-03-08T12:30:00+00:00"), Intent.CALLBACK,
         lambda h: h.callback_at == datetime(2026, 3, 8, 18, 0, tzinfo=IST)),
        (call("escalate", reason="complaint"), Intent.ASK_HUMAN, lambda h: True),
        (call("note_preference", days=["sun", "sat"], start="09:00", end="18:00"), Intent.PREFERENCE,
         lambda h: h.preference.days == ("sat", "sun") and h.preference.start == time(9)),
        (call("note_preference", this_number_only=True), Intent.PREFERENCE,
         lambda h: h.preference.phone is PhoneScope.THIS),
    ],
    ids=["date only", "amount as text", "paid", "refused", "dispute", "hardship", "callback",
         "callback with offset", "escalate", "preference", "not this number"],
)  # fmt: skip
def test_each_tool_reads_into_the_rules_understanding(
    tool_call: ToolCall, intent: Intent, check: object
) -> None:
    heard = read_tool_calls([tool_call], READING)
    assert heard.intent is intent and heard.low_confidence
    assert check(heard)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("calls", "reason"),
    [
        ([], "0 tool calls"),
        ([call("escalate", reason="complaint")] * 2, "2 tool calls"),
        ([ToolCall("waive_fee", "{}")], "unknown tool"),
        ([ToolCall("record_promise", "{not json")], "not JSON"),
        ([ToolCall("record_promise", "[1, 2]")], "not an object"),
        ([ToolCall("record_promise", json.dumps({"amount_rupees": 5000}))], "borrower_words missing"),
        ([ToolCall("record_promise", json.dumps({"amount_rupees": 5000, "borrower_words": "I will pay five lakh next year"}))],
         "not what the borrower said"),
        ([call("record_promise")], "neither an amount nor a date"),
        ([call("record_promise", amount_rupees=-5)], "not an amount"),
        ([call("record_promise", amount_rupees="lots")], "not an amount"),
        ([call("record_promise", amount_rupees=1e12)], "not an amount"),
        ([call("record_promise", date="next Friday")], "not a date"),
        ([call("set_disposition", disposition="PTP")], "not one the agent may record"),
        ([call("set_disposition", disposition="WRONG_NUMBER")], "not one the agent may record"),
        ([call("set_disposition", disposition="HARDSHIP", hardship="lazy")], "not a reason"),
        ([call("set_disposition", disposition="PAID", paid_on="2026-03-09")], "in the future"),
        ([call("schedule_callback", at="evening")], "not a date and time"),
        ([call("escalate", reason="wants a waiver")], "not a reason to escalate"),
        ([call("note_preference", days=["someday"])], "not days"),
        ([call("note_preference", start="6pm")], "not a time"),
        ([call("note_preference")], "no day, hour or number"),
    ],
)  # fmt: skip
def test_what_the_rules_refuse_is_refused_with_the_reason(
    calls: list[ToolCall], reason: str
) -> None:
    with pytest.raises(ToolRefused, match=reason):
        read_tool_calls(calls, READING)


def test_quotes_in_devanagari_are_grounded_in_devanagari_speech() -> None:
    said = "मैं पाँच तारीख को तीन हज़ार दे दूँगी"
    quote = json.dumps(
        {"date": "2026-03-05", "amount_rupees": 3000, "borrower_words": "पाँच तारीख को तीन हज़ार"}
    )
    heard = read_tool_calls(
        [ToolCall("record_promise", quote)], Reading(said, date(2026, 3, 2), IST)
    )
    assert heard.amount == Decimal(3000)


def test_every_tool_is_described_in_every_language() -> None:
    for language in ("en", "hi"):
        names = [t.name for t in tools(language)]
        assert names == [
            "record_promise",
            "set_disposition",
            "schedule_callback",
            "escalate",
            "note_preference",
        ]
        assert all(t.description and t.parameters["type"] == "object" for t in tools(language))
