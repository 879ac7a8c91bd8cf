"""How calls go before anyone speaks, pure: ringing, answering, machine detection, dialled legs."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from dialer.simulator.outcomes import (
    CallPlan,
    plan_call,
    plan_dial_leg,
    speaking_seconds,
)
from dialer.simulator.personas import ANSWERED_BY_A_PERSON, PersonaKind


def _plan(persona: PersonaKind, seed: int = 0, **options: object) -> CallPlan:
    kwargs: dict[str, object] = {"timeout": 60, "machine_detection": None, **options}
    return plan_call(persona, random.Random(seed), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("persona", "options", "outcome", "answered_by"),
    [
        (PersonaKind.BUSY, {}, "busy", None),
        (PersonaKind.NO_ANSWER, {}, "no-answer", None),
        (PersonaKind.PROMISER, {}, "answered", None),
        (PersonaKind.VOICEMAIL, {}, "answered", None),
        # Voicemail picks up after 20-30 s: with a 15 s Timeout the call is not answered.
        (PersonaKind.VOICEMAIL, {"timeout": 15}, "no-answer", None),
        (PersonaKind.VOICEMAIL, {"machine_detection": "Enable"}, "answered", "machine_start"),
        (PersonaKind.PAYER, {"fails": True}, "failed", None),
        (
            PersonaKind.PAYER,
            {"machine_detection": "Enable", "answered_by": "fax"},
            "answered",
            "fax",
        ),
    ],
)
def test_plans_follow_the_persona(
    persona: PersonaKind, options: dict[str, object], outcome: str, answered_by: str | None
) -> None:
    plan = _plan(persona, **options)
    assert plan.outcome == outcome
    assert plan.answered_by == answered_by


def test_no_answer_rings_for_the_whole_timeout() -> None:
    assert _plan(PersonaKind.NO_ANSWER, timeout=25).ring_seconds == 25


@pytest.mark.parametrize("persona", sorted(ANSWERED_BY_A_PERSON - {PersonaKind.SILENT}))
def test_people_are_detected_as_human_mostly(persona: PersonaKind) -> None:
    seen = Counter(
        _plan(persona, seed, machine_detection="DetectMessageEnd").answered_by
        for seed in range(300)
    )
    assert set(seen) <= {"human", "unknown"}
    assert seen["human"] > 0.85 * 300


def test_voicemail_is_detected_at_the_end_of_its_greeting() -> None:
    plans = [
        _plan(PersonaKind.VOICEMAIL, seed, machine_detection="DetectMessageEnd")
        for seed in range(300)
    ]
    seen = Counter(p.answered_by for p in plans)
    assert set(seen) == {"machine_end_beep", "machine_end_silence", "machine_end_other"}
    assert seen["machine_end_beep"] > seen["machine_end_silence"] > seen["machine_end_other"]
    assert all(8 <= p.detection_seconds <= 30 for p in plans)


def test_silence_confuses_machine_detection() -> None:
    seen = Counter(
        _plan(PersonaKind.SILENT, seed, machine_detection="Enable").answered_by
        for seed in range(300)
    )
    assert seen["unknown"] > seen["human"] > 0


def test_unknown_takes_the_whole_detection_timeout() -> None:
    plan = _plan(
        PersonaKind.PAYER, machine_detection="Enable", answered_by="unknown", detection_timeout=12
    )
    assert plan.detection_seconds == 12


def test_dialled_legs_are_mostly_answered_and_talk_a_while() -> None:
    legs = [plan_dial_leg(30, random.Random(seed)) for seed in range(400)]
    statuses = Counter(leg.status for leg in legs)
    assert statuses["completed"] > 0.75 * 400
    assert statuses["no-answer"] > 0 and statuses["busy"] > 0
    assert all(45 <= leg.talk_seconds <= 300 for leg in legs if leg.status == "completed")
    assert all(leg.ring_seconds == 30 for leg in legs if leg.status == "no-answer")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(" ".join(["word"] * 150), 60.0), ("one two three four five", 2.0), ("Hi", 0.6), ("", 0.6)],
)
def test_speech_takes_time_at_150_words_a_minute(text: str, seconds: float) -> None:
    assert speaking_seconds(text) == pytest.approx(seconds)
