"""Guards on what the LLM would say, checked before any of it is spoken. Pure.

A reply fails (`check`) when it
- names an amount the borrower may not hear: only the overdue amount, the EMI, the total
  outstanding, the promise being confirmed and amounts in the agent's own line for the turn
  may be said (`AMOUNT`);
- names a date other than the due date, today, the promise date or one in the agent's line
  (`DATE`), or another number than the account's last four digits, the lender's number or one
  of those amounts (`NUMBER`): nothing about another account, ever;
- threatens, intimidates with legal steps or abuses (`THREAT`, `LEGAL`, `ABUSE`), or tells or
  threatens to tell anyone else about the debt (`DISCLOSURE`) — RBI Fair Practices Code and the
  Master Direction on outsourcing of recovery (2023), English and Hindi alike;
- offers what the lender has not authorised: waivers, settlements, discounts (`UNAUTHORISED`);
- talks about itself as a model or its instructions (`MODEL_TALK`), is not speech a voice can
  read (`FORMAT`), is in the wrong language (`LANGUAGE`), or leaves out what the turn must say,
  such as the promise being read back (`MISSING`).

Negated forms fail too ("we will not take legal action"): a reply that needs to name a threat
to deny it is replaced by the scripted line, which never does.

`StreamGuard` applies the same checks to a reply as it streams: text is let through as soon as
nothing held back could still turn it into a failure (an unfinished number, the first words of a
banned phrase), and never past the point where a check fails.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache

from agent import lexicon
from agent.spoken_dates import DateMention, find_dates
from agent.spoken_numbers import find_numbers
from agent.spoken_text import Heard, Phrases, fold, hear, key, key_set, keyed, normalize

PAISE = Decimal("0.01")
MAX_REPLY_CHARS = 600  # two or three spoken sentences; more is a speech, not a turn
_SCALE_MIN = 100  # a bare number this large is an amount unless it is a date or a known number
_LONG_DIGITS = 4  # digits this many or more, unscaled: an account or phone number


class Rule(enum.StrEnum):
    AMOUNT = "amount"
    DATE = "date"
    NUMBER = "number"
    THREAT = "threat"
    LEGAL = "legal"
    ABUSE = "abuse"
    DISCLOSURE = "disclosure"
    UNAUTHORISED = "unauthorised"
    MODEL_TALK = "model_talk"
    FORMAT = "format"
    LANGUAGE = "language"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Violation:
    rule: Rule
    detail: str  # what was said that fails, for the event log and QA

    def __str__(self) -> str:
        return f"{self.rule.value}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Allowed:
    """What a reply may mention, and what it must."""

    today: date
    language: str = "en"  # en | hi: the script the voice reads
    amounts: frozenset[Decimal] = frozenset()
    dates: frozenset[date] = frozenset()
    numbers: frozenset[str] = frozenset()  # digit strings: last four digits, the lender's number
    required_amounts: frozenset[Decimal] = frozenset()
    required_dates: frozenset[date] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        today: date,
        language: str,
        amounts: Iterable[Decimal | None] = (),
        dates: Iterable[date | None] = (),
        numbers: Iterable[str | None] = (),
        lines: Iterable[str] = (),
        required_amounts: Iterable[Decimal] = (),
        required_dates: Iterable[date] = (),
    ) -> Allowed:
        """The values given, plus every amount, date and number the agent's own `lines` say."""
        said = [_line_mentions(line, today) for line in lines]
        return cls(
            today=today,
            language="hi" if language.startswith("hi") else "en",
            amounts=frozenset(
                _rupees(a) for a in (*amounts, *(a for m in said for a in m.amounts)) if a
            ),
            dates=frozenset(
                d for d in (today, *dates, *(d for m in said for d in m.dates)) if d is not None
            ),
            numbers=frozenset(
                "".join(ch for ch in n if ch.isdigit())
                for n in (*numbers, *(n for m in said for n in m.numbers))
                if n
            ),
            required_amounts=frozenset(_rupees(a) for a in required_amounts),
            required_dates=frozenset(required_dates),
        )


