"""What one borrower utterance means: the understanding layer of the conversation agent.

`understand()` takes Twilio's `SpeechResult` (en-IN speech in Latin script, hi-IN speech in
Devanagari, Hinglish mixing both with digits) or keypad `Digits`, and what the agent just asked
(`Expecting`), and returns an `Understanding`: the intent and whatever came with it (promise
date and amount, callback time, contact preference, hardship reason, payment method,
verification value) plus the words that decided it, for logs and QA.

Fast rules first: tokens with folded spellings (`agent.spoken_text`), lexicon phrases
(`agent.lexicon`), numbers (`agent.spoken_numbers`) and dates and times
(`agent.spoken_dates`); typically well under a millisecond per utterance. dateparser is only a
fallback for date shapes the rules do not know ("20.03.2026", "in a fortnight"): it costs tens
of milliseconds, so it runs only when a date-bearing intent has such a shape and no date.

Pure: no I/O, no clock (`today` and `now` are arguments), deterministic.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

from dateparser.search import search_dates

from agent import lexicon
from agent.spoken_dates import (
    DAY_PART_HOURS,
    DateMention,
    Relation,
    TimeMention,
    find_dates,
    find_times,
)
from agent.spoken_numbers import SpokenNumber, find_numbers
from agent.spoken_text import BOUNDARY, Heard, Phrases, at, free, hear, key, key_set, keyed
from duecall.errors import InvalidInput

# Below this Twilio `Confidence` the agent should confirm what it heard before acting on it.
LOW_CONFIDENCE = 0.5
PAISE = Decimal("0.01")


class Expecting(enum.StrEnum):
    """What the agent just asked; the same words mean different things after each."""

    IDENTITY = "identity"  # "Am I speaking with Rahul Sharma?"
    VERIFICATION = "verification"  # "Please tell me your year of birth."
    PAYMENT = "payment"  # "Your EMI is overdue; can you pay it today?"
    DATE = "date"  # "On which date will you pay?"
    AMOUNT = "amount"  # "How much can you pay?"
    CONFIRMATION = "confirmation"  # "So ₹5,000 on Friday 6 March, correct?"
    CALLBACK_TIME = "callback_time"  # "When should I call you back?"
    ANYTHING = "anything"


class Intent(enum.StrEnum):
    AFFIRM = "affirm"
    DENY = "deny"
    IDENTITY_CONFIRMED = "identity_confirmed"
    NOT_THE_PERSON = "not_the_person"
    THIRD_PARTY = "third_party"  # someone else answered: "main unki wife bol rahi hoon"
    WRONG_NUMBER = "wrong_number"
    PROMISE = "promise"  # with a date and/or an amount, or `needs_date`
    ALREADY_PAID = "already_paid"
    CANNOT_PAY = "cannot_pay"  # with `hardship` when a reason was given
    REFUSE = "refuse"  # will not pay, or asks never to be called again
    DISPUTE = "dispute"
    CALLBACK = "callback"  # with `callback_at` (or `date`) when a time was given
    BEREAVEMENT = "bereavement"
    ABUSE = "abuse"
    ASK_HUMAN = "ask_human"  # a person, supervisor or manager, or a complaint
    ASK_WHO = "ask_who"  # who is calling, what is this about, is this a robot
    ASK_REPEAT = "ask_repeat"
    PREFERENCE = "preference"  # with `preference`
    VERIFICATION = "verification"  # with `verification`
    DIGITS = "digits"  # keypad digits that answer nothing the agent asked; in `digits`
    SILENCE = "silence"
    UNKNOWN = "unknown"


class AmountKind(enum.StrEnum):
    FULL = "full"  # the whole overdue amount
    HALF = "half"  # half of the overdue amount
    PARTIAL = "partial"  # part now, the rest later ("half now", "5000 abhi, baaki agle hafte")
    EXACT = "exact"  # a figure the borrower said
    EMI = "emi"  # one EMI (or a number of them)


class Hardship(enum.StrEnum):
    JOB_LOSS = "job_loss"
    MEDICAL = "medical"
    BUSINESS_LOSS = "business_loss"
    SALARY_DELAYED = "salary_delayed"
    OTHER = "other"


class PaymentMethod(enum.StrEnum):
    UPI = "upi"
    BANK_TRANSFER = "bank_transfer"
    AUTO_DEBIT = "auto_debit"
    CHEQUE = "cheque"
    AGENT = "agent"
    CASH = "cash"
    BRANCH = "branch"
    ONLINE = "online"


class PhoneScope(enum.StrEnum):
    THIS = "this"  # the number the agent called
    ALL = "all"


@dataclass(frozen=True, slots=True)
class AvoidPreference:
    """When not to call, as the borrower asked: SPEC's avoid-preference without the number."""

    phone: PhoneScope = PhoneScope.ALL
    days: tuple[str, ...] = ()  # SPEC day codes, "mon" ... "sun"; empty means every day
    start: time | None = None  # None: from midnight
    end: time | None = None  # None: until midnight; the range excludes its end
    phone_label: str | None = None  # the number the borrower named: "office" or "home"

    def as_spec(self, phone: str | None) -> dict[str, object]:
        """SPEC's preference object; `phone` is the E.164 number the agent called."""
        return {
            "kind": "avoid",
            "phone": phone if self.phone is PhoneScope.THIS else None,
            "days": list(self.days),
            "start": None if self.start is None else self.start.strftime("%H:%M"),
            "end": None if self.end is None else self.end.strftime("%H:%M"),
        }


