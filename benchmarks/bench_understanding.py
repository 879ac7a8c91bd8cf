"""Understanding benchmark: every utterance of the test table through `understand()`.

Reports utterances per second and the latency of one call (median, p99, max) after a warm-up
pass (dateparser loads its language data on first use). Rule-only utterances and those that fall
back to dateparser are reported apart: the webhook budget is the rule-only figure, and the
fallback is meant to be rare. Goal (issue): typically well under 2 ms per utterance.
"""

from __future__ import annotations

import argparse
import statistics
import time

from tests.agent.understanding_cases import CASES, hear


def _row(label: str, nanoseconds: list[int]) -> str:
    ordered = sorted(nanoseconds)
    seconds = sum(ordered) / 1e9
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"| {label} | {len(ordered):,} | {seconds:.2f} | {len(ordered) / seconds:,.0f} "
        f"| {statistics.median(ordered) / 1e6:.3f} | {p99 / 1e6:.3f} | {ordered[-1] / 1e6:.3f} |"
    )


def run(rounds: int) -> list[str]:
    fallback = {c for c in CASES if any("dateparser" in e for e in hear(c).evidence)}
    rules: list[int] = []
    parsed: list[int] = []
    for _ in range(rounds):
        for case in CASES:
            started = time.perf_counter_ns()
            hear(case)
            elapsed = time.perf_counter_ns() - started
            (parsed if case in fallback else rules).append(elapsed)
    lines = [
        f"`understand()` over the {len(CASES)} utterances of the test table, {rounds} rounds, "
        "one process, after a warm-up pass:",
        "",
        "| utterances | calls | seconds | utterances/s | median ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
        _row("all", rules + parsed),
        _row("rules only", rules),
    ]
    if parsed:
        lines.append(_row(f"dateparser fallback ({len(fallback)} of the table)", parsed))
    return lines


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args(argv)
    return run(args.rounds)
