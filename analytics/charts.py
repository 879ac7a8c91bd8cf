"""Chart geometry for the dashboard, as plain data the template draws as inline SVG."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analytics.agents import DISPOSITION_CODES

# One colour per disposition, contacts in warm colours, non-contacts in greys and blues.
PALETTE = (
    "#2e7d32", "#66bb6a", "#c62828", "#8e24aa", "#f9a825", "#ef6c00", "#6d4c41", "#d81b60",
    "#ad1457", "#4e342e", "#90a4ae", "#607d8b", "#78909c", "#5c6bc0", "#b0bec5", "#37474f",
)  # fmt: skip
COLOURS = dict(zip(DISPOSITION_CODES, PALETTE, strict=True))
CURVE_COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037")


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    colour: str
    label: str


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    outlier: bool
    reasons: str
    segments: list[Segment]


def disposition_bars(
    agents: list[dict[str, Any]], *, width: float = 600, height: float = 18
) -> list[Bar]:
    """Each agent's disposition mix as a 100 % stacked bar; outliers keep their reasons."""
    bars = []
    for index, agent in enumerate(agents):
        total = sum(agent["dispositions"].values())
        x, segments = 0.0, []
        for code in DISPOSITION_CODES:
            n = agent["dispositions"].get(code, 0)
            if not n:
                continue
            w = width * n / total
            segments.append(Segment(round(x, 2), round(w, 2), COLOURS[code], f"{code} {n}"))
            x += w
        bars.append(
            Bar(agent["agent_id"], index * (height + 4), agent["outlier"],
                "; ".join(agent["outlier_reasons"]), segments)
        )  # fmt: skip
    return bars


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    share: float
    text: str


def heat_map(answer: dict[str, Any], *, size: float = 64) -> tuple[list[str], list[Cell]]:
    """Roll-rate cells: row = from bucket, column = to bucket, darker for a larger share."""
    rows = list(answer["matrix"])
    columns = list(next(iter(answer["matrix"].values()))) if rows else []
    cells = [
        Cell(c * size, r * size, share, f"{share:.0%}")
        for r, source in enumerate(rows)
        for c, share in enumerate(answer["matrix"][source][t] for t in columns)
    ]
    return rows, cells


@dataclass(frozen=True)
class Curve:
    label: str
    colour: str
    points: str  # SVG polyline points


def cohort_curves(
    answer: dict[str, Any], *, width: float = 600, height: float = 240, last: int = 6
) -> tuple[list[Curve], float]:
    """The latest `last` cohorts' recovery curves, scaled to the highest rate shown."""
    shown = answer["cohorts"][-last:]
    top = max((p["recovery_rate"] or 0 for c in shown for p in c["points"]), default=0.0) or 1.0
    curves = []
    for index, cohort in enumerate(shown):
        points = " ".join(
            f"{width * p['days'] / 720:.1f},{height - height * (p['recovery_rate'] or 0) / top:.1f}"
            for p in cohort["points"]
        )
        curves.append(Curve(cohort["cohort"], CURVE_COLOURS[index % len(CURVE_COLOURS)], points))
    return curves, top
