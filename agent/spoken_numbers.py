"""Numbers as people say them: digits, English words, Hindi words in both scripts, Indian scales.

"5000", "5,000", "5k", "5 thousand", "five thousand two hundred", "paanch hazaar", "पांच हज़ार",
"1.5 lakh", "dedh lakh", "dhai hazaar", "saadhe teen hazaar", "sava lakh" and
"unnees sau pachaasi" are each one number. Words that cannot combine start a new one, so
"nineteen eighty five" is 19 and 85 and "5000 3000" is two numbers.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from agent import lexicon
from agent.spoken_text import BOUNDARY, key, key_set, keyed


class _Kind(enum.Enum):
    UNIT = enum.auto()  # 0-9: may follow a ten ("twenty five")
    TENS = enum.auto()  # English 20, 30 ... 90: may take a unit after it
    WORD = enum.auto()  # 10-19 in English, 10-99 in Hindi: complete in itself
    DIGITS = enum.auto()
    HUNDREDS = enum.auto()  # "five hundred", "paanch sau": may take anything below 100


def _words() -> dict[str, tuple[Decimal, _Kind]]:
    table: dict[str, tuple[Decimal, _Kind]] = {}
    for word, value in (*lexicon.ENGLISH_UNITS.items(), *lexicon.HINDI_NUMBERS.items()):
        table[key(word)] = (Decimal(value), _Kind.UNIT if value < 10 else _Kind.WORD)
    for word, value in lexicon.ENGLISH_TENS.items():
        table[key(word)] = (Decimal(value), _Kind.TENS)
    for word, text in lexicon.FRACTIONS.items():
        table[key(word)] = (Decimal(text), _Kind.UNIT)
    return table


_WORDS = _words()
_SCALES = {k: Decimal(v) for k, v in keyed(lexicon.SCALES).items()}
_HUNDRED = key_set(lexicon.HUNDRED)
_PREFIXES = {k: Decimal(v) for k, v in keyed(lexicon.FRACTION_PREFIXES).items()}
_AND = key_set(lexicon.AND)
_ARTICLE = key_set(lexicon.ARTICLE)
_HALF = key("half")
_AMBIGUOUS = key_set(lexicon.AMBIGUOUS_NUMBERS)
_K = key(lexicon.THOUSAND_SUFFIX)


@dataclass(frozen=True, slots=True)
class SpokenNumber:
    """One number heard in tokens [start, end)."""

    value: Decimal
    start: int
    end: int
    spelled: bool = False  # said in words, at least in part
    scaled: bool = False  # with a hundred, thousand, lakh, crore or "k"
    clock: bool = False  # digits with two decimals ("6.30"): hours and minutes, if a time
    ambiguous: bool = False  # a lone word that is a number only beside a unit ("do", "saath")

    @property
    def whole(self) -> int | None:
        return int(self.value) if self.value == self.value.to_integral_value() else None


def _value_of(token: str) -> tuple[Decimal, _Kind] | None:
    if token[0].isdigit():
        return Decimal(token), _Kind.DIGITS
    return _WORDS.get(token)


def _can_add(kind: _Kind, value: Decimal, value_kind: _Kind) -> bool:
    """Whether `value` continues a number whose last part is `kind` ("twenty" + "five")."""
    if kind is _Kind.TENS:
        return value_kind is _Kind.UNIT and 1 <= value <= 9
    return kind is _Kind.HUNDREDS and value < 100


def read_number(keys: Sequence[str], start: int) -> SpokenNumber | None:
    """The number that starts at token `start`, if one does."""
    total = Decimal(0)
    current: Decimal | None = None
    kind: _Kind | None = None
    last_scale: Decimal | None = None
    prefix = Decimal(0)
    spelled = scaled = clock = False
    current_start = end = start
    i = start
    while i < len(keys):
        token = keys[i]
        found = _value_of(token)
        if found is not None:
            value, value_kind = found
            value += prefix
            if current is None or kind is None:
                if last_scale is not None and value >= last_scale:
                    break
                current, kind, current_start = value, value_kind, i
            elif _can_add(kind, value, value_kind):
                current, kind = current + value, value_kind
            else:
                break
            prefix = Decimal(0)
            spelled = spelled or value_kind is not _Kind.DIGITS
            clock = value_kind is _Kind.DIGITS and "." in token and len(token.split(".")[1]) == 2
            i = end = i + 1
            if _and_a_half(keys, i):
                current += Decimal("0.5")
                i = end = i + (3 if keys[i + 1] == "a" else 2)
            continue
        if token in _PREFIXES and current is None and _starts_number(keys, i + 1):
            prefix = _PREFIXES[token]
            i += 1
            continue
        if token in _HUNDRED:
            if current is not None and current >= 100:
                break
            current = (current if current is not None else 1 + prefix) * 100
            kind, prefix, spelled, scaled = _Kind.HUNDREDS, Decimal(0), True, True
            i = end = i + 1
            continue
        scale = _SCALES.get(token)
        if scale is None and token == _K and kind is not None and i == end:
            scale = Decimal(1000)
        if scale is not None:
            if last_scale is not None and scale >= last_scale:
                end = current_start  # "5 thousand 5 thousand": the second is its own number
                current = None
                break
            total += (current if current is not None else 1 + prefix) * scale
            current, kind, last_scale, prefix, scaled = None, None, scale, Decimal(0), True
            spelled = spelled or token != _K
            i = end = i + 1
            continue
        if token == BOUNDARY and current is not None and _scale_next(keys, i + 1):
            i += 1  # "Paanch. Hazaar.": ASR punctuation inside a number
            continue
        if (
            token in _AND
            and end == i
            and (current is not None or total)
            and _continues(keys, i + 1)
        ):
            i += 1
            continue
        if token in _ARTICLE and i == start and _scale_next(keys, i + 1):
            current, kind = Decimal(1), _Kind.UNIT
            i += 1
            continue
        break
    if end == start:
        return None
    value = total + (current or 0)
    ambiguous = end - start == 1 and keys[start] in _AMBIGUOUS
    return SpokenNumber(value, start, end, spelled, scaled, clock, ambiguous)


def _and_a_half(keys: Sequence[str], i: int) -> bool:
    """ "two and a half thousand": `i` is just after "two"."""
    if i >= len(keys) or keys[i] not in _AND:
        return False
    rest = tuple(keys[i + 1 : i + 3])
    return rest[:1] == (_HALF,) or rest == ("a", _HALF)


def _starts_number(keys: Sequence[str], i: int) -> bool:
    return i < len(keys) and (
        _value_of(keys[i]) is not None or keys[i] in _HUNDRED or keys[i] in _SCALES
    )


def _scale_next(keys: Sequence[str], i: int) -> bool:
    return i < len(keys) and (keys[i] in _HUNDRED or keys[i] in _SCALES)


def _continues(keys: Sequence[str], i: int) -> bool:
    return i < len(keys) and _value_of(keys[i]) is not None


def find_numbers(keys: Sequence[str]) -> list[SpokenNumber]:
    """Every number in the tokens, in order."""
    numbers: list[SpokenNumber] = []
    i = 0
    while i < len(keys):
        number = read_number(keys, i)
        if number is None:
            i += 1
        else:
            numbers.append(number)
            i = number.end
    return numbers
