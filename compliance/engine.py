"""The decision: may `case.phone` be called at `case.at`, every rule that blocks, and from when.

Pure: no I/O, no clock. Each rule, given an instant at which it blocks, also says the earliest
instant at which it could stop blocking (its release), or that it never will. No call is allowed
before a blocking rule's release, so `next_allowed_at` jumps to the latest release of the rules
blocking now and evaluates again: exact without stepping through time. A rule that lifts at the
start of a local day releases at that day's earliest window opening instead, since no call is
allowed between midnight and then either. Attempts after the instant decided on do not count
for it; the search counts each from its own instant on, as a later decision would.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from operator import gt, itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from compliance.facts import WEEKDAYS, Case, Preference
from compliance.policy import Policy, Window
from compliance.zones import local_instant, phone_zones, start_of_day, valid_phone_zones, zone
from crm.dispositions import RPC_CODES
from duecall.logs import mask_phone

# SPEC's rule names, in the order reasons are listed.
RULES = (
    "window",
    "daily_attempts",
    "daily_conversations",
    "min_gap",
    "weekly_attempts",
    "post_conversation",
    "promise_pending",
    "hold",
    "flag",
    "wrong_number",
    "preference",
)
# How far ahead next_allowed_at is searched; beyond it the answer is null.
SEARCH_HORIZON = timedelta(days=730)
_MAX_STEPS = 5000
_ONE_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    detail: str


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reasons: tuple[Reason, ...]
    next_allowed_at: datetime | None  # `at` itself when allowed; none when it never can be
    at: datetime
    zones: tuple[str, ...]
    callback: bool  # the call is the callback the borrower asked for
    policy: str
    policy_version: str

    def as_json(self) -> dict[str, Any]:
        """SPEC's output: allowed, reasons, next_allowed_at (local to the first zone)."""
        local = zone(self.zones[0])
        return {
            "allowed": self.allowed,
            "reasons": [{"rule": r.rule, "detail": r.detail} for r in self.reasons],
            "next_allowed_at": (
                self.next_allowed_at.astimezone(local).isoformat()
                if self.next_allowed_at is not None
                else None
            ),
            "policy": {"name": self.policy, "version": self.policy_version},
            "zones": list(self.zones),
        }

    def receipt(self, phone: str) -> dict[str, Any]:
        """What an auditor needs to see why a call went ahead (stored on the call)."""
        return {
            "policy": self.policy,
            "policy_version": self.policy_version,
            "decided_at": self.at.astimezone(UTC).isoformat(),
            "phone": mask_phone(phone),
            "zones": list(self.zones),
            "local_times": {z: self.at.astimezone(zone(z)).isoformat() for z in self.zones},
            "callback": self.callback,
            "rules_evaluated": list(RULES),
            "allowed": self.allowed,
            "reasons": [{"rule": r.rule, "detail": r.detail} for r in self.reasons],
        }


def decide(case: Case, policy: Policy) -> Decision:
    """Decide on `case` under `policy`."""
    context = _Context(case, policy)
    blocks = context.evaluate(case.at, explain=True)
    return Decision(
        allowed=not blocks,
        reasons=tuple([Reason(b.rule, b.detail) for b in blocks]),
        next_allowed_at=context.search(case.at, blocks) if blocks else case.at,
        at=case.at,
        zones=context.zone_names,
        callback=context.is_callback(case.at),
        policy=policy.name,
        policy_version=policy.version,
    )


def candidate_zones(case: Case, policy: Policy) -> tuple[str, ...]:
    """The account's zone if known, else every zone of the phone, else the policy's fallback."""
    if case.account.timezone:
        return (case.account.timezone,)
    found = (
        valid_phone_zones(case.phone)
        if case.account.phones_known_valid
        else phone_zones(case.phone)
    )
    return found or policy.fallback_zones


