"""Simulated borrowers, pure: who answers a number, and what they say to each agent prompt.

A persona has a goal (pay, promise, refuse, dispute, ...). Each agent prompt is classified with
the keyword cues in `CUES` (English, Devanagari and romanized Hindi); the persona's playbook maps
the cue to an intent, and the phrasebook turns the intent into varied borrower speech.
"""

from __future__ import annotations

import enum
import random
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

from crm.buckets import Bucket
from dialer.simulator import phrasebook as pb
from dialer.simulator.phrasebook import Intent

Language = Literal["en", "hi"]
Gender = Literal["female", "male"]
Script = Literal["en", "roman", "deva"]


class PersonaKind(enum.StrEnum):
    PAYER = "payer"
    PROMISER = "promiser"
    REFUSER = "refuser"
    DISPUTER = "disputer"
    WRONG_NUMBER = "wrong_number"
    THIRD_PARTY = "third_party"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    SILENT = "silent"
    ABUSIVE = "abusive"
    BEREAVED = "bereaved"
    HINDI_SPEAKER = "hindi_speaker"


# Personas whose phone is answered by a person (the others ring out, are busy, or a machine).
ANSWERED_BY_A_PERSON = frozenset(PersonaKind) - {
    PersonaKind.BUSY,
    PersonaKind.NO_ANSWER,
    PersonaKind.VOICEMAIL,
}


class Cue(enum.StrEnum):
    VERIFY_YEAR = "verify_year"
    VERIFY_LAST4 = "verify_last4"
    READ_BACK = "read_back"
    DATE = "date"
    AMOUNT = "amount"
    CALLBACK_TIME = "callback_time"
    IDENTITY = "identity"
    PAYMENT = "payment"
    CLOSING = "closing"
    NONE = "none"


# The one cue table: the first cue with a keyword in the agent's prompt wins, so the specific
# questions come before the general payment ask ("By which date can you pay?" is a date ask).
# Keywords are matched after `normalize`; Hindi appears in Devanagari and romanized.
CUES: tuple[tuple[Cue, tuple[str, ...]], ...] = (
    (
        Cue.VERIFY_YEAR,
        ("year of birth", "birth year", "जन्म का वर्ष", "janm ka varsh", "janam ka saal"),
    ),
    (
        Cue.VERIFY_LAST4,
        ("last four digits", "last 4 digits", "आख़िरी चार अंक", "aakhri chaar ank", "akhri char ank"),
    ),
    (Cue.READ_BACK, ("to confirm", "पुष्टि", "pushti")),
    (Cue.DATE, ("by which date", "which date", "किस तारीख", "kis tareekh", "kis tarikh")),
    (Cue.AMOUNT, ("how much", "कितनी राशि", "kitni rashi", "kitna amount")),
    (Cue.CALLBACK_TIME, ("what time", "किस समय", "kis samay", "kis time")),
    (Cue.IDENTITY, ("am i speaking with", "am i speaking to", "क्या मेरी बात", "kya meri baat")),
    (Cue.PAYMENT, ("overdue", "pay", "बकाया", "भुगतान", "bakaya", "bhugtan")),
    (Cue.CLOSING, ("thank you", "goodbye", "धन्यवाद", "dhanyavaad", "dhanyawad")),
)