@dataclass(frozen=True, slots=True)
class Understanding:
    intent: Intent
    date: date | None = None  # promised, paid or callback date (local)
    amount: Decimal | None = None  # rupees, two decimals
    amount_kind: AmountKind | None = None
    needs_date: bool = False  # a promise without a concrete date ("after salary")
    callback_at: datetime | None = None  # aware, in the borrower's zone
    preference: AvoidPreference | None = None
    hardship: Hardship | None = None
    payment_method: PaymentMethod | None = None
    borrower_deceased: bool | None = None  # for a bereavement: the borrower, or family
    verification: str | None = None  # digits or an ISO date; never logged
    digits: str | None = None  # keypad digits as pressed
    evidence: tuple[str, ...] = ()  # "cue: words heard", for logs and QA
    low_confidence: bool = False


@enum.unique
class _Cue(enum.Enum):
    AFFIRM = lexicon.AFFIRM
    DENY = lexicon.DENY
    IDENTITY_CONFIRMED = lexicon.IDENTITY_CONFIRMED
    NOT_THE_PERSON = lexicon.NOT_THE_PERSON
    THIRD_PARTY = lexicon.THIRD_PARTY
    WRONG_NUMBER = lexicon.WRONG_NUMBER
    BEREAVEMENT = lexicon.BEREAVEMENT
    OWN_FAMILY = lexicon.OWN_FAMILY
    ABUSE = lexicon.ABUSE
    ASK_HUMAN = lexicon.ASK_HUMAN
    ASK_WHO = lexicon.ASK_WHO
    ASK_REPEAT = lexicon.ASK_REPEAT
    CALLBACK = lexicon.CALLBACK
    CALL_BAN = lexicon.CALL_BAN
    CALL = ("call", "phone", "ring", "कॉल", "फोन")
    ONLY = lexicon.ONLY
    DISPUTE = lexicon.DISPUTE
    ALREADY_PAID = lexicon.ALREADY_PAID
    COMMITMENT = lexicon.COMMITMENT
    CANNOT_PAY = lexicon.CANNOT_PAY
    REFUSE = lexicon.REFUSE
    REST_LATER = lexicon.REST_LATER
    OFFICE_PHONE = lexicon.OFFICE_PHONE
    HOME_PHONE = lexicon.HOME_PHONE
    THIS_PHONE = lexicon.THIS_PHONE
    OFFICE_HOURS = lexicon.OFFICE_HOURS
    WEEKENDS = lexicon.WEEKENDS
    WORKING_DAYS = lexicon.WORKING_DAYS


