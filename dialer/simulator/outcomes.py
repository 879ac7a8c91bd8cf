"""How a call goes before anyone speaks, pure: ringing, answering, machine detection, dialled legs.

Times are simulated seconds; every draw comes from the call's own seeded RNG.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from dialer.simulator.personas import PersonaKind

Outcome = Literal["answered", "busy", "no-answer", "failed"]
AnsweredBy = Literal[
    "human",
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
]
ANSWERED_BY_VALUES: tuple[AnsweredBy, ...] = (
    "human",
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
    "unknown",
)
# Speech at about 150 words a minute.
SECONDS_PER_WORD = 60 / 150


@dataclass(frozen=True)
class CallPlan:
    queue_seconds: float  # queued → initiated
    setup_seconds: float  # initiated → ringing
    ring_seconds: float  # ringing → answered, busy, no-answer or failed
    outcome: Outcome
    answered_by: AnsweredBy | None  # when machine detection is on
    detection_seconds: float  # how long machine detection listens


def plan_call(
    persona: PersonaKind,
    rng: random.Random,
    *,
    timeout: int,
    machine_detection: str | None,
    detection_timeout: int = 30,
    fails: bool = False,
    answered_by: AnsweredBy | None = None,
) -> CallPlan:
    """What happens when `persona`'s phone rings, with Twilio's `Timeout` in seconds."""
    queue = rng.uniform(0.2, 1.0)
    setup = rng.uniform(1.0, 3.0)
    if fails:
        return CallPlan(queue, setup, rng.uniform(0.5, 3.0), "failed", None, 0.0)
    if persona is PersonaKind.BUSY:
        return CallPlan(queue, setup, rng.uniform(2.0, 8.0), "busy", None, 0.0)
    if persona is PersonaKind.NO_ANSWER:
        return CallPlan(queue, setup, float(timeout), "no-answer", None, 0.0)
    # Network voicemail picks up after about 25 s of ringing; people answer within 3-18 s.
    ring = rng.uniform(20.0, 30.0) if persona is PersonaKind.VOICEMAIL else rng.uniform(3.0, 18.0)
    if ring > timeout:
        return CallPlan(queue, setup, float(timeout), "no-answer", None, 0.0)
    if machine_detection is None:
        return CallPlan(queue, setup, ring, "answered", None, 0.0)
    detected = answered_by or _detect(persona, machine_detection, rng)
    detection = _detection_seconds(detected, rng, detection_timeout)
    return CallPlan(queue, setup, ring, "answered", detected, detection)


def _detect(persona: PersonaKind, mode: str, rng: random.Random) -> AnsweredBy:
    if persona is PersonaKind.VOICEMAIL:
        if mode != "DetectMessageEnd":
            return "machine_start"
        ends: list[AnsweredBy] = ["machine_end_beep", "machine_end_silence", "machine_end_other"]
        return rng.choices(ends, weights=[70, 20, 10])[0]
    if persona is PersonaKind.SILENT:
        # Silence on the line is what machine detection finds hardest.
        unclear: list[AnsweredBy] = ["unknown", "human", "machine_end_silence"]
        return rng.choices(unclear, weights=[50, 30, 20])[0]
    people: list[AnsweredBy] = ["human", "unknown"]
    return rng.choices(people, weights=[94, 6])[0]


def _detection_seconds(answered_by: AnsweredBy, rng: random.Random, limit: int) -> float:
    if answered_by == "human":
        return rng.uniform(1.5, 4.0)
    if answered_by in {"machine_start", "fax"}:
        return rng.uniform(2.0, 5.0)
    if answered_by == "unknown":
        return float(limit)
    # machine_end_*: the greeting plays to its end (the beep, silence or other noise).
    return min(float(limit), rng.uniform(8.0, 20.0))


@dataclass(frozen=True)
class DialLeg:
    status: Literal["completed", "busy", "no-answer", "failed"]
    ring_seconds: float
    talk_seconds: float


def plan_dial_leg(timeout: int, rng: random.Random) -> DialLeg:
    """A bridged call to a tele-caller or supervisor: mostly answered, talks a few minutes."""
    roll = rng.random()
    if roll < 0.85:
        return DialLeg("completed", rng.uniform(2.0, min(12.0, timeout)), rng.uniform(45, 300))
    if roll < 0.95:
        return DialLeg("no-answer", float(timeout), 0.0)
    return DialLeg("busy", rng.uniform(1.0, 4.0), 0.0)


def speaking_seconds(text: str) -> float:
    """How long it takes to say `text` at about 150 words a minute."""
    return max(0.6, len(text.split()) * SECONDS_PER_WORD)
