"""Automatic QA flags on a call's transcript: what a reviewer must look at first.

Pure: a call's turns and facts in, flags out. The checks read transcript text only, so they
work the same for the bot's calls and for tele-callers' (transcribed) calls. Phrases are
matched with the conversation agent's tokenizer (`agent.spoken_text`): English, Hindi in
Devanagari and romanised Hindi alike.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from agent import lexicon
from agent.spoken_text import Phrases, hear
from compliance.policy import Policy


class Flag(enum.StrEnum):
    NO_RECORDING_DISCLOSURE = "no_recording_disclosure"
    NO_IDENTIFICATION = "no_identification"
    DEBT_BEFORE_RPC = "debt_before_rpc"
    DEBT_TO_THIRD_PARTY = "debt_to_third_party"
    ABUSIVE_LANGUAGE = "abusive_language"
    OUTSIDE_WINDOW = "outside_window"


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: str  # agent | borrower
    text: str


@dataclass(frozen=True, slots=True)
class Raised:
    flag: Flag
    detail: str
    turn: int | None = None  # index of the turn that raised it


# The disclosure and the self-introduction belong in the opening: the agent's first turns.
OPENING_TURNS = 2

RECORDING_DISCLOSURE = Phrases(
    (
        "call is|will be|may be being? recorded", "recorded call", "call * recorded",
        "this call * recording", "recorded for quality|training", "call record ho|hogi|ki|kiya",
        "record ki ja rahi|raha", "recording ho rahi|raha", "कॉल रिकॉर्ड", "रिकॉर्ड की जा",
        "रिकॉर्ड हो", "रिकॉर्डिंग",
    )
)  # fmt: skip
SELF_IDENTIFICATION = Phrases(
    (
        "calling from", "calling on behalf of", "my name is", "this is * from",
        "i am * from", "se bol raha|rahi", "se baat kar raha|rahi", "ki taraf se",
        "मेरा नाम", "से बोल रहा|रही", "की तरफ से", "mera naam",
    )
)  # fmt: skip
IDENTITY_QUESTION = Phrases(
    (
        "am i speaking|talking to|with", "is this * speaking", "speaking with|to",
        "kya main|mai * se baat", "kya meri * se baat", "kya aap * hain|hai|ho",
        "क्या मेरी * से बात", "क्या मैं * से बात", "क्या आप * हैं",
    )
)  # fmt: skip
# What tells the debt or the collection purpose (SPEC: never to a third party or a voicemail).
DEBT_MENTION = Phrases(
    (
        "overdue", "outstanding", "emi", "loan", "due amount", "amount due", "dues", "payment of",
        "pay|paid|repay", "bakaya", "baaki", "baki", "kist", "kisht", "bhugtan", "rupees|rs|inr",
        "₹", "बकाया", "किस्त", "भुगतान", "लोन", "ऋण", "रुपये|रुपए",
    )
)  # fmt: skip
# Collector threats (RBI Master Direction on outsourcing, Fair Practices Code): one list, shared
# with the guards on what the LLM may say.
COLLECTOR_THREATS = lexicon.COLLECTOR_THREATS
ABUSE = Phrases((*lexicon.ABUSE, *COLLECTOR_THREATS))
RIGHT_PARTY = Phrases(lexicon.IDENTITY_CONFIRMED)
AFFIRM = Phrases(lexicon.AFFIRM)
NOT_THE_BORROWER = Phrases((*lexicon.NOT_THE_PERSON, *lexicon.THIRD_PARTY, *lexicon.WRONG_NUMBER))


def _matches(phrases: Phrases, text: str) -> str | None:
    heard = hear(text)
    span = phrases.first(heard)
    return None if span is None else heard.quote(*span)


def transcript_flags(turns: Sequence[Turn]) -> list[Raised]:
    """Flags raised by what was said: disclosure, identification, debt disclosure, abuse."""
    raised: list[Raised] = []
    agent_turns = [i for i, t in enumerate(turns) if t.speaker == "agent"]
    if not agent_turns:
        return raised
    opening = agent_turns[:OPENING_TURNS]
    if not any(_matches(RECORDING_DISCLOSURE, turns[i].text) for i in opening):
        raised.append(
            Raised(Flag.NO_RECORDING_DISCLOSURE, "the opening does not say the call is recorded")
        )
    if not any(_matches(SELF_IDENTIFICATION, turns[i].text) for i in opening):
        raised.append(
            Raised(Flag.NO_IDENTIFICATION, "the opening does not say who is calling and for whom")
        )
    raised.extend(_disclosure_flags(turns))
    for i in agent_turns:
        said = _matches(ABUSE, turns[i].text)
        if said is not None:
            raised.append(Raised(Flag.ABUSIVE_LANGUAGE, f"the agent said “{said}”", i))
    return raised


def _disclosure_flags(turns: Sequence[Turn]) -> list[Raised]:
    """Debt talk before the borrower confirmed who they are, or after someone else said so."""
    confirmed = third_party = asked = False
    for i, turn in enumerate(turns):
        if turn.speaker == "borrower":
            if _matches(NOT_THE_BORROWER, turn.text):
                third_party, confirmed = True, False
            elif _matches(RIGHT_PARTY, turn.text) or (asked and _matches(AFFIRM, turn.text)):
                confirmed, third_party = True, False
            asked = False
            continue
        asked = _matches(IDENTITY_QUESTION, turn.text) is not None
        said = _matches(DEBT_MENTION, turn.text)
        if said is None or confirmed:
            continue
        if third_party:
            detail = f"the agent spoke of the debt (“{said}”) to someone who is not the borrower"
            return [Raised(Flag.DEBT_TO_THIRD_PARTY, detail, i)]
        detail = f"the agent spoke of the debt (“{said}”) before the borrower confirmed identity"
        return [Raised(Flag.DEBT_BEFORE_RPC, detail, i)]
    return []


def window_flag(
    started_at: datetime, *, zone: str, dpd: int, policy: Policy, callback: bool = False
) -> Raised | None:
    """A call that started outside the policy's calling window in the borrower's zone."""
    window = policy.window(overdue=dpd >= 1, callback=callback)
    local = started_at.astimezone(ZoneInfo(zone))
    if window.start <= local.time() < window.end:
        return None
    return Raised(
        Flag.OUTSIDE_WINDOW,
        f"started at {local:%H:%M} {zone}, outside the window {window} ({policy.name})",
    )