# What each persona means to say to each cue; a cue missing here gets the persona's goal.
PLAYBOOK: dict[PersonaKind, dict[Cue, Intent]] = {
    PersonaKind.PAYER: {
        Cue.IDENTITY: Intent.CONFIRM_IDENTITY,
        Cue.VERIFY_YEAR: Intent.GIVE_YEAR,
        Cue.VERIFY_LAST4: Intent.GIVE_LAST4,
        Cue.READ_BACK: Intent.AGREE,
        Cue.CLOSING: Intent.BYE,
    },
    PersonaKind.PROMISER: {
        Cue.IDENTITY: Intent.CONFIRM_IDENTITY,
        Cue.VERIFY_YEAR: Intent.GIVE_YEAR,
        Cue.VERIFY_LAST4: Intent.GIVE_LAST4,
        Cue.DATE: Intent.GIVE_DATE,
        Cue.AMOUNT: Intent.GIVE_AMOUNT,
        Cue.READ_BACK: Intent.AGREE,
        Cue.CALLBACK_TIME: Intent.GIVE_CALLBACK_TIME,
        Cue.CLOSING: Intent.BYE,
    },
    PersonaKind.REFUSER: {
        Cue.IDENTITY: Intent.CONFIRM_IDENTITY,
        Cue.VERIFY_YEAR: Intent.GIVE_YEAR,
        Cue.VERIFY_LAST4: Intent.GIVE_LAST4,
        Cue.CLOSING: Intent.BYE,
    },
    PersonaKind.DISPUTER: {
        Cue.IDENTITY: Intent.CONFIRM_IDENTITY,
        Cue.VERIFY_YEAR: Intent.GIVE_YEAR,
        Cue.VERIFY_LAST4: Intent.GIVE_LAST4,
        Cue.CALLBACK_TIME: Intent.GIVE_CALLBACK_TIME,
        Cue.CLOSING: Intent.BYE,
    },
    PersonaKind.WRONG_NUMBER: {Cue.CLOSING: Intent.BYE},
    PersonaKind.THIRD_PARTY: {
        Cue.VERIFY_YEAR: Intent.DONT_KNOW,
        Cue.VERIFY_LAST4: Intent.DONT_KNOW,
        Cue.PAYMENT: Intent.TAKE_MESSAGE,
        Cue.DATE: Intent.TAKE_MESSAGE,
        Cue.AMOUNT: Intent.TAKE_MESSAGE,
        Cue.READ_BACK: Intent.TAKE_MESSAGE,
        Cue.CALLBACK_TIME: Intent.GIVE_CALLBACK_TIME,
        Cue.CLOSING: Intent.BYE,
    },
    PersonaKind.ABUSIVE: {Cue.IDENTITY: Intent.RUDE_CONFIRM},
    PersonaKind.BEREAVED: {Cue.IDENTITY: Intent.DECEASED, Cue.CLOSING: Intent.BYE},
    PersonaKind.HINDI_SPEAKER: {},  # a promiser who speaks Hindi: filled in below
    PersonaKind.SILENT: {},
    PersonaKind.VOICEMAIL: {},
    PersonaKind.BUSY: {},
    PersonaKind.NO_ANSWER: {},
}
PLAYBOOK[PersonaKind.HINDI_SPEAKER] = dict(PLAYBOOK[PersonaKind.PROMISER])

GOAL: dict[PersonaKind, Intent] = {
    PersonaKind.PAYER: Intent.ALREADY_PAID,
    PersonaKind.PROMISER: Intent.PROMISE,
    PersonaKind.HINDI_SPEAKER: Intent.PROMISE,
    PersonaKind.REFUSER: Intent.REFUSE,
    PersonaKind.DISPUTER: Intent.DISPUTE,
    PersonaKind.WRONG_NUMBER: Intent.WRONG_NUMBER,
    PersonaKind.THIRD_PARTY: Intent.NOT_AT_HOME,
    PersonaKind.ABUSIVE: Intent.ABUSE,
    PersonaKind.BEREAVED: Intent.MOURNING,
}
# Replies with the goal intent after which a persona hangs up (absent: stays on the line).
PATIENCE: dict[PersonaKind, int] = {
    PersonaKind.ABUSIVE: 3,
    PersonaKind.REFUSER: 4,
    PersonaKind.WRONG_NUMBER: 3,
    PersonaKind.BEREAVED: 2,
}
# Anyone hangs up on an agent that keeps asking.
MAX_REPLIES = 12

