"""Every persona on a real call with a scripted collection agent."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime
from typing import Any

import pytest
from twilio.twiml.voice_response import Gather, VoiceResponse

from dialer.simulator.engine import BORROWER_ZONE
from tests.dialer.simulator.conftest import Harness, new_number

ENGLISH_SCRIPT = (
    "Hello, this is Demo Bank. Am I speaking with Priya Sharma?",
    "For verification, please tell me your year of birth.",
    "Your EMI of 5000 rupees is overdue. Can you pay it today?",
    "By which date can you pay?",
    "How much can you pay?",
    "To confirm, you will pay 5000 rupees by 5 March. Is that right?",
)
HINDI_SCRIPT = (
    "नमस्ते, मैं डेमो बैंक से बोल रही हूँ। क्या मेरी बात रमेश पटेल से हो रही है?",
    "कृपया अपना जन्म का वर्ष बताइए।",
    "आपकी 5000 रुपये की किस्त बकाया है। क्या आप आज भुगतान कर सकते हैं?",
    "आप किस तारीख तक भुगतान करेंगे?",
)
DEVANAGARI = re.compile(r"[\u0900-\u097f]")


class ScriptedAgent:
    """Asks each prompt of its script in a speech Gather, whatever the answer, then closes."""

    def __init__(self, prompts: tuple[str, ...], language: str) -> None:
        self.prompts = prompts
        self.language = language
        self.turn: dict[str, int] = defaultdict(int)

    def __call__(self, params: dict[str, str]) -> str:
        turn = self.turn[params["CallSid"]]
        self.turn[params["CallSid"]] += 1
        response = VoiceResponse()
        if turn >= len(self.prompts):
            response.say("Thank you for your time. Goodbye.", language=self.language)
            response.hangup()
            return str(response)
        gather = Gather(input="speech", language=self.language, timeout=4)
        gather.say(self.prompts[turn], language=self.language)
        response.append(gather)
        return str(response)


def _talk(sim: Harness, persona: str, **facts: Any) -> dict[str, Any]:
    to = sim.register(new_number(), persona=persona, **facts)
    language = "hi-IN" if persona == "hindi_speaker" else "en-IN"
    agent = ScriptedAgent(HINDI_SCRIPT if persona == "hindi_speaker" else ENGLISH_SCRIPT, language)
    return sim.wait(sim.place(to, url=sim.webhooks.on(f"agent-{to}", agent)))


def _intents(view: dict[str, Any]) -> list[str]:
    return [i for t in view["transcript"] if t["speaker"] == "borrower" for i in t["intents"]]


def _ended_by(view: dict[str, Any]) -> str:
    return str([e for e in view["events"] if e["type"] == "ended"][-1]["detail"]["by"])


@pytest.mark.parametrize(
    ("persona", "facts", "intents", "ended_by"),
    [
        (
            "payer",
            {},
            [
                "confirm_identity",
                "give_year",
                "already_paid",
                "already_paid",
                "already_paid",
                "agree",
            ],
            "twiml",
        ),
        (
            "promiser",
            {"after_salary": False},
            ["confirm_identity", "give_year", "promise", "give_date", "give_amount", "agree"],
            "twiml",
        ),
        (
            "promiser",
            {"after_salary": True},
            ["confirm_identity", "give_year", "after_salary", "give_date", "give_amount", "agree"],
            "twiml",
        ),
        (
            "refuser",
            {},
            ["confirm_identity", "give_year", "refuse", "refuse", "refuse", "refuse"],
            "borrower",
        ),
        (
            "disputer",
            {},
            ["confirm_identity", "give_year", "dispute", "dispute", "dispute", "dispute"],
            "twiml",
        ),
        ("wrong_number", {}, ["wrong_number", "wrong_number", "wrong_number"], "borrower"),
        (
            "third_party",
            {},
            [
                "not_at_home",
                "dont_know",
                "take_message",
                "take_message",
                "take_message",
                "take_message",
            ],
            "twiml",
        ),
        ("abusive", {}, ["rude_confirm", "abuse", "abuse", "abuse"], "borrower"),
        ("bereaved", {}, ["deceased", "mourning", "mourning"], "borrower"),
        (
            "hindi_speaker",
            {"after_salary": False},
            ["confirm_identity", "give_year", "promise", "give_date"],
            "twiml",
        ),
    ],
)
def test_people_answer_the_agent_by_their_persona(
    sim: Harness, persona: str, facts: dict[str, Any], intents: list[str], ended_by: str
) -> None:
    view = _talk(sim, persona, **facts)
    assert view["persona"] == persona
    assert view["status"] == "completed"
    assert _intents(view) == intents
    assert _ended_by(view) == ended_by


def test_verification_uses_the_registered_facts(sim: Harness) -> None:
    view = _talk(
        sim,
        "promiser",
        year_of_birth=1979,
        promise_amount="7500.00",
        promise_date="2026-03-12",
        after_salary=False,
    )
    borrower = [t["text"] for t in view["transcript"] if t["speaker"] == "borrower"]
    assert "1979" in borrower[1]
    assert any(a in borrower[2] for a in ("7500", "7,500")), borrower[2]
    assert any(d in borrower[3] for d in ("12th", "12 March")), borrower[3]
    assert view["borrower"]["promise_amount"] == 7500


def test_hindi_speakers_are_heard_in_devanagari_by_hi_in(sim: Harness) -> None:
    view = _talk(sim, "hindi_speaker")
    borrower = [t for t in view["transcript"] if t["speaker"] == "borrower"]
    assert len(borrower) == len(HINDI_SCRIPT)
    assert {t["language"] for t in borrower} == {"hi-IN"}
    for turn in borrower:
        if turn["intents"] != ["give_year"]:  # a year may be heard as digits alone
            assert DEVANAGARI.search(turn["text"]), turn["text"]
    assert view["borrower"]["language"] == "hi"


@pytest.mark.parametrize(("persona", "status"), [("busy", "busy"), ("no_answer", "no-answer")])
def test_unreachable_people_never_hear_the_agent(sim: Harness, persona: str, status: str) -> None:
    view = _talk(sim, persona)
    assert view["status"] == status
    assert view["transcript"] == []


@pytest.mark.parametrize("persona", ["voicemail", "silent"])
def test_machines_and_silent_people_say_nothing(sim: Harness, persona: str) -> None:
    view = _talk(sim, persona)
    assert view["status"] == "completed"
    assert [t["speaker"] for t in view["transcript"]] == ["agent"]  # one unanswered prompt
    assert _ended_by(view) == "twiml"
    assert any(e["type"] == "voicemail_greeting" for e in view["events"]) is (
        persona == "voicemail"
    )


def test_unregistered_numbers_get_a_persona_and_facts_drawn_from_the_seed(sim: Harness) -> None:
    numbers = [new_number() for _ in range(12)]
    agent = ScriptedAgent(ENGLISH_SCRIPT, "en-IN")
    url = sim.webhooks.on("agent", agent)
    views = [sim.wait(sim.place(n, url=url)) for n in numbers]
    assert len({v["persona"] for v in views}) > 3
    assert all(v["borrower"]["name"] for v in views)
    again = sim.wait(sim.place(numbers[0], url=url))
    assert again["persona"] == views[0]["persona"]  # the same person keeps the same number
    # ... and the same facts; the promise date is drawn as days after the call's local date,
    # and the accelerated clock may have passed midnight between the two calls.
    assert {**again["borrower"], "promise_date": None} == {
        **views[0]["borrower"],
        "promise_date": None,
    }
    assert _promise_days_after_call(again) == _promise_days_after_call(views[0])


def _promise_days_after_call(view: dict[str, Any]) -> int:
    called_on = datetime.fromisoformat(view["created_at"]).astimezone(BORROWER_ZONE).date()
    return (date.fromisoformat(view["borrower"]["promise_date"]) - called_on).days