@dataclass(slots=True)  # not frozen: built several times per decision, and never shared
class _Block:
    rule: str
    detail: str  # empty when the evaluation was not asked to explain
    release: datetime | None  # no call is allowed before it; none: never


class _Context:
    """One case, prepared once: zones, history sorted by instant, applicable preferences."""

    def __init__(self, case: Case, policy: Policy) -> None:
        self.policy = policy
        self.zone_names = candidate_zones(case, policy)
        self.zones = _zones(self.zone_names)
        # Local days for caps, promises and holds are those of the first zone.
        self.reference_name = self.zone_names[0]
        self.reference = self.zones[0]
        self.overdue = case.account.dpd is None or case.account.dpd >= 1
        usual = policy.window(overdue=self.overdue, callback=False)
        asked = policy.window(overdue=self.overdue, callback=True)
        self.windows = (usual, asked)
        # Every window starts and ends on one local day, so none is open before this.
        self.opening = min(usual.start, asked.start)
        self.account = case.account
        self.phone = case.phone
        history = case.history
        # UTC instants, compared with each other and with `t` in C. The history is ordered by
        # them: aware datetimes of one zone compare by wall clock, out of order in a DST overlap.
        times = [a.at if a.at.tzinfo is UTC else a.at.astimezone(UTC) for a in history]
        if len(times) > 1 and any(map(gt, times, islice(times, 1, None))):
            reorder = itemgetter(*sorted(range(len(times)), key=times.__getitem__))
            history = reorder(history)
            times = list(reorder(times))
        self.history = history
        self.times = times
        # Local dates are computed for the few attempts a rule looks at, not for all of them.
        codes = {a.disposition for a in history}
        self.conversations = (
            [i for i, a in enumerate(history) if a.disposition in RPC_CODES]
            if policy.post_conversation_days and not RPC_CODES.isdisjoint(codes)
            else []
        )
        self.promises = (
            [i for i, a in enumerate(history) if a.disposition == "PTP" and a.ptp_date]
            if "PTP" in codes
            else []
        )
        self.wrong_number_at = (
            next(
                (
                    a.at
                    for a in history
                    if a.disposition == "WRONG_NUMBER" and a.phone == case.phone
                ),
                None,
            )
            if "WRONG_NUMBER" in codes
            else None
        )
        preferences = case.account.preferences
        self.preferences = (
            [p for p in preferences if p.phone is None or p.phone == case.phone]
            if preferences
            else []
        )
        flags = case.account.flags
        self.blocking_flags = sorted(flags & policy.blocking_flags) if flags else []

    def _day(self, i: int) -> date:
        """The local date (in the reference zone) of attempt i."""
        return self.times[i].astimezone(self.reference).date()

    # -- callbacks --

    def is_callback(self, t: datetime) -> bool:
        k = bisect_right(self.times, t)
        requested = self.history[k - 1].callback_at if k else None
        return requested is not None and abs(t - requested) <= self.policy.callback_tolerance

    # -- evaluation --

    def evaluate(self, t: datetime, *, explain: bool) -> list[_Block]:
        """The rules blocking at `t`, in the order of RULES; details only if `explain`.

        Without `explain` (a search), it stops at the window when that blocks: any blocking
        rule's release is a bound below which nothing is allowed, and the window's is the
        cheapest to find.
        """
        if t.tzinfo is not UTC:  # compared with the attempts' UTC instants many times below
            t = t.astimezone(UTC)
        policy, blocks = self.policy, []
        k = bisect_right(self.times, t)  # attempts at or before t
        # Only the latest attempt's requested callback counts.
        requested = self.history[k - 1].callback_at if k else None
        tolerance = policy.callback_tolerance
        callback = requested is not None and abs(t - requested) <= tolerance
        # Before a requested callback's tolerance opens, that opening may lift exempt rules.
        opens = (
            requested - tolerance if requested is not None and requested - tolerance > t else None
        )
        closes = requested + tolerance + _TICK if callback and requested is not None else None

        window_block = self._window(t, callback, opens, closes, explain)
        if window_block is not None:
            if not explain:
                return [window_block]
            blocks.append(window_block)

        exempt = policy.callback_exempt if callback else frozenset()
        where = self.reference_name
        today, today_start, first_day, tomorrow = _local_days(
            t, where, policy.weekly_days, self.opening
        )
        # Attempts are sorted by instant, so today's are those from the start of the local day.
        same_day = bisect_left(self.times, today_start, 0, k)
        attempts_today = k - same_day
        capped = policy.daily_attempts and "daily_attempts" not in exempt
        if capped and attempts_today >= policy.daily_attempts:
            blocks.append(
                _Block(
                    "daily_attempts",
                    f"{attempts_today} attempts already on {today} "
                    f"(at most {policy.daily_attempts} a day)"
                    if explain
                    else "",
                    _earliest(tomorrow, opens),
                )
            )
        if attempts_today and policy.daily_conversations and "daily_conversations" not in exempt:
            talks = sum(1 for i in range(same_day, k) if self.history[i].disposition in RPC_CODES)
            if talks >= policy.daily_conversations:
                blocks.append(
                    _Block(
                        "daily_conversations",
                        f"already spoke with the borrower on {today}; no further call that day "
                        "except the callback they asked for"
                        if explain
                        else "",
                        _earliest(tomorrow, opens),
                    )
                )
        if policy.min_gap and k and "min_gap" not in exempt:
            last = self.times[k - 1]
            if t - last < policy.min_gap:
                minutes = int(policy.min_gap.total_seconds() // 60)
                blocks.append(
                    _Block(
                        "min_gap",
                        f"last attempt at {last.astimezone(self.reference):%H:%M}; "
                        f"at least {minutes} minutes between attempts"
                        if explain
                        else "",
                        _earliest(last + policy.min_gap, opens),
                    )
                )
        if policy.rolling_attempts:
            low = bisect_right(self.times, t - policy.rolling_window, 0, k)
            count = k - low
            if count >= policy.rolling_attempts:
                hours = int(policy.rolling_window.total_seconds() // 3600)
                release = self.times[low + count - policy.rolling_attempts] + policy.rolling_window
                blocks.append(
                    _Block(
                        "weekly_attempts",
                        f"{count} attempts in the last {hours} hours "
                        f"(at most {policy.rolling_attempts})"
                        if explain
                        else "",
                        release,
                    )
                )
        if policy.weekly_attempts:
            span = policy.weekly_days
            low = bisect_left(self.times, first_day, 0, k)
            count = k - low
            if count >= policy.weekly_attempts:
                free_day = self._day(low + count - policy.weekly_attempts) + _ONE_DAY * span
                blocks.append(
                    _Block(
                        "weekly_attempts",
                        f"{count} attempts in the {span} days to {today} "
                        f"(at most {policy.weekly_attempts})"
                        if explain
                        else "",
                        _day_opening(free_day, where, self.opening),
                    )
                )
        if self.conversations:
            talked = bisect_right(self.conversations, k - 1)
            if talked:
                day = self._day(self.conversations[talked - 1])
                free_day = day + _ONE_DAY * policy.post_conversation_days
                if today < free_day:
                    blocks.append(
                        _Block(
                            "post_conversation",
                            f"spoke with the borrower on {day}; no call for "
                            f"{policy.post_conversation_days} days counting that day"
                            if explain
                            else "",
                            _day_opening(free_day, where, self.opening),
                        )
                    )
        if self.promises:
            promised = bisect_right(self.promises, k - 1)
            if promised:
                promise_date = self.history[self.promises[promised - 1]].ptp_date
                assert promise_date is not None
                if promise_date > today:
                    blocks.append(
                        _Block(
                            "promise_pending",
                            f"the borrower promised to pay by {promise_date}" if explain else "",
                            _day_opening(promise_date, where, self.opening),
                        )
                    )
        if self.account.holds:
            hold_block = self._holds(today, explain)
            if hold_block is not None:
                blocks.append(hold_block)
        if self.blocking_flags:
            blocks.append(
                _Block(
                    "flag",
                    f"the account is flagged {', '.join(self.blocking_flags)}" if explain else "",
                    None,
                )
            )
        if self.phone in self.account.wrong_numbers or (
            self.wrong_number_at is not None and self.wrong_number_at <= t
        ):
            blocks.append(
                _Block(
                    "wrong_number",
                    f"{mask_phone(self.phone)} was reported as not the borrower's number"
                    if explain
                    else "",
                    None,
                )
            )
        if self.preferences:
            preference_block = self._preferences(t, explain)
            if preference_block is not None:
                blocks.append(preference_block)
        return blocks

    def _window(
        self,
        t: datetime,
        callback: bool,
        opens: datetime | None,
        closes: datetime | None,
        explain: bool,
    ) -> _Block | None:
        window, policy = self.windows[callback], self.policy
        outside, release = _window_verdict(
            t, self.zone_names, window.start, window.end, policy.holidays, policy.name
        )
        if not outside:
            return None
        if explain:
            kind = "callback hours" if callback else "calling hours"
            accounts = "overdue" if self.overdue else "current"
            detail = f"{'; '.join(outside)} ({kind} for {accounts} accounts)"
        else:
            detail = ""
        return _Block("window", detail, _earliest(_earliest(release, opens), closes))

    def _holds(self, today: date, explain: bool) -> _Block | None:
        active = [h for h in self.account.holds if h.until is None or today <= h.until]
        if not active:
            return None
        details = (
            [f"{h.kind} hold" + (f" until {h.until}" if h.until else "") for h in active]
            if explain
            else []
        )
        ends = [h.until for h in active]
        release = (
            None
            if None in ends
            else _day_opening(
                max(e for e in ends if e) + _ONE_DAY, self.reference_name, self.opening
            )
        )
        return _Block("hold", "; ".join(details), release)

    def _preferences(self, t: datetime, explain: bool) -> _Block | None:
        details: list[str] = []
        releases: list[datetime] = []
        for preference in self.preferences:
            for where in self.zones:
                release = _avoided_until(preference, t.astimezone(where), where)
                if release is not None:
                    if explain:
                        details.append(_describe(preference))
                    releases.append(release)
                    break
        if not releases:
            return None
        return _Block("preference", "; ".join(details), max(releases))

    def search(self, at: datetime, blocks: list[_Block]) -> datetime | None:
        """The earliest instant after `at` at which no rule blocks, or none."""
        for _ in range(_MAX_STEPS):
            t = _latest_release(blocks)
            if t is None or t - at > SEARCH_HORIZON:
                return None
            blocks = self.evaluate(t, explain=False)
            if not blocks:
                return t
        return None


def _latest_release(blocks: list[_Block]) -> datetime | None:
    """The latest release of `blocks` (the first of equal ones, as max), none if one never ends."""
    latest: datetime | None = None
    for block in blocks:
        if block.release is None:
            return None
        if latest is None or block.release > latest:
            latest = block.release
    return latest


@lru_cache(maxsize=1024)
def _zones(names: tuple[str, ...]) -> tuple[ZoneInfo, ...]:
    return tuple(zone(z) for z in names)


@lru_cache(maxsize=8192)
def _local_days(
    t: datetime, where: str, span: int, opening: time
) -> tuple[date, datetime, datetime, datetime]:
    """The local date of `t` in `where`, the first instants of that day and of the `span` days
    to it, and the next day's `opening` (shared across cases)."""
    today = t.astimezone(zone(where)).date()
    return (
        today,
        _day_start(today, where),
        _day_start(today - timedelta(days=span - 1), where),
        _day_opening(today + _ONE_DAY, where, opening),
    )


@lru_cache(maxsize=8192)
def _day_opening(day: date, where: str, opening: time) -> datetime:
    """The first instant of the local `day` in the zone `where` at or after `opening` o'clock.

    Local to `where`, as a window's opening is; the day's first instant is in UTC, as
    `_day_start` gives it.
    """
    if opening == time(0):
        return _day_start(day, where)
    return local_instant(day, opening, zone(where))


@lru_cache(maxsize=8192)
def _day_start(day: date, where: str) -> datetime:
    """The first instant of the local `day` in the zone `where`, in UTC (shared across cases).

    In UTC, since attempts are compared with it, and aware datetimes of different zones
    compare through the zones' offsets, at a cost.
    """
    return start_of_day(day, zone(where)).astimezone(UTC)


@lru_cache(maxsize=8192)
def _window_verdict(
    t: datetime,
    zone_names: tuple[str, ...],
    start: time,
    end: time,
    holidays: frozenset[date],
    policy_name: str,
) -> tuple[tuple[str, ...], datetime | None]:
    """Why `t` is outside the window `start`–`end` in some of the zones, and when it is inside
    in all of them.

    Depends on nothing about the account, so every account screened at the same instant, and
    every search passing through the same instant, shares one computation. (The window comes
    as its two times, which hash faster than a Window.)
    """
    window = Window(start, end)
    outside: list[str] = []
    releases: list[datetime] = []
    for name in zone_names:
        where = zone(name)
        local = t.astimezone(where)
        day, wall = local.date(), local.time()
        if day in holidays:
            outside.append(f"{day} is a holiday under the {policy_name} policy")
        elif not window.start <= wall < window.end:
            outside.append(f"{wall:%H:%M} in {name} is outside {window}")
        else:
            continue
        releases.append(_next_window_start(local, window, holidays, where))
    return tuple(outside), (max(releases) if releases else None)


def _earliest(release: datetime | None, candidate: datetime | None) -> datetime | None:
    if release is None or candidate is None:
        return release
    return min(release, candidate)


def _next_window_start(
    local: datetime, window: Window, holidays: frozenset[date], where: ZoneInfo
) -> datetime:
    day = local.date()
    if day not in holidays and local.time() < window.start:
        return local_instant(day, window.start, where)
    day += _ONE_DAY
    while day in holidays:
        day += _ONE_DAY
    return local_instant(day, window.start, where)


def _avoided_until(preference: Preference, local: datetime, where: ZoneInfo) -> datetime | None:
    """When an avoid-preference stops covering `local`, or none if it does not cover it."""
    day, wall, weekday = local.date(), local.time(), local.weekday()
    days = preference.days

    def on(weekday_: int) -> bool:
        return not days or weekday_ in days

    start = preference.start or time(0)
    end = preference.end
    if end is None or end > start:
        if on(weekday) and wall >= start and (end is None or wall < end):
            return (
                local_instant(day, end, where)
                if end is not None
                else start_of_day(day + _ONE_DAY, where)
            )
        return None
    # The range runs past midnight: it started today, or it started yesterday.
    if on(weekday) and wall >= start:
        return local_instant(day + _ONE_DAY, end, where)
    if on((weekday - 1) % 7) and wall < end:
        return local_instant(day, end, where)
    return None


def _describe(preference: Preference) -> str:
    days = ", ".join(WEEKDAYS[d] for d in sorted(preference.days)) or "any day"
    if preference.start is None and preference.end is None:
        hours = "all day"
    else:
        start = f"{preference.start:%H:%M}" if preference.start else "00:00"
        end = f"{preference.end:%H:%M}" if preference.end else "24:00"
        hours = f"{start}–{end}"
    which = f"on {mask_phone(preference.phone)}" if preference.phone else "on any phone"
    return f"the borrower asked not to be called {which}, {days}, {hours}"