@dataclass(frozen=True, slots=True)
class Mentions:
    """The amounts, dates and long numbers a text says."""

    amounts: tuple[Decimal, ...] = ()
    dates: tuple[date, ...] = ()
    numbers: tuple[str, ...] = ()
    date_spans: tuple[tuple[DateMention, str], ...] = field(default=())  # mention, how it was said


def _rupees(value: Decimal) -> Decimal:
    return value.quantize(PAISE)


# --- what a text says ---------------------------------------------------------------------------

_CURRENCY = key_set(lexicon.CURRENCY)
_MONTHS = keyed(lexicon.MONTHS)
_WEEKDAYS = keyed(lexicon.WEEKDAYS)


def mentions(text: str | Heard, today: date) -> Mentions:
    heard = text if isinstance(text, Heard) else hear(text)
    numbers = find_numbers(heard.keys)
    dates = find_dates(heard, numbers, set(), today=today, past=False, bare_day=False)
    in_dates = {i for m in dates for i in range(m.start, m.end)}
    amounts: list[Decimal] = []
    digits: list[str] = []
    for number in numbers:
        if any(i in in_dates for i in range(number.start, number.end)):
            continue
        near = {heard.keys[i] for i in (number.start - 1, number.end) if 0 <= i < len(heard.keys)}
        written = "".join(heard.keys[number.start : number.end])
        if number.scaled or near & _CURRENCY:
            amounts.append(_rupees(number.value))
        elif written.isdigit() and len(written) >= _LONG_DIGITS:
            digits.append(written)
        elif not number.ambiguous and not number.clock and number.value >= _SCALE_MIN:
            amounts.append(_rupees(number.value))
    return Mentions(
        tuple(amounts),
        tuple(m.day for m in dates if m.day is not None),
        tuple(digits),
        tuple((m, _how(heard, m)) for m in dates if m.day is not None),
    )


@lru_cache(maxsize=4096)
def _line_mentions(line: str, today: date) -> Mentions:
    """`mentions` of one of the agent's own lines: the same few lines come back turn after turn
    and call after call."""
    return mentions(line, today)


def _how(heard: Heard, mention: DateMention) -> str:
    """How a date was said: with its month, as a day of the month, a weekday, or relatively."""
    keys = heard.keys[mention.start : mention.end]
    if any(k in _MONTHS for k in keys):
        return "year" if any(len(k) == 4 and k.isdigit() for k in keys) else "month"
    if any(k.isdigit() for k in keys):
        return "day"
    if mention.weekday is not None:
        return "weekday"
    return "relative"


def _date_ok(day: date, how: str, allowed: Allowed) -> bool:
    if how == "year":
        return day in allowed.dates
    if how == "month":
        return any((a.month, a.day) == (day.month, day.day) for a in allowed.dates)
    if how == "day":
        return any(a.day == day.day for a in allowed.dates)
    if how == "weekday":
        return any(a.weekday() == day.weekday() for a in allowed.dates)
    return day in allowed.dates


# --- the checks ---------------------------------------------------------------------------------

# One pattern for every banned phrase, a named group per rule: one scan of the reply. Every
# phrase begins at the start of a word, so that is tested once, before the alternatives rather
# than by each of them: the same matches, four times faster.
_BANNED = re.compile(
    r"(?<![^ ])(?:"
    + "|".join(
        f"(?P<{rule.value}>{Phrases(words).pattern.pattern})"
        for rule, words in (
            (Rule.ABUSE, lexicon.ABUSE),
            (Rule.THREAT, (*lexicon.COLLECTOR_THREATS, *lexicon.INTIMIDATION)),
            (Rule.LEGAL, lexicon.LEGAL_THREATS),
            (Rule.DISCLOSURE, lexicon.DISCLOSURE_THREATS),
            (Rule.UNAUTHORISED, lexicon.UNAUTHORISED_OFFERS),
            (Rule.MODEL_TALK, lexicon.MODEL_TALK),
        )
    )
    + ")"
)
_NOT_SPEECH = re.compile(r"[{}<>\[\]`*#|_\\]|https?:|www\.")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_LATIN = re.compile(r"[A-Za-z]")
_INJECTION = Phrases(lexicon.PROMPT_INJECTION)


