"""The call script's wording, per language, from `prompts/{language}/call.toml`.

Every language must define the same lines with the same placeholders; a script that does not
is refused when it is first loaded, naming the file, the line and what is wrong. Amounts and
dates are spoken the way each language says them.
"""

from __future__ import annotations

import string
import tomllib
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Literal

from duecall.errors import ConfigurationError

Language = Literal["en", "hi"]
LANGUAGES: tuple[Language, ...] = ("en", "hi")

_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "hi": ("जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर",
           "अक्टूबर", "नवंबर", "दिसंबर"),
}  # fmt: skip
_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "hi": ("सोमवार", "मंगलवार", "बुधवार", "गुरुवार", "शुक्रवार", "शनिवार", "रविवार"),
}
_RUPEES = {"en": "{} rupees", "hi": "{} रुपये"}


class Script:
    """One language's lines; `line(key, **values)` fills the placeholders."""

    def __init__(self, language: Language, lines: dict[str, str]) -> None:
        self.language = language
        self.twilio_language = lines["language"]
        self._lines = lines

    def line(self, key: str, **values: object) -> str:
        return self._lines[key].format(**values)

    def amount(self, rupees: Decimal) -> str:
        return _RUPEES[self.language].format(indian_grouping(rupees))

    def date(self, day: date) -> str:
        month = _MONTHS[self.language][day.month - 1]
        weekday = _WEEKDAYS[self.language][day.weekday()]
        if self.language == "hi":
            return f"{day.day} {month}, {weekday}"
        return f"{weekday}, {day.day} {month}"

    def when(self, at: datetime) -> str:
        """A local date and time: "Friday, 6 March at 6 p.m.", "6 मार्च, शुक्रवार, 18:00 बजे"."""
        if self.language == "hi":
            return f"{self.date(at.date())}, {at:%H:%M} बजे"
        twelve = at.hour % 12 or 12
        clock = f"{twelve}:{at.minute:02d}" if at.minute else f"{twelve}"
        return f"{self.date(at.date())} at {clock} {'a.m.' if at.hour < 12 else 'p.m.'}"


def indian_grouping(rupees: Decimal) -> str:
    """`123456.5` → `1,23,456.50`; whole rupees lose their paise: `5000` → `5,000`."""
    whole, _, paise = f"{rupees.quantize(Decimal('0.01')):f}".partition(".")
    head, tail = whole[:-3], whole[-3:]
    groups: list[str] = []
    while len(head) > 2:
        head, groups = head[:-2], [head[-2:], *groups]
    grouped = ",".join([g for g in (head, *groups) if g] + [tail])
    return grouped if paise == "00" else f"{grouped}.{paise}"


@cache
def script(language: str) -> Script:
    """The script for `language` (`en`, `hi` or a tag such as `hi-IN`), checked against English."""
    code = language.split("-")[0].lower()
    if code not in LANGUAGES:
        raise ConfigurationError(f"no call script for language {language!r} (have en, hi)")
    lines = _load(code)
    if code != "en":
        _check_same_shape(code, lines, _load("en"))
    return Script("hi" if code == "hi" else "en", lines)


def _load(code: str) -> dict[str, str]:
    path = resources.files("prompts").joinpath(code, "call.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"prompts/{code}/call.toml: {exc}") from None
    bad = [key for key, value in data.items() if not isinstance(value, str)]
    if bad:
        raise ConfigurationError(f"prompts/{code}/call.toml: {bad[0]}: must be text")
    return data


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _check_same_shape(code: str, lines: dict[str, str], english: dict[str, str]) -> None:
    for key, text in english.items():
        if key not in lines:
            raise ConfigurationError(f"prompts/{code}/call.toml: {key}: missing")
        if _placeholders(lines[key]) != _placeholders(text):
            theirs, ours = sorted(_placeholders(lines[key])), sorted(_placeholders(text))
            raise ConfigurationError(
                f"prompts/{code}/call.toml: {key}: placeholders {theirs} differ from English {ours}"
            )
    extra = sorted(set(lines) - set(english))
    if extra:
        raise ConfigurationError(f"prompts/{code}/call.toml: {extra[0]}: not in the English script")