# Share of each persona per bucket, in percent: the later the bucket, the fewer payers and
# promisers and the more refusers, disputers and numbers that do not answer.
PERSONA_WEIGHTS: dict[Bucket, dict[PersonaKind, float]] = {
    Bucket.STANDARD: {
        PersonaKind.PAYER: 26, PersonaKind.PROMISER: 30, PersonaKind.REFUSER: 2,
        PersonaKind.DISPUTER: 2, PersonaKind.WRONG_NUMBER: 2, PersonaKind.THIRD_PARTY: 6,
        PersonaKind.BUSY: 5, PersonaKind.NO_ANSWER: 11, PersonaKind.VOICEMAIL: 6,
        PersonaKind.SILENT: 2, PersonaKind.ABUSIVE: 1, PersonaKind.BEREAVED: 0.5,
        PersonaKind.HINDI_SPEAKER: 6.5,
    },
    Bucket.SMA_0: {
        PersonaKind.PAYER: 18, PersonaKind.PROMISER: 32, PersonaKind.REFUSER: 4,
        PersonaKind.DISPUTER: 3, PersonaKind.WRONG_NUMBER: 3, PersonaKind.THIRD_PARTY: 7,
        PersonaKind.BUSY: 6, PersonaKind.NO_ANSWER: 12, PersonaKind.VOICEMAIL: 6,
        PersonaKind.SILENT: 2, PersonaKind.ABUSIVE: 1, PersonaKind.BEREAVED: 0.5,
        PersonaKind.HINDI_SPEAKER: 5.5,
    },
    Bucket.SMA_1: {
        PersonaKind.PAYER: 10, PersonaKind.PROMISER: 25, PersonaKind.REFUSER: 8,
        PersonaKind.DISPUTER: 5, PersonaKind.WRONG_NUMBER: 4, PersonaKind.THIRD_PARTY: 8,
        PersonaKind.BUSY: 7, PersonaKind.NO_ANSWER: 15, PersonaKind.VOICEMAIL: 7,
        PersonaKind.SILENT: 3, PersonaKind.ABUSIVE: 2, PersonaKind.BEREAVED: 1,
        PersonaKind.HINDI_SPEAKER: 5,
    },
    Bucket.SMA_2: {
        PersonaKind.PAYER: 6, PersonaKind.PROMISER: 18, PersonaKind.REFUSER: 12,
        PersonaKind.DISPUTER: 7, PersonaKind.WRONG_NUMBER: 5, PersonaKind.THIRD_PARTY: 8,
        PersonaKind.BUSY: 8, PersonaKind.NO_ANSWER: 18, PersonaKind.VOICEMAIL: 8,
        PersonaKind.SILENT: 3, PersonaKind.ABUSIVE: 3, PersonaKind.BEREAVED: 1,
        PersonaKind.HINDI_SPEAKER: 3,
    },
    Bucket.NPA: {
        PersonaKind.PAYER: 3, PersonaKind.PROMISER: 10, PersonaKind.REFUSER: 16,
        PersonaKind.DISPUTER: 9, PersonaKind.WRONG_NUMBER: 7, PersonaKind.THIRD_PARTY: 8,
        PersonaKind.BUSY: 9, PersonaKind.NO_ANSWER: 20, PersonaKind.VOICEMAIL: 7,
        PersonaKind.SILENT: 3, PersonaKind.ABUSIVE: 4, PersonaKind.BEREAVED: 1.5,
        PersonaKind.HINDI_SPEAKER: 2.5,
    },
}  # fmt: skip

_NAMES: tuple[tuple[str, Gender], ...] = (
    ("Priya Sharma", "female"), ("Rahul Verma", "male"), ("Anita Desai", "female"),
    ("Suresh Kumar", "male"), ("Mohammed Iqbal", "male"), ("Lakshmi Narayanan", "female"),
    ("Arjun Reddy", "male"), ("Fatima Khan", "female"), ("Vikram Singh", "male"),
    ("Sunita Yadav", "female"), ("Ramesh Patel", "male"), ("Kavita Joshi", "female"),
)  # fmt: skip
_AMOUNTS = (1000, 1500, 2000, 2500, 3000, 4000, 5000, 7500, 10000, 12000, 15000, 20000)


@dataclass(frozen=True)
class BorrowerFacts:
    """What the person on the line knows: identity, loan, and what they mean to promise."""

    name: str
    gender: Gender
    language: Language
    year_of_birth: int
    loan_last4: str
    promise_amount: int  # rupees
    promise_date: date
    paid_on: date
    callback_hour: int  # local hour the borrower asks to be called back at
    after_salary: bool  # a promiser who first says "after salary"


def draw_persona(bucket: Bucket | str, rng: random.Random) -> PersonaKind:
    """A persona drawn with the shares of `bucket` (STANDARD, SMA-0, SMA-1, SMA-2, NPA)."""
    weights = PERSONA_WEIGHTS[Bucket(bucket)]
    kinds = list(weights)
    return rng.choices(kinds, weights=[weights[k] for k in kinds])[0]


def draw_facts(rng: random.Random, today: date) -> BorrowerFacts:
    """Plausible facts for a number nobody registered."""
    name, gender = rng.choice(_NAMES)
    return BorrowerFacts(
        name=name,
        gender=gender,
        language="hi" if rng.random() < 0.35 else "en",
        year_of_birth=rng.randint(1965, 2002),
        loan_last4=f"{rng.randint(0, 9999):04d}",
        promise_amount=rng.choice(_AMOUNTS),
        promise_date=today + timedelta(days=rng.randint(1, 10)),
        paid_on=today - timedelta(days=rng.randint(1, 6)),
        callback_hour=rng.randint(10, 19),
        after_salary=rng.random() < 0.4,
    )


def normalize(text: str) -> str:
    """Case-folded, single-spaced, and without the nukta, so `आख़िरी` matches `आखिरी`."""
    text = unicodedata.normalize("NFC", text).casefold().replace("\u093c", "")
    return " ".join(text.split())