def check(text: str, allowed: Allowed) -> tuple[Violation, ...]:
    """Every reason `text` may not be spoken (empty: it may)."""
    violations = list(_form(text, allowed))
    heard = hear(text)
    seen: set[str] = set()
    for match in _BANNED.finditer(heard.text):
        rule = match.lastgroup
        if rule is not None and rule not in seen:
            seen.add(rule)
            violations.append(Violation(Rule(rule), f"“{heard.quote(*heard.span(match))}”"))
    violations.extend(_values(heard, allowed))
    return tuple(violations)


def _form(text: str, allowed: Allowed) -> Iterable[Violation]:
    if not text.strip():
        yield Violation(Rule.FORMAT, "nothing to say")
        return
    if len(text) > MAX_REPLY_CHARS:
        yield Violation(Rule.FORMAT, f"{len(text)} characters, more than {MAX_REPLY_CHARS}")
    odd = _NOT_SPEECH.search(text)
    if odd is not None:
        yield Violation(Rule.FORMAT, f"“{odd.group()}” is not speech")
    devanagari, latin = len(_DEVANAGARI.findall(text)), len(_LATIN.findall(text))
    # Names, the lender and "UPI" stay in Latin letters in Hindi: most of it must not.
    if allowed.language == "hi" and devanagari * 3 < latin:
        yield Violation(Rule.LANGUAGE, "not in Hindi (Devanagari)")
    if allowed.language == "en" and devanagari > 0:
        yield Violation(Rule.LANGUAGE, "not in English")


def _values(heard: Heard, allowed: Allowed) -> Iterable[Violation]:
    said = mentions(heard, allowed.today)
    for amount in said.amounts:
        if amount not in allowed.amounts:
            yield Violation(Rule.AMOUNT, f"₹{amount:,.2f} is not an amount of this account")
    for mention, how in said.date_spans:
        assert mention.day is not None
        if not _date_ok(mention.day, how, allowed):
            yield Violation(Rule.DATE, f"{mention.day.isoformat()} is not a date of this account")
    for number in said.numbers:
        if number not in allowed.numbers and _rupees(Decimal(number)) not in allowed.amounts:
            yield Violation(Rule.NUMBER, f"{len(number)}-digit number not of this account")
    for amount in allowed.required_amounts - set(said.amounts):
        yield Violation(Rule.MISSING, f"does not say the amount ₹{amount:,.2f}")
    for day in allowed.required_dates:
        if not any(
            _date_ok(day, how, Allowed(today=allowed.today, dates=frozenset({m.day})))
            for m, how in said.date_spans
            if m.day is not None
        ):
            yield Violation(Rule.MISSING, f"does not say the date {day.isoformat()}")


def injection(text: str) -> str | None:
    """The words by which borrower speech addresses the model rather than the caller, if any."""
    heard = hear(text)
    span = _INJECTION.first(heard)
    return None if span is None else heard.quote(*span)


# --- streaming ----------------------------------------------------------------------------------


