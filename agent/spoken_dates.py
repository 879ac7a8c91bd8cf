"""Dates and times of day as people say them, resolved against the borrower's local calendar.

Each finder marks the tokens it uses in `taken`, so that a number read as a date ("5 tareekh")
or a time ("6 baje") is not also read as an amount. Resolution rules (see README):
- a bare weekday is its next occurrence after today; "this Friday" is the one in this
  Monday-to-Sunday week (today included); "next Friday" is the one in next week;
- "next week" / "agle hafte" is next week's Monday; "last week" the previous week's Monday;
- a day of the month ("on the 5th", "15 tareekh") is the next such day on or after today,
  and "5 March" the next 5 March on or after today;
- in the past tense ("I paid ...") each of these is the latest such day on or before today, and
  "kal" / "parso" mean yesterday / the day before.
"""

from __future__ import annotations

import enum
from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from agent import lexicon
from agent.spoken_numbers import SpokenNumber
from agent.spoken_text import Heard, Phrases, at, free, key, key_set, keyed
from crm.buckets import add_months


class Relation(enum.StrEnum):
    AT = "at"
    UNTIL = "until"  # "till Friday", "Friday tak"
    BEFORE = "before"  # "before Friday", "Friday se pehle"
    AFTER = "after"  # "after Friday", "Friday ke baad"