_PHRASES = {cue: Phrases(cue.value) for cue in _Cue}
# Cues whose meaning a nearby negation reverses: "I have not paid it", "nahi dunga".
_NEGATABLE = frozenset({_Cue.ALREADY_PAID, _Cue.COMMITMENT, _Cue.CALLBACK})
_HARDSHIPS = {Hardship(name): Phrases(words) for name, words in lexicon.HARDSHIP_REASONS.items()}
_METHODS = {PaymentMethod(n): Phrases(words) for n, words in lexicon.PAYMENT_METHODS.items()}
_FULL = Phrases(lexicon.FULL_AMOUNT)
_HALF = Phrases(lexicon.HALF_AMOUNT)
_EMI = Phrases(lexicon.EMI)
_SOME = Phrases(lexicon.SOME_AMOUNT)
_FILLERS = key_set(lexicon.FILLERS)
_NEGATE_NEXT = key_set(lexicon.NEGATORS_BEFORE)
_NEGATE_PREVIOUS = key_set(lexicon.NEGATORS_AFTER)
_CLAUSE_BREAKS = key_set(lexicon.CLAUSE_BREAKS) | {BOUNDARY}
_I, _NO, _NOT = key("i"), key("no"), key("not")
_NOT_AFTER = key_set(("possible", "ok", "okay", "convenient", "sure", "able")) | {BOUNDARY, ""}
_LIST_JOINS = key_set((*lexicon.AND, "or", "ya", "या", "on", "ko", "को"))
_CURRENCY = key_set(lexicon.CURRENCY)
# Words after "do" or "saath" that make them numbers: "do baje", "do hazaar", "do EMI".
_NUMBER_UNITS = key_set(
    (*lexicon.BAJE, *lexicon.DATE_WORDS, *lexicon.DAY_UNITS, *lexicon.WEEK_UNITS,
     *lexicon.MONTH_UNITS, *lexicon.HOUR_UNITS, *lexicon.MINUTE_UNITS, *lexicon.CURRENCY,
     *lexicon.EMI, *lexicon.MONTHS)
)  # fmt: skip
_NOT_AMOUNT_AFTER = key_set(lexicon.NOT_AMOUNT_AFTER)
_EMI_WORDS = key_set(lexicon.EMI)
_MONTHS = keyed(lexicon.MONTHS)
_REPEAT_DIGIT = keyed(lexicon.REPEAT_DIGIT)
_SLASH = key("/")
_YEAR_BEFORE = key_set(("in", "since", "year", "saal", "san", "सन", "साल"))
_COUNTED = key_set(("digit", "digits", "number", "numbers", "ank", "अंक"))
_WEEKEND_DAYS = (5, 6)
_WORKING_DAY_NUMBERS = (0, 1, 2, 3, 4)
_OFFICE_HOURS = (time(9), time(18))
_YES_NO = frozenset({Expecting.IDENTITY, Expecting.CONFIRMATION, Expecting.PAYMENT})
_TERMS_ASKED = frozenset(
    {Expecting.PAYMENT, Expecting.DATE, Expecting.AMOUNT, Expecting.CONFIRMATION}
)
_KEYPAD = re.compile(r"[0-9*#]+")
# Date shapes the rules leave to dateparser.
_DATEPARSER_SHAPES = re.compile(r"\bfortnight\b|\bfrom (?:now|today)\b|\bhence\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Context:
    expecting: Expecting
    today: date
    now: datetime  # in the borrower's zone
    zone: ZoneInfo
    language: str
    overdue: Decimal
    emi: Decimal | None


@dataclass(frozen=True, slots=True)
class _Amount:
    start: int
    end: int
    value: Decimal | None
    kind: AmountKind


@dataclass(slots=True)
class _Clues:
    """Everything read from one utterance, before deciding what it means."""

    heard: Heard
    cues: dict[_Cue, tuple[int, int]]
    dates: list[DateMention] = field(default_factory=list)
    times: list[TimeMention] = field(default_factory=list)
    amounts: list[_Amount] = field(default_factory=list)
    negated: set[tuple[int, int]] = field(default_factory=set)  # spans of negated mentions
    verification: str | None = None

    def has(self, *cues: _Cue) -> bool:
        return any(c in self.cues for c in cues)

    def quote(self, cue: _Cue) -> str:
        return f"{cue.name.lower()}: {self.heard.quote(*self.cues[cue])}"

    def positive_dates(self) -> list[DateMention]:
        return [d for d in self.dates if (d.start, d.end) not in self.negated]

    def positive_times(self) -> list[TimeMention]:
        return [t for t in self.times if (t.start, t.end) not in self.negated]


def understand(
    text: str,
    *,
    expecting: Expecting,
    today: date,
    now: datetime,
    zone: ZoneInfo,
    language: str,
    overdue: Decimal,
    emi: Decimal | None,
    confidence: float | None = None,
    digits: str | None = None,
) -> Understanding:
    """What the borrower meant by `text` (Twilio's SpeechResult) or `digits` (keypad)."""
    context = _context(expecting, today, now, zone, language, overdue, emi, confidence)
    low = confidence is not None and confidence < LOW_CONFIDENCE
    if digits is not None and digits.strip():
        return _keypad(digits.strip(), context)
    heard = hear(text)
    if not any(k != BOUNDARY for k in heard.keys):
        return Understanding(Intent.SILENCE, low_confidence=low)
    clues = _read(heard, context)
    understood = _decide(clues, context)
    if understood.intent in (Intent.PROMISE, Intent.ALREADY_PAID, Intent.CALLBACK):
        understood = _with_dateparser(text, understood, context)
    return replace(understood, low_confidence=True) if low else understood


def _context(
    expecting: Expecting,
    today: date,
    now: datetime,
    zone: ZoneInfo,
    language: str,
    overdue: Decimal,
    emi: Decimal | None,
    confidence: float | None,
) -> _Context:
    try:
        expecting = Expecting(expecting)
    except ValueError:
        known = ", ".join(e.value for e in Expecting)
        raise InvalidInput("expecting", f"{expecting!r} is not one of {known}") from None
    if now.tzinfo is None:
        raise InvalidInput("now", "must be timezone-aware")
    if not isinstance(zone, ZoneInfo):
        raise InvalidInput("zone", "must be a ZoneInfo")
    if language.split("-")[0].lower() not in ("en", "hi"):
        raise InvalidInput("language", f"{language!r} is not en or hi")
    if overdue < 0:
        raise InvalidInput("overdue", "must not be negative")
    if emi is not None and emi <= 0:
        raise InvalidInput("emi", "must be more than zero")
    if confidence is not None and not 0 <= confidence <= 1:
        raise InvalidInput("confidence", "must be between 0 and 1")
    return _Context(
        expecting,
        today,
        now.astimezone(zone),
        zone,
        language.split("-")[0].lower(),
        overdue,
        emi,
    )


# --- keypad ----------------------------------------------------------------------------------


def _keypad(digits: str, context: _Context) -> Understanding:
    """DTMF: 1/2 answer a yes/no question; other digits answer what was asked, or stay digits."""
    if _KEYPAD.fullmatch(digits) is None:
        raise InvalidInput("digits", f"{digits!r} is not keypad input (0-9, * and #)")
    pressed = digits.rstrip("#")
    evidence = ("keypad",)
    expecting = context.expecting
    if expecting in _YES_NO and pressed in ("1", "2"):
        if expecting is Expecting.IDENTITY:
            intent = Intent.IDENTITY_CONFIRMED if pressed == "1" else Intent.NOT_THE_PERSON
        else:
            intent = Intent.AFFIRM if pressed == "1" else Intent.DENY
        return Understanding(intent, digits=pressed, evidence=evidence)
    if expecting is Expecting.VERIFICATION and pressed:
        return Understanding(Intent.VERIFICATION, verification=pressed, digits=pressed,
                             evidence=evidence)  # fmt: skip
    if expecting is Expecting.AMOUNT and pressed.isdigit() and int(pressed) > 0:
        amount = Decimal(pressed).quantize(PAISE)
        return Understanding(Intent.PROMISE, amount=amount, amount_kind=AmountKind.EXACT,
                             digits=pressed, evidence=evidence)  # fmt: skip
    if expecting is Expecting.DATE and pressed.isdigit() and 1 <= int(pressed) <= 31:
        heard = hear(pressed)
        dates = find_dates(heard, find_numbers(heard.keys), set(), today=context.today,
                           past=False, bare_day=True)  # fmt: skip
        if dates and dates[0].day is not None:
            return Understanding(Intent.PROMISE, date=dates[0].day, digits=pressed,
                                 evidence=evidence)  # fmt: skip
    return Understanding(Intent.DIGITS, digits=pressed, evidence=evidence)


# --- reading ---------------------------------------------------------------------------------


def _read(heard: Heard, context: _Context) -> _Clues:
    cues: dict[_Cue, tuple[int, int]] = {}
    for cue, phrases in _PHRASES.items():
        for span in phrases.spans(heard):
            if cue not in _NEGATABLE or not _cue_negated(heard.keys, span):
                cues[cue] = span
                break
    clues = _Clues(heard, cues)
    expecting = context.expecting
    numbers = _numbers(heard, context)
    if expecting is Expecting.VERIFICATION:
        clues.verification = _verification(heard, numbers)
    taken: set[int] = set()
    hour_hint = expecting is Expecting.CALLBACK_TIME or clues.has(
        _Cue.CALLBACK, _Cue.CALL_BAN, _Cue.CALL
    )
    clues.times = find_times(heard, numbers, taken, hour_hint=hour_hint)
    past = _Cue.ALREADY_PAID in cues and not clues.has(_Cue.COMMITMENT)
    clues.dates = find_dates(
        heard,
        numbers,
        taken,
        today=context.today,
        past=past,
        bare_day=expecting is Expecting.DATE,
    )
    if expecting is not Expecting.VERIFICATION:
        clues.amounts = _amounts(heard, numbers, taken, context)
    spans = [(d.start, d.end, "date") for d in clues.dates]
    spans += [(t.start, t.end, "time") for t in clues.times]
    spans += [(a.start, a.end, "amount") for a in clues.amounts]
    clues.negated = _negated_spans(heard.keys, spans)
    if _Cue.ALREADY_PAID in cues and _Cue.COMMITMENT in cues:
        # "I have paid 2000, will pay the rest next week": the paid clause is not the promise
        first, last = _clause_of(heard.keys, cues[_Cue.ALREADY_PAID])
        clues.negated.update((s, e) for s, e, _kind in spans if first <= s and e <= last)
    return clues


def _clause_of(keys: Sequence[str], span: tuple[int, int]) -> tuple[int, int]:
    """The tokens [first, last) of the clause a span is in."""
    first, last = span
    while first > 0 and keys[first - 1] not in _CLAUSE_BREAKS:
        first -= 1
    while last < len(keys) and keys[last] not in _CLAUSE_BREAKS:
        last += 1
    return first, last


def _numbers(heard: Heard, context: _Context) -> list[SpokenNumber]:
    """The numbers heard; a lone "do" counts as 2 only from a Hindi speaker asked for one."""
    numbers = find_numbers(heard.keys)
    hindi_number_asked = context.language == "hi" and context.expecting in (
        Expecting.AMOUNT,
        Expecting.DATE,
        Expecting.VERIFICATION,
    )
    if hindi_number_asked:
        return numbers
    return [n for n in numbers if not n.ambiguous or at(heard.keys, n.end) in _NUMBER_UNITS]


def _cue_negated(keys: Sequence[str], span: tuple[int, int]) -> bool:
    """A negation at a cue: English just before, inside or just after it ("have not paid",
    "I will not"), Hindi just before or inside it ("nahi dunga")."""
    start, end = span
    first = max(start - 3, 0)
    while first < start and any(k in _CLAUSE_BREAKS for k in keys[first:start]):
        first += 1
    english = keys[first : end + 1]
    hindi = keys[max(start - 1, 0) : end]
    return any(k in _NEGATE_NEXT for k in english) or any(k in _NEGATE_PREVIOUS for k in hindi)


def _negated_spans(
    keys: Sequence[str], spans: Sequence[tuple[int, int, str]]
) -> set[tuple[int, int]]:
    """Mentions a negation applies to. English negators ("not", "can't") apply to the first
    mention of each kind after them, Hindi ones ("nahi", "mat") to the last one before them,
    within the clause: "not 5000, 3000", "kal nahi parso", "I can't pay tomorrow"."""
    negated: set[tuple[int, int]] = set()
    ordered = sorted(spans)
    ends = {end: (start, end) for start, end, _kind in ordered}
    for i, token in enumerate(keys):
        if token == _NOT and i in ends and at(keys, i + 1) in _NOT_AFTER:
            negated.add(ends[i])  # Indian English "today not possible", "5000 not ok"
        elif token in _NEGATE_NEXT:
            if token == _NO and (i == 0 or keys[i + 1 : i + 2] == (BOUNDARY,)):
                continue  # "No, tomorrow": an answer, not a negation of what follows
            seen: set[str] = set()
            for start, end, kind in ordered:
                if start <= i or kind in seen or start - i > 6:
                    continue
                if any(k in _CLAUSE_BREAKS or k == _I for k in keys[i + 1 : start]):
                    break
                negated.add((start, end))
                seen.add(kind)
        elif token in _NEGATE_PREVIOUS:
            seen = set()
            for start, end, kind in reversed(ordered):
                if end > i or kind in seen or i - end > 5:
                    continue
                if any(k in _CLAUSE_BREAKS for k in keys[end:i]):
                    break
                negated.add((start, end))
                seen.add(kind)
    return _spread_over_lists(keys, ordered, negated)


def _spread_over_lists(
    keys: Sequence[str], ordered: Sequence[tuple[int, int, str]], negated: set[tuple[int, int]]
) -> set[tuple[int, int]]:
    """A negation covers a list: "don't call on Saturday and Sunday", "shanivar ya ravivar ko
    mat karna"."""
    pairs = list(pairwise(ordered))
    for _ in range(2):  # forwards for English lists, backwards for Hindi ones
        for (start, end, kind), (next_start, next_end, next_kind) in pairs:
            joined = kind == next_kind and all(k in _LIST_JOINS for k in keys[end:next_start])
            if joined and ((start, end) in negated or (next_start, next_end) in negated):
                negated.update({(start, end), (next_start, next_end)})
        pairs.reverse()
    return negated


def _amounts(
    heard: Heard, numbers: Sequence[SpokenNumber], taken: set[int], context: _Context
) -> list[_Amount]:
    """Amounts said, as figures or as "full", "half", "one EMI", "kuch"."""
    keys, found = heard.keys, []
    asked = context.expecting is Expecting.AMOUNT
    for number in numbers:
        start, end = number.start, number.end
        if not free(taken, start, end):
            continue
        following, before = at(keys, end), at(keys, start - 1)
        if following in _EMI_WORDS and number.whole is not None and 1 <= number.whole <= 12:
            value = None if context.emi is None else context.emi * number.whole
            found.append(_Amount(start, end + 1, value, AmountKind.EMI))
            taken.update(range(start, end + 1))
            continue
        if following in _NOT_AMOUNT_AFTER:
            continue
        digits = keys[start] if end - start == 1 and keys[start].isdigit() else ""
        if len(digits) >= 9:
            continue  # a phone or account number, not rupees
        if before in _YEAR_BEFORE and number.whole is not None and 1950 <= number.whole <= 2099:
            continue  # "in 2019"
        said_as_money = number.scaled or following in _CURRENCY or before in _CURRENCY
        said_as_money = said_as_money or "," in heard.words[start]
        if said_as_money or number.value >= 100 or (asked and number.value > 0):
            if following in _CURRENCY:
                end += 1
            found.append(_Amount(start, end, number.value, AmountKind.EXACT))
            taken.update(range(start, end))
    half = (context.overdue / 2).quantize(PAISE, ROUND_HALF_UP)
    emi_spans = [s for s in _EMI.spans(heard) if free(taken, *s)]
    for phrases, value, kind in (
        (_FULL, context.overdue, AmountKind.FULL),
        (_HALF, half, AmountKind.HALF),
        (_SOME, None, AmountKind.PARTIAL),
    ):
        for span in phrases.spans(heard):
            next_to_emi = any(s[0] in (span[1], span[1] + 1) for s in emi_spans)
            if free(taken, *span) and not (kind is AmountKind.FULL and next_to_emi):
                found.append(_Amount(*span, value, kind))
                taken.update(range(*span))
    for span in emi_spans:
        found.append(_Amount(*span, context.emi, AmountKind.EMI))
    return sorted(found, key=lambda a: a.start)


def _verification(heard: Heard, numbers: Sequence[SpokenNumber]) -> str | None:
    """A verification answer: a date of birth as an ISO date, or the digits said
    ("nineteen eighty five" and "unnees sau pachaasi" are 1985, "double five" is 55)."""
    keys = heard.keys
    whole = [n for n in numbers if n.whole is not None]
    month = next((_MONTHS[k] for k in keys if k in _MONTHS), None)
    if month is None and keys.count(_SLASH) == 2 and len(whole) == 3:
        month = whole[1].whole
        whole = [whole[0], whole[2]]
    years = [n.whole for n in whole if n.whole is not None and 1900 <= n.whole <= 2100]
    days = [n.whole for n in whole if n.whole is not None and 1 <= n.whole <= 31]
    if month is not None and years and days:
        try:
            return date(years[0], month, days[0]).isoformat()
        except ValueError:
            return None
    digits = ""
    for number in whole:
        if at(keys, number.end) in _COUNTED:
            continue  # "my last four digits": how many, not which
        times = _REPEAT_DIGIT.get(at(keys, number.start - 1), 1)
        digits += str(number.whole) * times
    return digits or None


# --- deciding --------------------------------------------------------------------------------


def _decide(clues: _Clues, context: _Context) -> Understanding:
    expecting = context.expecting
    if clues.has(_Cue.BEREAVEMENT):
        family = clues.has(_Cue.OWN_FAMILY) and expecting is not Expecting.IDENTITY
        return Understanding(Intent.BEREAVEMENT, borrower_deceased=not family,
                             evidence=(clues.quote(_Cue.BEREAVEMENT),))  # fmt: skip
    for cue, intent in (
        (_Cue.ABUSE, Intent.ABUSE),
        (_Cue.ASK_HUMAN, Intent.ASK_HUMAN),
        (_Cue.WRONG_NUMBER, Intent.WRONG_NUMBER),
        (_Cue.THIRD_PARTY, Intent.THIRD_PARTY),
        (_Cue.DISPUTE, Intent.DISPUTE),
    ):
        if clues.has(cue):
            return Understanding(intent, evidence=(clues.quote(cue),))
    if clues.has(_Cue.ALREADY_PAID) and not clues.has(_Cue.COMMITMENT):
        return _already_paid(clues)
    if clues.has(_Cue.CALL_BAN) or (clues.has(_Cue.ONLY) and clues.has(_Cue.CALL)):
        decided = _call_ban(clues, context)
        if decided is not None:
            return decided
    if clues.has(_Cue.CALLBACK) or (
        expecting is Expecting.CALLBACK_TIME and (clues.times or clues.dates)
    ):
        return _callback(clues, context)
    promise = _promise(clues, context)
    if promise is not None:
        return promise
    if clues.has(_Cue.REFUSE):
        intent = Intent.CANNOT_PAY if clues.negated else Intent.REFUSE
        return Understanding(intent, hardship=_hardship(clues.heard),
                             evidence=(clues.quote(_Cue.REFUSE),))  # fmt: skip
    hardship = _hardship(clues.heard)
    if clues.has(_Cue.CANNOT_PAY) or hardship is not None:
        evidence: tuple[str, ...] = ()
        if clues.has(_Cue.CANNOT_PAY):
            evidence += (clues.quote(_Cue.CANNOT_PAY),)
        if hardship is not None:
            evidence += (f"hardship: {hardship.value}",)
        return Understanding(Intent.CANNOT_PAY, hardship=hardship, evidence=evidence)
    if clues.has(_Cue.COMMITMENT):
        if expecting in (Expecting.CONFIRMATION, Expecting.PAYMENT):
            return Understanding(Intent.AFFIRM, evidence=(clues.quote(_Cue.COMMITMENT),))
        return Understanding(Intent.PROMISE, needs_date=True,
                             evidence=(clues.quote(_Cue.COMMITMENT),))  # fmt: skip
    return _answer(clues, context)


def _answer(clues: _Clues, context: _Context) -> Understanding:
    """Short answers: identity, verification, yes and no, who is this, say again."""
    expecting = context.expecting
    identity = expecting is Expecting.IDENTITY
    for cue, intent in (
        (_Cue.NOT_THE_PERSON, Intent.NOT_THE_PERSON),
        (_Cue.IDENTITY_CONFIRMED, Intent.IDENTITY_CONFIRMED),
        (_Cue.ASK_WHO, Intent.ASK_WHO),
    ):
        if clues.has(cue):
            return Understanding(intent, evidence=(clues.quote(cue),))
    if expecting is Expecting.VERIFICATION and clues.verification is not None:
        digits = len(clues.verification)
        return Understanding(Intent.VERIFICATION, verification=clues.verification,
                             evidence=(f"verification: {digits} characters",))  # fmt: skip
    if clues.has(_Cue.ASK_REPEAT):
        return Understanding(Intent.ASK_REPEAT, evidence=(clues.quote(_Cue.ASK_REPEAT),))
    if clues.has(_Cue.DENY):
        intent = Intent.NOT_THE_PERSON if identity else Intent.DENY
        return Understanding(intent, evidence=(clues.quote(_Cue.DENY),))
    if clues.has(_Cue.AFFIRM):
        intent = Intent.IDENTITY_CONFIRMED if identity else Intent.AFFIRM
        return Understanding(intent, evidence=(clues.quote(_Cue.AFFIRM),))
    if clues.negated and expecting in _TERMS_ASKED:
        return Understanding(Intent.DENY, evidence=("deny: negated terms",))  # "not today"
    return Understanding(Intent.UNKNOWN)


def _clause_between(keys: Sequence[str], start: int, end: int) -> bool:
    return any(k in _CLAUSE_BREAKS for k in keys[start:end])


def _mention_evidence(heard: Heard, mention: DateMention | TimeMention | _Amount, name: str) -> str:
    return f"{name}: {heard.quote(mention.start, mention.end)}"


@dataclass(frozen=True, slots=True)
class _PromisedDate:
    day: date | None
    vague: bool  # only said instead of a date ("after salary"): a concrete one is needed
    deferred: bool  # "not before Friday", "Friday se pehle nahi": a promise for Friday
    mention: DateMention | None


def _promise_date(clues: _Clues) -> _PromisedDate:
    """The promised date: the last one not negated (the first, for a part payment now)."""
    chosen: _PromisedDate | None = None
    vague = False
    partial = clues.has(_Cue.REST_LATER)
    for mention in clues.dates:
        negated = (mention.start, mention.end) in clues.negated
        relation, day = mention.relation, mention.day
        if negated and relation not in (Relation.BEFORE, Relation.UNTIL):
            continue
        if day is None or (relation is Relation.AFTER and not negated):
            vague = True
            continue
        if relation is Relation.BEFORE and not negated:
            day = day - timedelta(days=1)  # "before Friday": Thursday at the latest
        if chosen is None or not partial:
            chosen = _PromisedDate(day, False, negated, mention)
    return chosen or _PromisedDate(None, vague, False, None)


def _promise_amount(clues: _Clues) -> _Amount | None:
    """The promised amount: the last one not negated ("not 5000, 3000" is 3000), or for a part
    payment the first ("10,000 on Monday and 2,000 later")."""
    kept = [a for a in clues.amounts if (a.start, a.end) not in clues.negated]
    if not kept:
        return None
    if not clues.has(_Cue.REST_LATER):
        return kept[-1]
    amount = kept[0]
    if amount.kind in (AmountKind.EXACT, AmountKind.HALF):
        return _Amount(amount.start, amount.end, amount.value, AmountKind.PARTIAL)
    return amount


def _promise(clues: _Clues, context: _Context) -> Understanding | None:
    """A promise: terms (a date, an amount or "after salary") said with a commitment ("de
    dunga", "I will pay") or in answer to a question about paying."""
    promised = _promise_date(clues)
    day = promised.day
    amount = _promise_amount(clues)
    if day is None and amount is None and not promised.vague:
        return None
    committed = clues.has(_Cue.COMMITMENT) or promised.deferred
    terms = [m.start for m in (promised.mention, amount) if m is not None]
    first_term = min(terms, default=len(clues.heard.keys))
    refusals = [clues.cues[c] for c in (_Cue.CANNOT_PAY, _Cue.REFUSE) if c in clues.cues]
    # "today not possible, tomorrow sure": terms in a later clause answer the refusal
    unwilling = [s for s in refusals if not _clause_between(clues.heard.keys, s[1], first_term)]
    concrete = day is not None or amount is not None
    committed = committed or (concrete and len(unwilling) < len(refusals))
    if not committed and (unwilling or context.expecting not in _TERMS_ASKED):
        return None
    clocks = [c for t in clues.positive_times() if (c := _clock_of(t)) is not None]
    if day is None and not promised.vague and clocks:
        day = _next_time(context, None, clocks[-1]).date()  # "shaam ko 2000 de dunga": today
    evidence: tuple[str, ...] = ()
    if clues.has(_Cue.COMMITMENT):
        evidence += (clues.quote(_Cue.COMMITMENT),)
    if promised.mention is not None:
        evidence += (_mention_evidence(clues.heard, promised.mention, "date"),)
    if amount is not None:
        evidence += (_mention_evidence(clues.heard, amount, "amount"),)
    value = None if amount is None or amount.value is None else amount.value.quantize(PAISE)
    return Understanding(
        Intent.PROMISE,
        date=day,
        amount=value,
        amount_kind=None if amount is None else amount.kind,
        needs_date=day is None,
        hardship=_hardship(clues.heard),
        evidence=evidence,
    )


def _already_paid(clues: _Clues) -> Understanding:
    dates = [d for d in clues.positive_dates() if d.day is not None]
    amounts = [a for a in clues.amounts if a.kind is AmountKind.EXACT]
    method = next((m for m, phrases in _METHODS.items() if phrases.first(clues.heard)), None)
    evidence: tuple[str, ...] = (clues.quote(_Cue.ALREADY_PAID),)
    if dates:
        evidence += (_mention_evidence(clues.heard, dates[-1], "date"),)
    if method is not None:
        evidence += (f"method: {method.value}",)
    amount = amounts[-1].value if amounts else None
    return Understanding(
        Intent.ALREADY_PAID,
        date=dates[-1].day if dates else None,
        amount=None if amount is None else amount.quantize(PAISE),
        amount_kind=AmountKind.EXACT if amounts else None,
        payment_method=method,
        evidence=evidence,
    )


def _callback(clues: _Clues, context: _Context) -> Understanding:
    """A callback: when a time was said, the next such local time (or on the day said)."""
    times = clues.positive_times()
    dates = [d for d in clues.positive_dates() if d.day is not None and not d.now]
    day = dates[-1].day if dates else None
    when: datetime | None = None
    evidence: tuple[str, ...] = ()
    if clues.has(_Cue.CALLBACK):
        evidence += (clues.quote(_Cue.CALLBACK),)
    if times:
        mention = times[-1]
        evidence += (_mention_evidence(clues.heard, mention, "time"),)
        clock = _clock_of(mention)
        if mention.offset is not None:
            when = context.now + mention.offset
        elif clock is not None:
            when = _next_time(context, day, clock)
    preference = _preference(clues) if clues.negated else None
    return Understanding(
        Intent.CALLBACK,
        date=day if when is None else when.date(),
        callback_at=when,
        preference=preference,
        evidence=evidence,
    )


def _clock_of(mention: TimeMention) -> time | None:
    """The time of day meant: said, or the usual one for a day part ("shaam ko": 18:00)."""
    if mention.clock is None and mention.part is not None:
        return DAY_PART_HOURS[mention.part].callback
    return mention.clock


def _next_time(context: _Context, day: date | None, clock: time) -> datetime:
    """`clock` on `day`, or when no day was said, the next time the borrower's clock shows it."""
    if day is not None:
        return datetime.combine(day, clock, tzinfo=context.zone)
    today = datetime.combine(context.today, clock, tzinfo=context.zone)
    return today if today > context.now else today + timedelta(days=1)


def _call_ban(clues: _Clues, context: _Context) -> Understanding | None:
    """ "Don't call on Sundays", "only after 6", "office number pe mat karo": a preference;
    "abhi call mat karo" a callback; "don't call me" with nothing more a refusal."""
    preference = _preference(clues)
    evidence = tuple(clues.quote(c) for c in (_Cue.CALL_BAN, _Cue.ONLY) if clues.has(c))
    if preference is not None:
        return Understanding(Intent.PREFERENCE, preference=preference, evidence=evidence)
    if clues.has(_Cue.CALLBACK) or any(d.now for d in clues.dates):
        return _callback(clues, context)
    if clues.has(_Cue.CALL_BAN):
        return Understanding(Intent.REFUSE, evidence=evidence)
    return None


def _preference(clues: _Clues) -> AvoidPreference | None:
    only = clues.has(_Cue.ONLY)
    days = {d.weekday for d in clues.dates if d.weekday is not None}
    avoided_days = {
        d.weekday
        for d in clues.dates
        if d.weekday is not None and (d.start, d.end) in clues.negated
    }
    if clues.has(_Cue.WEEKENDS):
        (days if only else avoided_days).update(_WEEKEND_DAYS)
    if clues.has(_Cue.WORKING_DAYS):
        (days if only else avoided_days).update(_WORKING_DAY_NUMBERS)
    if only and days and not avoided_days:
        avoided_days = set(range(7)) - days
    start, end = _avoided_hours(clues, only)
    if clues.has(_Cue.OFFICE_HOURS) and start is None and end is None:
        start, end = _OFFICE_HOURS
        avoided_days = avoided_days or set(_WORKING_DAY_NUMBERS)
    phone, label = PhoneScope.ALL, None
    for cue, name in ((_Cue.OFFICE_PHONE, "office"), (_Cue.HOME_PHONE, "home")):
        if clues.has(cue):
            phone, label = PhoneScope.THIS, name
    if clues.has(_Cue.THIS_PHONE):
        phone = PhoneScope.THIS
    if not avoided_days and start is None and end is None and phone is PhoneScope.ALL:
        return None
    codes = tuple(lexicon.WEEKDAY_CODES[d] for d in sorted(avoided_days))
    return AvoidPreference(phone, codes, start, end, label)


def _avoided_hours(clues: _Clues, only: bool) -> tuple[time | None, time | None]:
    """The hours to avoid: negated times ("raat ko nahi", "don't call before 6") or the
    complement of an "only" time ("only after 6")."""
    for mention in clues.times:
        negated = (mention.start, mention.end) in clues.negated
        if not (negated or only) or mention.offset is not None:
            continue
        if mention.clock is None and mention.part is not None:
            hours = DAY_PART_HOURS[mention.part]
            return (hours.start, hours.end) if negated else (None, hours.start)
        if mention.clock is None:
            continue
        clock, relation = mention.clock, mention.relation
        if relation is Relation.AFTER:
            return (clock, None) if negated else (None, clock)
        if relation in (Relation.BEFORE, Relation.UNTIL):
            return (None, clock) if negated else (clock, None)
        if negated:
            return clock, (datetime.combine(date.min, clock) + timedelta(hours=1)).time()
    return None, None


def _hardship(heard: Heard) -> Hardship | None:
    return next((h for h, phrases in _HARDSHIPS.items() if phrases.first(heard)), None)


# --- dateparser fallback ---------------------------------------------------------------------


def _with_dateparser(text: str, understood: Understanding, context: _Context) -> Understanding:
    """Ask dateparser for a date the rules did not find, when the text has a date shape only it
    reads. It takes tens of milliseconds, so it never runs for ordinary utterances."""
    if understood.date is not None or _DATEPARSER_SHAPES.search(text) is None:
        return understood
    past = understood.intent is Intent.ALREADY_PAID
    settings = {
        "RELATIVE_BASE": datetime.combine(context.today, time()),
        "PREFER_DATES_FROM": "past" if past else "future",
        "DATE_ORDER": "DMY",
        "REQUIRE_PARTS": ["day"],
    }
    languages = ["en", "hi"] if context.language == "hi" else ["en"]
    found = search_dates(text, languages=languages, settings=settings)
    for phrase, when in found or ():
        day = when.date()
        if (day <= context.today) if past else (day >= context.today):
            evidence = (*understood.evidence, f"date (dateparser): {phrase}")
            return replace(understood, date=day, needs_date=False, evidence=evidence)
    return understood