def _expand(phrase: str) -> list[tuple[str, ...]]:
    """A lexicon phrase's word sequences (alternatives expanded), up to a `*` or an optional."""
    sequences: list[tuple[str, ...]] = [()]
    for part in phrase.split():
        if part in ("^", "$"):
            continue
        if part == "*" or part.endswith("?"):
            break
        options = [key(option) for option in part.split("|") if option]
        sequences = [(*s, *o.split()) for s in sequences for o in options if o]
    return [s for s in sequences if s]


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    prefixes: frozenset[tuple[str, ...]]  # proper prefixes of banned phrases, as word keys
    banned: frozenset[str]  # banned words, and the first words of banned phrases
    core: frozenset[str]  # words that are (part of) a number or a date
    connectors: frozenset[str]  # words that join the parts of one ("and", "next", "days")
    numeric_prefixes: frozenset[str]  # beginnings of core and connector words


@cache
def _vocabulary() -> _Vocabulary:
    prefixes: set[tuple[str, ...]] = set()
    banned: set[str] = set()
    for phrase in (
        *lexicon.ABUSE, *lexicon.COLLECTOR_THREATS, *lexicon.INTIMIDATION, *lexicon.LEGAL_THREATS,
        *lexicon.DISCLOSURE_THREATS, *lexicon.UNAUTHORISED_OFFERS, *lexicon.MODEL_TALK,
    ):  # fmt: skip
        for sequence in _expand(phrase):
            banned.add(sequence[0])
            prefixes.update(sequence[:n] for n in range(1, len(sequence)))
    core = {
        *keyed(lexicon.ENGLISH_UNITS), *keyed(lexicon.ENGLISH_TENS),
        *keyed(lexicon.HINDI_NUMBERS), *keyed(lexicon.FRACTIONS),
        *keyed(lexicon.FRACTION_PREFIXES), *key_set(lexicon.SCALES), *key_set(lexicon.HUNDRED),
        *key_set(lexicon.CURRENCY), *_MONTHS, *_WEEKDAYS, *keyed(lexicon.ORDINALS),
        *key_set(lexicon.ORDINAL_SUFFIXES), "k",
    }  # fmt: skip
    connectors = {
        *key_set(lexicon.AND), *key_set(lexicon.DATE_WORDS), *key_set(lexicon.NEXT),
        *key_set(lexicon.THIS), *key_set(lexicon.LAST), *key_set(lexicon.DAY_UNITS),
        *key_set(lexicon.WEEK_UNITS), *key_set(lexicon.MONTH_UNITS),
    }  # fmt: skip
    numeric_prefixes = {word[:n] for word in core | connectors for n in range(1, len(word) + 1)}
    return _Vocabulary(
        frozenset(prefixes), frozenset(banned), frozenset(core), frozenset(connectors),
        frozenset(numeric_prefixes),
    )  # fmt: skip


_WORD = re.compile(r"\S+")
_EDGE_PUNCTUATION = ",.;:!?\"'()।॥-–—"


def _word_key(word: str) -> str:
    """The key a word is known by, spelled as `hear` spells it (Latin folded; Devanagari with
    its nukta and chandrabindu folded), so that "पाँच" is the number "पांच"."""
    stripped = word.strip(_EDGE_PUNCTUATION).lower()
    return fold(stripped) if stripped.isascii() else normalize(stripped)


# Words that begin banned phrases ("your family will be told") but say nothing alone: they go at
# once, and what would follow them waits. Kept as word keys ("we" is "ve"), as they are compared.
_INNOCENT_LEADS = frozenset(
    _word_key(word) for word in ("your", "you", "my", "i", "we", "our", "the", "a", "to", "no")
)


def _numeric_kind(word: str, vocabulary: _Vocabulary) -> str | None:
    """ "core" for (part of) a number or date, "connector" for a word that joins its parts."""
    if any(ch.isdigit() for ch in word) or "₹" in word:
        return "core"
    keys = [k for k in hear(word).keys if k]
    if not keys:
        return None
    if all(k in vocabulary.core for k in keys):
        return "core"
    if all(k in vocabulary.core or k in vocabulary.connectors for k in keys):
        return "connector"
    return None


def _ends_clause(word: str) -> bool:
    return word.rstrip("\"')").endswith((".", "?", "!", "।", ";"))