_NORMALIZED_CUES = tuple((cue, tuple(normalize(k) for k in keys)) for cue, keys in CUES)
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_ROMAN_HINDI = re.compile(r"\b(kya|aap|hai|hain|ki|ka|ke|se|ho rahi|kripya|dhanyavaad|bakaya)\b")
_PRESS = re.compile(r"(?:press|dabaiye|dabaye)\s+(\d)|(\d)\s+(?:dabaiye|dabaye|दबाएँ|दबाइए)")


def classify_prompt(text: str) -> Cue:
    """The cue of an agent prompt (`Cue.NONE` when no keyword of the cue table appears)."""
    normalized = normalize(text)
    for cue, keywords in _NORMALIZED_CUES:
        if any(k in normalized for k in keywords):
            return cue
    return Cue.NONE


def prompt_language(text: str) -> Language:
    """Whether the agent spoke Hindi (Devanagari or romanized) or English."""
    if _DEVANAGARI.search(text):
        return "hi"
    return "hi" if len(_ROMAN_HINDI.findall(normalize(text))) >= 2 else "en"


@dataclass(frozen=True)
class Reply:
    """One borrower turn: what speech recognition hears, or the keys pressed, or nothing."""

    speech: str | None
    digits: str | None = None
    confidence: float = 0.0
    hang_up: bool = False
    intents: tuple[Intent, ...] = ()

    @property
    def silent(self) -> bool:
        return self.speech is None and self.digits is None


SILENCE = Reply(speech=None)


@dataclass
class Borrower:
    """A persona on one call: its facts and what it has said so far."""

    persona: PersonaKind
    facts: BorrowerFacts
    relative: tuple[str, str, str, str] = ("female", "mother", "उनकी माँ", "unki maa")
    replies: int = 0
    said: dict[Intent, int] = field(default_factory=dict)

    @classmethod
    def meet(cls, persona: PersonaKind, facts: BorrowerFacts, rng: random.Random) -> Borrower:
        """The person who answers: a Hindi speaker always speaks Hindi; a relative is drawn."""
        if persona is PersonaKind.HINDI_SPEAKER:
            facts = replace(facts, language="hi")
        choices = (*pb.RELATIVES, pb.SPOUSES[facts.gender], pb.SPOUSES[facts.gender])
        return cls(persona=persona, facts=facts, relative=rng.choice(choices))

    def respond(self, prompt: str, *, gather_language: str, rng: random.Random) -> Reply:
        """The reply to the agent's `prompt`, heard by a Gather in `gather_language`."""
        if self.persona not in ANSWERED_BY_A_PERSON or self.persona is PersonaKind.SILENT:
            return SILENCE
        intents = self._intents(classify_prompt(prompt), prompt)
        self.replies += 1
        for intent in intents:
            self.said[intent] = self.said.get(intent, 0) + 1
        script = self._script(gather_language)
        speech = ". ".join(self._render(i, script, rng) for i in intents)
        goal = GOAL.get(self.persona)
        patience = PATIENCE.get(self.persona)
        hang_up = self.replies >= MAX_REPLIES or (
            patience is not None and goal is not None and self.said.get(goal, 0) >= patience
        )
        confidence = rng.uniform(0.82, 0.96) if script == "en" else rng.uniform(0.62, 0.9)
        return Reply(
            speech=speech,
            digits=self._digits(intents, prompt),
            confidence=round(confidence, 8),
            hang_up=hang_up,
            intents=intents,
        )

    def _intents(self, cue: Cue, prompt: str) -> tuple[Intent, ...]:
        goal = GOAL[self.persona]
        if cue is Cue.NONE and self.replies == 0:
            intent = Intent.RUDE_CONFIRM if self.persona is PersonaKind.ABUSIVE else Intent.GREETING
        else:
            intent = PLAYBOOK[self.persona].get(cue, goal)
        if (
            intent is Intent.PROMISE
            and self.facts.after_salary
            and Intent.AFTER_SALARY not in self.said
        ):
            intent = Intent.AFTER_SALARY
        if (
            self.persona is PersonaKind.HINDI_SPEAKER
            and prompt_language(prompt) == "en"
            and Intent.ASK_HINDI not in self.said
        ):
            return (intent, Intent.ASK_HINDI)
        return (intent,)

    def _script(self, gather_language: str) -> Script:
        if self.facts.language == "en":
            return "en"
        return "deva" if gather_language.lower().startswith("hi") else "roman"

    def _digits(self, intents: tuple[Intent, ...], prompt: str) -> str | None:
        if Intent.GIVE_YEAR in intents:
            return str(self.facts.year_of_birth)
        if Intent.GIVE_LAST4 in intents:
            return self.facts.loan_last4
        if intents[0] in {Intent.CONFIRM_IDENTITY, Intent.AGREE, Intent.RUDE_CONFIRM}:
            match = _PRESS.search(normalize(prompt))
            if match:
                return match.group(1) or match.group(2)
        return None

    def _render(self, intent: Intent, script: Script, rng: random.Random) -> str:
        if script == "en":
            template = rng.choice(pb.ENGLISH[intent])
        else:
            template = rng.choice(pb.HINDI[intent])[0 if script == "deva" else 1]
        return template.format(**self._slots(script, rng))

    def _slots(self, script: Script, rng: random.Random) -> dict[str, str]:
        facts = self.facts
        # Gendered verb endings agree with whoever is speaking: the borrower or a relative.
        speaker_is_relative = self.persona in {PersonaKind.THIRD_PARTY, PersonaKind.BEREAVED}
        speaker = self.relative[0] if speaker_is_relative else facts.gender
        female = speaker == "female"
        he, him, his = ("she", "her", "her") if facts.gender == "female" else ("he", "him", "his")
        endings = {
            "deva": ("रही", "गी", "ती") if female else ("रहा", "गा", "ता"),
            "roman": ("rahi", "gi", "ti") if female else ("raha", "ga", "ta"),
            "en": ("rahi", "gi", "ti") if female else ("raha", "ga", "ta"),
        }[script]
        relation = {"en": self.relative[1], "deva": self.relative[2], "roman": self.relative[3]}
        return {
            "name": facts.name,
            "first_name": facts.name.split()[0],
            "year": str(facts.year_of_birth),
            "last4": facts.loan_last4,
            "last4_spaced": " ".join(facts.loan_last4),
            "amount": say_amount(facts.promise_amount, script, rng),
            "date": say_date(facts.promise_date, script, rng),
            "paid_date": say_date(facts.paid_on, script, rng),
            "callback_time": say_hour(facts.callback_hour, script, rng),
            "relation": relation[script],
            "he": he,
            "He": he.capitalize(),
            "him": him,
            "his": his,
            "raha": endings[0],
            "ga": endings[1],
            "ta": endings[2],
        }


