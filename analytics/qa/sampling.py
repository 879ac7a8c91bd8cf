"""Which recorded calls QA reviews: a reproducible, stratified sample per agent per period.

Per agent, `max(minimum, ceil(rate × calls))` calls (never more than the agent made), shared
among the agent's dispositions in proportion to their counts (largest remainders, ties to the
larger stratum, then the code), so every kind of outcome is reviewed in its share. Then extra
draws, each on top of the base sample:
- outlier agents (from analytics) get `outlier_factor` times their base size again;
- every call with an automatic flag (analytics.qa.flags);
- every call linked to a complaint.

Pure and deterministic: the same calls, parameters and seed give the same sample whatever the
order of the input; each stratum is shuffled by its own generator seeded with (seed, agent,
stratum), so adding an agent does not change another agent's draw.
"""

from __future__ import annotations

import enum
import math
import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from duecall.errors import InvalidInput


class Reason(enum.StrEnum):
    """Why a call is in the sample (the first that applies, in this order)."""

    COMPLAINT = "complaint"
    FLAGGED = "flagged"
    BASE = "base"
    OUTLIER = "outlier"


@dataclass(frozen=True, slots=True)
class RecordedCall:
    call_id: str
    agent_id: str
    disposition: str  # "" when none was recorded


@dataclass(frozen=True, slots=True)
class SamplingPlan:
    rate: float = 0.05
    minimum: int = 3  # per agent per period (or all the agent's calls, if fewer)
    outlier_factor: float = 1.0  # outliers: this many times their base sample again
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise InvalidInput("rate", "must be between 0 and 1")
        if self.minimum < 0:
            raise InvalidInput("minimum", "must not be negative")
        if self.outlier_factor < 0:
            raise InvalidInput("outlier_factor", "must not be negative")


@dataclass(frozen=True, slots=True)
class Draw:
    call_id: str
    agent_id: str
    disposition: str
    reason: Reason


def allocate(counts: dict[str, int], total: int) -> dict[str, int]:
    """`total` shared among strata in proportion to `counts` (largest remainders)."""
    size = sum(counts.values())
    total = min(total, size)
    if total <= 0:
        return dict.fromkeys(counts, 0)
    exact = {k: total * n / size for k, n in counts.items()}
    shares = {k: math.floor(v) for k, v in exact.items()}
    order = sorted(counts, key=lambda k: (-(exact[k] - shares[k]), -counts[k], k))
    for k in order[: total - sum(shares.values())]:
        shares[k] += 1
    return shares


def _shuffled(calls: Iterable[RecordedCall], *key: object) -> list[RecordedCall]:
    ordered = sorted(calls, key=lambda c: c.call_id)
    random.Random(":".join(map(str, key))).shuffle(ordered)
    return ordered


def base_size(calls: int, plan: SamplingPlan) -> int:
    return min(calls, max(plan.minimum, math.ceil(plan.rate * calls)))


def draw_sample(
    calls: Sequence[RecordedCall],
    plan: SamplingPlan,
    *,
    outliers: Collection[str] = (),
    flagged: Collection[str] = (),
    complaints: Collection[str] = (),
) -> list[Draw]:
    """The calls to review, ordered by agent then call_id."""
    by_agent: dict[str, list[RecordedCall]] = defaultdict(list)
    for call in calls:
        by_agent[call.agent_id].append(call)
    reasons: dict[str, Reason] = {}
    for agent_id, agent_calls in by_agent.items():
        strata: dict[str, list[RecordedCall]] = defaultdict(list)
        for call in agent_calls:
            strata[call.disposition].append(call)
        base = base_size(len(agent_calls), plan)
        extra = math.ceil(base * plan.outlier_factor) if agent_id in outliers else 0
        shares = allocate({k: len(v) for k, v in strata.items()}, base)
        # Outliers' extra calls come from what the base draw left, stratified the same way.
        extras = allocate({k: len(v) - shares[k] for k, v in strata.items()}, extra)
        for disposition, members in strata.items():
            ordered = _shuffled(members, plan.seed, agent_id, disposition)
            taken = shares[disposition]
            for call in ordered[:taken]:
                reasons[call.call_id] = Reason.BASE
            for call in ordered[taken : taken + extras[disposition]]:
                reasons[call.call_id] = Reason.OUTLIER
    for call in calls:
        if call.call_id in complaints:
            reasons[call.call_id] = Reason.COMPLAINT
        elif call.call_id in flagged:
            reasons[call.call_id] = Reason.FLAGGED
    return sorted(
        (
            Draw(c.call_id, c.agent_id, c.disposition, reasons[c.call_id])
            for c in calls
            if c.call_id in reasons
        ),
        key=lambda d: (d.agent_id, d.call_id),
    )