def hold_from(text: str) -> int:
    """Where the text that may not be let through yet begins (`len(text)`: all may go).

    Held back: a number or date still being said (until a word that cannot belong to it
    follows), the first words of a banned phrase (until the word that would complete it), and
    an unfinished word that is a number or a banned word already. Other unfinished words go:
    if one completes into a banned word, the check stops the reply before that piece.
    """
    vocabulary = _vocabulary()
    spans = [(m.start(), m.group()) for m in _WORD.finditer(text)]
    if not spans:
        return len(text)
    hold = len(text)
    complete = not text[-1:].strip() or False
    done = spans if complete else spans[:-1]
    may_extend_number = True
    if not complete:
        start, word = spans[-1]
        partial = _word_key(word)
        if (
            any(ch.isdigit() for ch in word)
            or "₹" in word
            or (partial in vocabulary.banned and partial not in _INNOCENT_LEADS)
            or partial in vocabulary.core
        ):
            hold = start
        may_extend_number = (
            not partial
            or partial in vocabulary.numeric_prefixes
            or any(ch.isdigit() for ch in word)
        )
    if not done or _ends_clause(done[-1][1]):
        return hold
    if may_extend_number:
        i, core = len(done), False
        while i > 0 and (kind := _numeric_kind(done[i - 1][1], vocabulary)) is not None:
            core = core or kind == "core"
            i -= 1
            if i > 0 and _ends_clause(done[i - 1][1]):
                break
        if core:
            hold = min(hold, done[i][0])
    keys = [_word_key(word) for _, word in done[-4:]]
    for n in range(len(keys), 0, -1):
        if tuple(keys[-n:]) in vocabulary.prefixes:
            if keys[-n] not in _INNOCENT_LEADS:
                hold = min(hold, done[-n][0])
            elif n > 1:
                hold = min(hold, done[-n + 1][0])
            break
    return hold


class StreamGuard:
    """`check` applied to a reply as it streams in: `feed` returns the text that may be spoken
    now, `finish` the rest once the reply is complete. After a failure nothing more is let
    through and `violations` says why."""

    def __init__(self, allowed: Allowed) -> None:
        self.allowed = allowed
        # While streaming, nothing can be missing yet.
        self._partial = Allowed(
            today=allowed.today, language=allowed.language, amounts=allowed.amounts,
            dates=allowed.dates, numbers=allowed.numbers,
        )  # fmt: skip
        self.text = ""
        self.sent = 0
        self.violations: tuple[Violation, ...] = ()

    @property
    def failed(self) -> bool:
        return bool(self.violations)

    @property
    def spoken(self) -> str:
        return self.text[: self.sent]

    def feed(self, piece: str) -> str:
        if self.failed:
            return ""
        self.text += piece
        end = hold_from(self.text)
        if end <= self.sent:
            return ""
        return self._release(end, final=False)

    def finish(self) -> str:
        if self.failed:
            return ""
        return self._release(len(self.text), final=True)

    def _release(self, end: int, *, final: bool) -> str:
        if final:
            violations = check(self.text, self.allowed)
        else:
            # Only the sentence being said can change: what came before it was checked when
            # it was let through, and no number, date or phrase runs across a sentence's end.
            window = self.text[_sentence_start(self.text, self.sent) : end]
            violations = tuple(
                v
                for v in (check(window, self._partial) if window.strip() else ())
                if v.rule not in (Rule.LANGUAGE, Rule.MISSING)
            )
        if violations:
            self.violations = violations
            return ""
        released, self.sent = self.text[self.sent : end], end
        return released


_SENTENCE_END = re.compile(r"[.?!\u0964\u0965](?:\s|$)")


def _sentence_start(text: str, before: int) -> int:
    start = 0
    for match in _SENTENCE_END.finditer(text, 0, before):
        start = match.end()
    return start