def say_amount(rupees: int, script: Script, rng: random.Random) -> str:
    """Rupees as a borrower says them and speech recognition writes them: 5000, 5k, ₹5,000..."""
    thousands, rest = divmod(rupees, 1000)
    forms = [str(rupees), f"{rupees:,}"]
    if script == "en":
        forms += [f"Rs {rupees}", f"₹{rupees:,}", f"{rupees} rupees"]
        if rest == 0:
            forms.append(f"{thousands}k")
    elif script == "roman":
        forms.append(f"{rupees} rupaye")
        if rest == 0 and 1 <= thousands <= len(pb.NUMBERS_ROMAN):
            forms.append(f"{pb.NUMBERS_ROMAN[thousands - 1]} hazaar")
    else:
        forms.append(f"{rupees} रुपये")
        if rest == 0 and 1 <= thousands <= len(pb.NUMBERS_DEVANAGARI):
            forms.append(f"{pb.NUMBERS_DEVANAGARI[thousands - 1]} हज़ार")
    return rng.choice(forms)


def ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def say_date(when: date, script: Script, rng: random.Random) -> str:
    """A calendar date as people say it: "the 5th", "5 March", "5 tareekh", "5 मार्च"."""
    day = when.day
    if script == "en":
        month = pb.MONTHS_EN[when.month - 1]
        forms = [f"the {ordinal(day)}", ordinal(day), f"{day} {month}", f"{month} {ordinal(day)}"]
    elif script == "roman":
        month = pb.MONTHS_ROMAN[when.month - 1]
        forms = [f"{day} tareekh", f"{day} {month}"]
    else:
        forms = [f"{day} तारीख", f"{day} {pb.MONTHS_DEVANAGARI[when.month - 1]}"]
    return rng.choice(forms)


def say_hour(hour: int, script: Script, rng: random.Random) -> str:
    """A local hour as people say it: "after 6 pm", "shaam 6 baje", "शाम 6 बजे"."""
    twelve = hour % 12 or 12
    part = 0 if hour < 12 else 1 if hour < 16 else 2
    if script == "en":
        meridiem = "am" if hour < 12 else "pm"
        day_part = ("morning", "afternoon", "evening")[part]
        return rng.choice(
            [f"at {twelve} {meridiem}", f"after {twelve} {meridiem}", f"in the {day_part}"]
        )
    if script == "roman":
        return f"{('subah', 'dopahar', 'shaam')[part]} {twelve} baje"
    return f"{('सुबह', 'दोपहर', 'शाम')[part]} {twelve} बजे"
