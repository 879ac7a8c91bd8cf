"""The outlier test and report periods: pure functions, table-tested."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from analytics.periods import Period, utc_span
from analytics.stats import Proportion, enough_sample, find_outliers, two_proportion_z
from duecall.errors import InvalidInput


@pytest.mark.parametrize(
    ("agent", "peers", "z", "p"),
    [
        (Proportion(50, 100), Proportion(500, 1000), 0.0, 1.0),
        (Proportion(60, 100), Proportion(400, 1000), 3.87, 1.1e-4),
        (Proportion(20, 100), Proportion(400, 1000), -3.93, 8.7e-5),
        (Proportion(0, 100), Proportion(0, 1000), 0.0, 1.0),  # no variance: nothing to test
    ],
)
def test_two_proportion_z(agent: Proportion, peers: Proportion, z: float, p: float) -> None:
    got_z, got_p = two_proportion_z(agent, peers)
    assert got_z == pytest.approx(z, abs=0.01)
    assert got_p == pytest.approx(p, rel=0.05, abs=1e-6)


@pytest.mark.parametrize(
    ("agent", "peers", "expected"),
    [
        (Proportion(10, 29), Proportion(300, 1000), False),  # too few trials
        (Proportion(10, 30), Proportion(300, 1000), True),
        (Proportion(1, 40), Proportion(20, 1000), False),  # fewer than 5 expected successes
        (Proportion(30, 30), Proportion(990, 1000), False),  # fewer than 5 expected failures
        (Proportion(10, 100), Proportion(5, 29), False),  # too few peer trials
    ],
)
def test_a_test_runs_only_with_enough_sample(
    agent: Proportion, peers: Proportion, expected: bool
) -> None:
    assert enough_sample(agent, peers) is expected


def test_outliers_are_flagged_against_pooled_peers_with_bonferroni() -> None:
    counts = {f"A{n}": {"rnr": Proportion(100, 300)} for n in range(20)}
    counts["HIGH"] = {"rnr": Proportion(180, 300)}
    counts["SMALL"] = {"rnr": Proportion(20, 20)}  # extreme, but below the minimum sample
    counts["EDGE"] = {"rnr": Proportion(125, 300)}  # p ≈ 0.006: above 0.05 / 22 tests run
    found = find_outliers(counts)
    assert [o.reason for o in found["HIGH"]] == [
        "rnr rate 60.0% is above peers' 33.9% (n=300, z=+9.2, p=2.5e-20 < 2.3e-03)"
    ]
    assert found["SMALL"] == [] and found["EDGE"] == []
    assert sum(bool(v) for v in found.values()) == 1


@pytest.mark.parametrize(
    ("zone", "start", "end", "whole", "edges"),
    [
        # IST: local days start at 18:30 UTC the day before.
        ("Asia/Kolkata", date(2026, 3, 1), date(2026, 3, 3),
         (date(2026, 3, 1), date(2026, 3, 3)),
         [(datetime(2026, 2, 28, 18, 30, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
          (datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 3, 18, 30, tzinfo=UTC))]),
        # One IST day holds no whole UTC day: all of it is edge.
        ("Asia/Kolkata", date(2026, 3, 1), date(2026, 3, 1),
         (date(2026, 3, 1), date(2026, 3, 1)),
         [(datetime(2026, 2, 28, 18, 30, tzinfo=UTC), datetime(2026, 3, 1, 18, 30, tzinfo=UTC))]),
        ("UTC", date(2026, 3, 1), date(2026, 3, 2), (date(2026, 3, 1), date(2026, 3, 3)), []),
        # New York across the DST change (8 March 2026): midnight at 05:00 then 04:00 UTC.
        ("America/New_York", date(2026, 3, 7), date(2026, 3, 8),
         (date(2026, 3, 8), date(2026, 3, 9)),
         [(datetime(2026, 3, 7, 5, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC)),
          (datetime(2026, 3, 9, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC))]),
    ],
)  # fmt: skip
def test_periods_split_into_whole_utc_days_and_edges(
    zone: str,
    start: date,
    end: date,
    whole: tuple[date, date],
    edges: list[tuple[datetime, datetime]],
) -> None:
    span = utc_span(Period(start, end), ZoneInfo(zone))
    assert (span.first_whole_day, span.end_whole_day) == whole
    assert span.edges == edges


def test_a_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"to: 2026-03-01 is before from \(2026-03-02\)"):
        Period(date(2026, 3, 2), date(2026, 3, 1))
