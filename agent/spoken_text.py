"""Transcribed speech as tokens, and lexicon phrases matched against them.

Twilio returns en-IN speech in Latin script and hi-IN speech in Devanagari, and people mix both
with digits. Every token gets a `key`, a folded spelling, and every lexicon phrase is folded the
same way, so "hazaar", "hazar" and "hajar", or "पाँच" and "पांच", match one entry.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

V = TypeVar("V")

BOUNDARY = "|"  # the key of a clause boundary: , ? ! ; । or a full stop

_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_NUKTA, _CHANDRABINDU, _ANUSVARA = "\u093c", "\u0901", "\u0902"
_JOINERS = dict.fromkeys(map(ord, "\u200b\u200c\u200d"))

_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"[’`]", "'"),
        # Numeric dates, day first as in India ("20.03.2026", "20-03-26"; ISO "2026-03-20").
        (r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", r"\3/\2/\1"),
        (r"\b(\d{1,2})[.-](\d{1,2})[.-](\d{2}|\d{4})\b", r"\1/\2/\3"),
        (r"\bcan'?t\b|\bcannot\b", "can not"),
        (r"\bwon'?t\b", "will not"),
        (r"\b(do|did|does|is|was|were|are|have|has|had|could|would|should|must)n'?t\b", r"\1 not"),
        (r"\bi'?m\b", "i am"),
        (r"'ll\b", " will"),
        (r"'re\b", " are"),
        (r"'ve\b", " have"),
        (r"'d\b", " would"),
        (r"'s\b", " is"),
        (r"\bo'?\s?clock\b", "oclock"),
        (r"\b([ap])\.\s?m\b\.?", r"\1m"),
        (r"\brs\.", "rs "),
        (r"₹", " rs "),
        (r"&", " and "),
    )
)
_TOKEN = re.compile(
    r"(?P<number>\d{1,3}(?:,\d{2,3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"|(?P<word>[a-z]+|[\u0900-\u0963\u0971-\u097f]+)"
    r"|(?P<mark>[/:])"
    r"|(?P<boundary>[,?!;\u0964\u0965]|\.(?!\d))"
)
# Hinglish spellings vary freely ("hazaar", "hazar", "hajar"; "shaam", "sham"; "somwar",
# "somvaar"): long vowels, doubled letters and a few interchangeable consonants are folded.
_FOLDS = (("aa", "a"), ("ee", "i"), ("ii", "i"), ("oo", "u"), ("uu", "u"), ("w", "v"))
_FOLDS_AFTER = (("z", "j"), ("ph", "f"), ("sh", "s"), ("q", "k"))
_REPEATS = re.compile(r"(.)\1+")


def fold(word: str) -> str:
    """The matching key of one lower-case Latin word; Devanagari and digits are kept as they are."""
    if not word.isascii() or not word.isalpha():
        return word
    for old, new in _FOLDS:
        word = word.replace(old, new)
    for old, new in _FOLDS_AFTER:
        word = word.replace(old, new)
    return _REPEATS.sub(r"\1", word)


def normalize(text: str) -> str:
    """Lower case; Devanagari digits as ASCII, nukta and chandrabindu folded; contractions open."""
    text = text.lower().translate(_DEVANAGARI_DIGITS).translate(_JOINERS)
    if not text.isascii():
        text = unicodedata.normalize("NFD", text).replace(_NUKTA, "")
        text = unicodedata.normalize("NFC", text.replace(_CHANDRABINDU, _ANUSVARA))
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True, slots=True)
class Heard:
    """One utterance as tokens: `words` as heard, `keys` folded; `text` is the keys joined."""

    words: tuple[str, ...]
    keys: tuple[str, ...]
    text: str  # every key followed by one space, so phrase patterns end on a token boundary
    starts: tuple[int, ...]  # offset of each token in `text`

    def token_at(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1

    def span(self, match: re.Match[str]) -> tuple[int, int]:
        """The tokens [start, end) that a phrase match covers."""
        return self.token_at(match.start()), self.token_at(match.end() - 1) + 1

    def quote(self, start: int, end: int) -> str:
        return " ".join(w for w in self.words[start:end] if w != BOUNDARY)


def at(keys: Sequence[str], i: int) -> str:
    """The key of token `i`, or "" before the first and after the last."""
    return keys[i] if 0 <= i < len(keys) else ""


def free(taken: set[int], start: int, end: int) -> bool:
    """Whether no token in [start, end) is already read as something else."""
    return all(i not in taken for i in range(start, end))


def hear(text: str) -> Heard:
    words: list[str] = []
    keys: list[str] = []
    for match in _TOKEN.finditer(normalize(text)):
        kind, token = match.lastgroup, match.group()
        if kind == "boundary":
            if words and words[-1] != BOUNDARY:
                words.append(BOUNDARY)
                keys.append(BOUNDARY)
        elif kind == "number":
            words.append(token)
            keys.append(token.replace(",", ""))
        else:
            words.append(token)
            keys.append(fold(token))
    if words and words[-1] == BOUNDARY:
        words.pop()
        keys.pop()
    starts, offset = [], 0
    for key in keys:
        starts.append(offset)
        offset += len(key) + 1
    return Heard(tuple(words), tuple(keys), "".join(k + " " for k in keys), tuple(starts))


def key(word: str) -> str:
    """The key a lexicon word is matched by: its tokens' keys, joined by spaces."""
    keys = hear(word).keys
    if not keys:
        raise ValueError(f"lexicon word {word!r} has no tokens")
    return " ".join(keys)


def keyed(table: Mapping[str, V]) -> dict[str, V]:
    """A lexicon table keyed by `key`, so lookups take a token's key."""
    return {key(word): value for word, value in table.items()}


def key_set(words: Iterable[str]) -> frozenset[str]:
    return frozenset(key(w) for w in words)


_GAP = r"(?:[^\s|]+ ){0,3}"


def _word_pattern(word: str) -> str:
    alternatives = []
    for alternative in word.split("|"):
        alternatives.append(re.escape(key(alternative)) + " ")
    return "(?:" + "|".join(sorted(alternatives, key=len, reverse=True)) + ")"


def _phrase_pattern(phrase: str) -> str:
    parts = phrase.split()
    head = r"\A" if parts and parts[0] == "^" else r"(?<![^ ])"
    tail = r"\Z" if parts and parts[-1] == "$" else ""
    body = []
    for part in parts:
        if part in ("^", "$"):
            continue
        if part == "*":
            body.append(_GAP)
        elif part.endswith("?"):
            body.append(f"(?:{_word_pattern(part[:-1])})?")
        else:
            body.append(_word_pattern(part))
    return head + "".join(body) + tail


class Phrases:
    """Lexicon phrases compiled into one pattern over `Heard.text`.

    A phrase is words separated by spaces; `a|b` is either word, `word?` is optional, `*` skips
    up to three words (never across a clause boundary), and `^` / `$` anchor the phrase to the
    start / end of the utterance.
    """

    __slots__ = ("pattern",)

    def __init__(self, phrases: Iterable[str]) -> None:
        # Longer phrases first: at one position the alternation takes the first that matches.
        ordered = sorted(phrases, key=lambda p: len(p.split()), reverse=True)
        self.pattern = re.compile("|".join(f"(?:{_phrase_pattern(p)})" for p in ordered))

    def spans(self, heard: Heard) -> list[tuple[int, int]]:
        return [heard.span(m) for m in self.pattern.finditer(heard.text)]

    def first(self, heard: Heard) -> tuple[int, int] | None:
        match = self.pattern.search(heard.text)
        return None if match is None else heard.span(match)