class DayPart(enum.StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    NIGHT = "night"


@dataclass(frozen=True, slots=True)
class DayPartHours:
    start: time
    end: time | None  # None: until midnight
    callback: time  # when "call me in the evening" is scheduled


DAY_PART_HOURS: dict[DayPart, DayPartHours] = {
    DayPart.MORNING: DayPartHours(time(6), time(12), time(10)),
    DayPart.AFTERNOON: DayPartHours(time(12), time(16), time(14)),
    DayPart.EVENING: DayPartHours(time(16), time(20), time(18)),
    DayPart.NIGHT: DayPartHours(time(20), None, time(20)),
}


@dataclass(frozen=True, slots=True)
class DateMention:
    start: int
    end: int
    day: date | None  # None when said instead of a date ("after salary", "next month")
    relation: Relation = Relation.AT
    weekday: int | None = None  # 0 = Monday, when a weekday was named
    now: bool = False  # "now", "abhi"


@dataclass(frozen=True, slots=True)
class TimeMention:
    start: int
    end: int
    clock: time | None = None
    part: DayPart | None = None
    offset: timedelta | None = None  # "in two hours"
    relation: Relation = Relation.AT


_MONTHS = keyed(lexicon.MONTHS)
_WEEKDAYS = keyed(lexicon.WEEKDAYS)
_ORDINALS = keyed(lexicon.ORDINALS)
_ORDINAL_SUFFIXES = key_set(lexicon.ORDINAL_SUFFIXES)
_DATE_WORDS = key_set(lexicon.DATE_WORDS)
_NEXT = key_set(lexicon.NEXT)
_THIS = key_set(lexicon.THIS)
_LAST = key_set(lexicon.LAST)
_DAY_UNITS = key_set(lexicon.DAY_UNITS)
_WEEK_UNITS = key_set(lexicon.WEEK_UNITS)
_MONTH_UNITS = key_set(lexicon.MONTH_UNITS)
_HOUR_UNITS = key_set(lexicon.HOUR_UNITS)
_MINUTE_UNITS = key_set(lexicon.MINUTE_UNITS)
_BAJE = key_set(lexicon.BAJE)
_AM = key_set(lexicon.AM)
_PM = key_set(lexicon.PM)
_AFTER = key_set(lexicon.AFTER)
_BEFORE = key_set(("before",))
_UNTIL = key_set(("until", "till", "tak", "तक"))
_PEHLE = key_set(("pehle", "pahle", "पहले"))
_AGO = key_set(lexicon.AGO)
_ON = key_set(lexicon.ON)
_AT = key_set(("at", "around", "after", "before", "by", "till", "until"))
_ARTICLE = key_set(lexicon.ARTICLE)
_WITHIN = key_set(lexicon.WITHIN)
_LATER = key_set(("later", "baad"))
_FROM = key("from")
_TODAY_WORDS = key_set(("now", "today", "aaj", "abhi"))
_MORE = key_set(("more", "extra", "aur", "और"))
_OF, _THE, _KE, _SE, _COLON, _SLASH = (key(w) for w in ("of", "the", "ke", "se", ":", "/"))
_NOT_A_DAY_AFTER = key_set((*lexicon.CURRENCY, *lexicon.NOT_AMOUNT_AFTER, *lexicon.SCALES))
_PART_WORDS = {key(w): part for part, words in lexicon.DAY_PARTS.items() for w in words}
_DAY_PARTS = {DayPart(part): Phrases(words) for part, words in lexicon.DAY_PARTS.items()}
_HALF_HOUR = Phrases(lexicon.HALF_HOUR)
_AN_HOUR = Phrases(lexicon.AN_HOUR)
_END_OF_MONTH = Phrases(lexicon.END_OF_MONTH)
_VAGUE = Phrases(lexicon.VAGUE_DATES)
_NEXT_WEEK = Phrases(lexicon.NEXT_WEEK)
_LAST_WEEK = Phrases(lexicon.LAST_WEEK)
_NOW = Phrases(lexicon.NOW)
# (phrases, days from today, days from today in the past tense)
_RELATIVE_DAYS: tuple[tuple[Phrases, int, int], ...] = (
    (Phrases(lexicon.DAY_BEFORE_YESTERDAY), -2, -2),
    (Phrases(lexicon.DAY_AFTER_TOMORROW), 2, -2),
    (Phrases(lexicon.YESTERDAY), -1, -1),
    (Phrases(lexicon.TOMORROW), 1, -1),
    (Phrases(lexicon.TODAY), 0, 0),
)


def _take(taken: set[int], start: int, end: int) -> None:
    taken.update(range(start, end))


def _relation(keys: Sequence[str], start: int, end: int) -> Relation:
    before, after = at(keys, start - 1), at(keys, end)
    if before in _ON or before == _THE:  # "before the 10th", "after on Monday"
        before = at(keys, start - 2) if at(keys, start - 2) != _THE else at(keys, start - 3)
    after_next = at(keys, end + 1)
    if before in _AFTER or after in _AFTER or (after == _KE and after_next in _AFTER):
        return Relation.AFTER
    if before in _BEFORE or after in _PEHLE or (after == _SE and after_next in _PEHLE):
        return Relation.BEFORE
    if before in _UNTIL or after in _UNTIL:
        return Relation.UNTIL
    return Relation.AT


# --- times -----------------------------------------------------------------------------------


def _clock(
    number: SpokenNumber, minutes: int | None, meridiem: str, part: DayPart | None
) -> time | None:
    """The time of day an hour said as `number` means; bare 1-7 are afternoon (calling hours)."""
    hour = int(number.value)
    if minutes is None:
        fraction = number.value - hour
        minutes = int(fraction * 100) if number.clock else int(fraction * 60)
    if not 0 <= hour <= 23 or not 0 <= minutes <= 59:
        return None
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    elif not meridiem and hour < 12 and _afternoon(hour, part):
        hour += 12
    return time(hour, minutes)


def _afternoon(hour: int, part: DayPart | None) -> bool:
    """Whether an hour said without am/pm is after noon: by its day part, or, said bare, when it
    is 1-7 (collection calls run 08:00-19:00)."""
    if part is None:
        return 1 <= hour <= 7
    return part in (DayPart.AFTERNOON, DayPart.EVENING) or (part is DayPart.NIGHT and hour >= 5)


def _part_near(keys: Sequence[str], start: int, end: int) -> DayPart | None:
    """A day part said next to a time: "shaam 6 baje", "subah ke 10", "6 baje shaam ko"."""
    for i in (start - 1, start - 2, end, end + 1, end + 2):
        part = _PART_WORDS.get(at(keys, i))
        if part is not None:
            return DayPart(part)
    return None


def find_times(
    heard: Heard, numbers: Sequence[SpokenNumber], taken: set[int], *, hour_hint: bool
) -> list[TimeMention]:
    """Times of day, day parts and offsets ("in two hours"). With `hour_hint` (a call time is
    being discussed) "at 6" and "6 ke baad" are times too."""
    keys = heard.keys
    found: list[TimeMention] = []
    for number in numbers:
        start, end = number.start, number.end
        if not free(taken, start, end):
            continue
        following = at(keys, end)
        if following in _DAY_UNITS or following in _WEEK_UNITS or following in _MONTH_UNITS:
            continue
        if following in _HOUR_UNITS or following in _MINUTE_UNITS:
            unit = timedelta(hours=1) if following in _HOUR_UNITS else timedelta(minutes=1)
            found.append(TimeMention(start, end + 1, offset=unit * float(number.value)))
            _take(taken, start, end + 1)
            continue
        minutes: int | None = None
        if following == _COLON and at(keys, end + 1).isdigit():
            minutes, end = int(keys[end + 1]), end + 2
        meridiem = ""
        if at(keys, end) in _BAJE:
            end += 1
        if at(keys, end) in _AM or at(keys, end) in _PM:
            meridiem = "am" if keys[end] in _AM else "pm"
            end += 1
        part = _part_near(keys, start, end)
        marked = end > number.end or part is not None  # "6 baje", "6 pm", "shaam 6"
        hinted = hour_hint and (
            at(keys, start - 1) in _AT or _relation(keys, start, end) is not Relation.AT
        )
        if not (marked or hinted) or number.scaled:
            continue
        clock = _clock(number, minutes, meridiem, part)
        if clock is not None:
            found.append(TimeMention(start, end, clock, part, relation=_relation(keys, start, end)))
            _take(taken, start, end)
    for phrases, offset in ((_HALF_HOUR, timedelta(minutes=30)), (_AN_HOUR, timedelta(hours=1))):
        for start, end in phrases.spans(heard):
            if free(taken, start, end):
                found.append(TimeMention(start, end, offset=offset))
                _take(taken, start, end)
    used_parts = {m.part for m in found if m.part is not None}
    for part, phrases in _DAY_PARTS.items():
        if part in used_parts:
            continue
        for start, end in phrases.spans(heard):
            relation = _relation(keys, start, end)
            found.append(TimeMention(start, end, part=part, relation=relation))
    return sorted(found, key=lambda m: m.start)


# --- dates -----------------------------------------------------------------------------------


def _valid(year: int, month: int, day: int) -> date | None:
    if 1 <= month <= 12 and 1 <= day <= monthrange(year, month)[1]:
        return date(year, month, day)
    return None


def _day_of_month(today: date, day: int, *, past: bool, months_ahead: int = 0) -> date | None:
    """The next `day` of a month on or after today (the latest on or before, in the past)."""
    if not 1 <= day <= 31:
        return None
    if months_ahead:
        first = add_months(today.replace(day=1), months_ahead)
        return _valid(first.year, first.month, day)
    step = -1 if past else 1
    first = today.replace(day=1)
    for months in range(13):
        month = add_months(first, step * months)
        candidate = _valid(month.year, month.month, day)
        if candidate is not None and (candidate <= today if past else candidate >= today):
            return candidate
    return None


def _month_day(today: date, month: int, day: int, year: int | None, *, past: bool) -> date | None:
    if year is not None:
        return _valid(year, month, day)
    for candidate_year in (today.year, today.year - 1 if past else today.year + 1):
        candidate = _valid(candidate_year, month, day)
        if candidate is not None and (candidate <= today if past else candidate >= today):
            return candidate
    return None


def _weekday(today: date, weekday: int, modifier: str, *, past: bool) -> date:
    monday = today - timedelta(days=today.weekday())
    if modifier == "next":
        return monday + timedelta(days=7 + weekday)
    if modifier == "this":
        day = monday + timedelta(days=weekday)
        return day if day >= today else day + timedelta(days=7)
    if past or modifier == "last":
        return today - timedelta(days=(today.weekday() - weekday) % 7 or 7)
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def _next_month_near(keys: Sequence[str], start: int, end: int) -> tuple[int, int] | None:
    """The span of "next month" / "agle mahine (ki)" just before or after a day of the month."""
    for i in (start - 2, start - 3, end, end + 1):
        if at(keys, i) in _NEXT and at(keys, i + 1) in _MONTH_UNITS:
            return i, i + 2
    return None


class _DateReader:
    """Reads the dates of one utterance; `taken` collects the tokens they use."""

    def __init__(self, heard: Heard, taken: set[int], today: date, *, past: bool) -> None:
        self.heard, self.keys, self.taken = heard, heard.keys, taken
        self.today, self.past = today, past
        self.found: list[DateMention] = []

    def add(
        self,
        start: int,
        end: int,
        day: date | None,
        *,
        weekday: int | None = None,
        now: bool = False,
        relation: Relation | None = None,
    ) -> None:
        relation = relation or _relation(self.keys, start, end)
        self.found.append(DateMention(start, end, day, relation, weekday, now))
        _take(self.taken, start, end)

    def day_of_month(self, start: int, end: int, day: int) -> None:
        """A day with an optional month and year around it: "5th", "5 March 2026", "March 5"."""
        keys, month, year = self.keys, None, None
        if at(keys, end) == _OF and at(keys, end + 1) in _MONTHS:
            end += 1
        if at(keys, end) in _MONTHS:
            month, end = _MONTHS[keys[end]], end + 1
        elif at(keys, start - 1) in _MONTHS and (start - 1) not in self.taken:
            month, start = _MONTHS[keys[start - 1]], start - 1
        if month is not None and at(keys, end).isdigit() and 1900 <= int(keys[end]) <= 2100:
            year, end = int(keys[end]), end + 1
        if month is not None:
            self.add(start, end, _month_day(self.today, month, day, year, past=self.past))
            return
        next_month = _next_month_near(keys, start, end)
        if next_month is not None:
            resolved = _day_of_month(self.today, day, past=False, months_ahead=1)
            _take(self.taken, *next_month)
            self.add(start, end, resolved)
            return
        self.add(start, end, _day_of_month(self.today, day, past=self.past))

    def numbers(self, numbers: Sequence[SpokenNumber], *, bare_day: bool) -> None:
        keys = self.keys
        for number in numbers:
            start, end = number.start, number.end
            whole = number.whole
            if not free(self.taken, start, end) or whole is None or number.scaled:
                continue
            following = at(keys, end)
            if following in _MORE and at(keys, end + 1) in _DAY_UNITS | _WEEK_UNITS:
                end, following = end + 1, keys[end + 1]  # "2 more days", "do aur din"
            if following == _SLASH and at(keys, end + 1).isdigit():
                self.slashed(number, whole)
            elif following in _ORDINALS and whole in (20, 30) and _ORDINALS[following] < 10:
                self.day_of_month(start, end + 1, whole + _ORDINALS[following])
            elif following in _ORDINAL_SUFFIXES or following in _DATE_WORDS:
                self.day_of_month(start, end + 1, whole)
            elif self.month_next_to(start, end) and whole <= 31:
                self.day_of_month(start, end, whole)
            elif following in _DAY_UNITS or following in _WEEK_UNITS or following in _MONTH_UNITS:
                self.offset(start, end + 1, whole, following)
            elif whole <= 31 and not number.ambiguous and following not in _NOT_A_DAY_AFTER:
                before = at(keys, start - 1)
                on = before in _ON or (before == _THE and at(keys, start - 2) in _ON)
                if on or following in _ON or bare_day:
                    self.day_of_month(start, end, whole)

    def month_next_to(self, start: int, end: int) -> bool:
        keys, following = self.keys, at(self.keys, end)
        of_month = following == _OF and at(keys, end + 1) in _MONTHS
        return following in _MONTHS or of_month or at(keys, start - 1) in _MONTHS

    def slashed(self, number: SpokenNumber, day: int) -> None:
        """ "5/3", "5/3/2026" (day first, as in India), "2026/3/5" (year first)."""
        keys, end = self.keys, number.end + 2
        month, year = int(keys[number.end + 1]), None
        if at(keys, end) == _SLASH and at(keys, end + 1).isdigit():
            year, end = int(keys[end + 1]), end + 2
            if day > 31:
                day, year = year, day
            year += 2000 if year < 100 else 0
        self.add(number.start, end, _month_day(self.today, month, day, year, past=self.past))

    def offset(self, start: int, end: int, count: int, unit: str) -> None:
        """ "3 din baad", "in 3 days", "2 weeks from now", "2 din pehle": today plus or minus."""
        after = at(self.keys, end)
        ago = after in _AGO and (self.past or after not in _PEHLE)
        sign = -1 if ago else 1
        if unit in _MONTH_UNITS:
            day = add_months(self.today, sign * count)
        else:
            day = self.today + timedelta(days=sign * count * (7 if unit in _WEEK_UNITS else 1))
        if after == _FROM and at(self.keys, end + 1) in _TODAY_WORDS:
            end += 2
        elif ago or after in _AFTER or after in _WITHIN or after in _LATER:
            end += 1
        self.add(start, end, day, relation=Relation.AT)

    def words(self) -> None:
        """Ordinal words ("on the fifth", "pehli tareekh") and "a week" / "ek hafte"."""
        keys = self.keys
        for i, token in enumerate(keys):
            if i in self.taken:
                continue
            if token in _ORDINALS and at(keys, i + 1) not in _WEEK_UNITS:
                end = i + 2 if at(keys, i + 1) in _DATE_WORDS else i + 1
                self.day_of_month(i, end, _ORDINALS[token])
            elif token in _ARTICLE and (
                at(keys, i + 1) in _DAY_UNITS or at(keys, i + 1) in _WEEK_UNITS
            ):
                self.offset(i, i + 2, 1, keys[i + 1])

    def phrases(self) -> None:
        today, month_end = self.today, monthrange(self.today.year, self.today.month)[1]
        for start, end in _END_OF_MONTH.spans(self.heard):
            if free(self.taken, start, end):
                ahead = any(k in _NEXT for k in self.keys[start:end])
                last = add_months(today.replace(day=month_end), 1) if ahead else None
                self.add(start, end, last or today.replace(day=month_end))
        monday = today - timedelta(days=today.weekday())
        for phrases, day in (
            (_NEXT_WEEK, monday + timedelta(days=7)),
            (_LAST_WEEK, monday - timedelta(days=7)),
        ):
            for start, end in phrases.spans(self.heard):
                if free(self.taken, start, end):
                    self.add(start, end, day)
        for start, end in _VAGUE.spans(self.heard):
            if free(self.taken, start, end):
                self.add(start, end, None)
        for phrases, days, past_days in _RELATIVE_DAYS:
            for start, end in phrases.spans(self.heard):
                if free(self.taken, start, end) and not (days == 0 and self.from_(start)):
                    self.add(start, end, today + timedelta(days=past_days if self.past else days))
        for start, end in _NOW.spans(self.heard):
            if free(self.taken, start, end) and not self.from_(start):
                self.add(start, end, today, now=True)

    def from_(self, start: int) -> bool:
        """ "from today", "from now": where a count starts, not the day meant."""
        return at(self.keys, start - 1) == _FROM

    def weekdays(self) -> None:
        keys = self.keys
        for i, token in enumerate(keys):
            weekday = _WEEKDAYS.get(token)
            if weekday is None or i in self.taken:
                continue
            before, start, modifier = at(keys, i - 1), i, ""
            for words, name in ((_NEXT, "next"), (_THIS, "this"), (_LAST, "last")):
                if before in words and (i - 1) not in self.taken:
                    modifier, start = name, i - 1
            day = _weekday(self.today, weekday, modifier, past=self.past)
            self.add(start, i + 1, day, weekday=weekday)


def find_dates(
    heard: Heard,
    numbers: Sequence[SpokenNumber],
    taken: set[int],
    *,
    today: date,
    past: bool,
    bare_day: bool,
) -> list[DateMention]:
    """Dates, in the order said. `past`: the utterance is about something done ("I paid kal").
    `bare_day`: a lone number up to 31 is a day of the month (the agent asked for a date)."""
    reader = _DateReader(heard, taken, today, past=past)
    reader.numbers(numbers, bare_day=bare_day)
    reader.words()
    reader.phrases()
    reader.weekdays()
    return sorted(reader.found, key=lambda m: m.start)
