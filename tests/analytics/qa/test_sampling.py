"""The QA sample: rate, minimum per agent, stratification, outliers, flags, complaints, seed."""

from __future__ import annotations

from collections import Counter

import pytest

from analytics.qa.sampling import (
    Reason,
    RecordedCall,
    SamplingPlan,
    allocate,
    base_size,
    draw_sample,
)
from duecall.errors import InvalidInput


def calls(agent: str, **by_disposition: int) -> list[RecordedCall]:
    return [
        RecordedCall(f"{agent}-{code}-{i:04d}", agent, code)
        for code, n in by_disposition.items()
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("n", "rate", "minimum", "expected"),
    [(100, 0.05, 3, 5), (100, 0.05, 10, 10), (2, 0.05, 3, 2), (0, 0.5, 3, 0), (101, 0.05, 0, 6),
     (40, 0.0, 3, 3), (40, 1.0, 3, 40)],
)  # fmt: skip
def test_base_size_is_the_rate_with_a_minimum_per_agent(
    n: int, rate: float, minimum: int, expected: int
) -> None:
    assert base_size(n, SamplingPlan(rate=rate, minimum=minimum)) == expected


@pytest.mark.parametrize(
    ("counts", "total", "expected"),
    [
        ({"PTP": 50, "RNR": 30, "REFUSED": 20}, 10, {"PTP": 5, "RNR": 3, "REFUSED": 2}),
        ({"PTP": 1, "RNR": 1, "REFUSED": 1}, 2, {"PTP": 1, "REFUSED": 1, "RNR": 0}),
        ({"PTP": 5, "RNR": 95}, 3, {"PTP": 0, "RNR": 3}),
        ({"PTP": 2}, 5, {"PTP": 2}),
        ({"PTP": 0, "RNR": 0}, 4, {"PTP": 0, "RNR": 0}),
        ({"A": 7, "B": 2, "C": 1}, 5, {"A": 4, "B": 1, "C": 0}),
    ],
)
def test_allocate_shares_in_proportion(
    counts: dict[str, int], total: int, expected: dict[str, int]
) -> None:
    assert allocate(counts, total) == expected


def test_the_sample_has_the_rate_per_agent_stratified_by_disposition() -> None:
    population = calls("tc1", PTP=200, RNR=600, REFUSED=200) + calls("tc2", PTP=10)
    draws = draw_sample(population, SamplingPlan(rate=0.05, minimum=3, seed=1))
    by_agent = Counter(d.agent_id for d in draws)
    assert by_agent == {"tc1": 50, "tc2": 3}
    mix = Counter(d.disposition for d in draws if d.agent_id == "tc1")
    assert mix == {"RNR": 30, "PTP": 10, "REFUSED": 10}
    assert {d.reason for d in draws} == {Reason.BASE}


def test_the_minimum_per_agent_applies_to_small_agents() -> None:
    population = calls("big", PTP=100) + calls("small", PTP=4) + calls("tiny", RNR=2)
    draws = draw_sample(population, SamplingPlan(rate=0.01, minimum=3))
    assert Counter(d.agent_id for d in draws) == {"big": 3, "small": 3, "tiny": 2}


def test_outlier_agents_get_extra_draws_on_top_of_their_base_sample() -> None:
    population = calls("tc1", PTP=50, RNR=50) + calls("tc2", PTP=50, RNR=50)
    plan = SamplingPlan(rate=0.1, minimum=0, outlier_factor=1.0, seed=3)
    plain = draw_sample(population, plan)
    draws = draw_sample(population, plan, outliers={"tc2"})
    counts = Counter((d.agent_id, d.reason) for d in draws)
    assert counts == {
        ("tc1", Reason.BASE): 10,
        ("tc2", Reason.BASE): 10,
        ("tc2", Reason.OUTLIER): 10,
    }
    # Oversampling only adds: the base draw is unchanged.
    assert {d.call_id for d in plain} <= {d.call_id for d in draws}
    assert Counter(d.disposition for d in draws if d.agent_id == "tc2") == {"PTP": 10, "RNR": 10}


def test_every_flagged_and_complaint_call_is_drawn() -> None:
    population = calls("tc1", PTP=100)
    flagged = {"tc1-PTP-0007", "tc1-PTP-0042"}
    draws = draw_sample(
        population, SamplingPlan(rate=0.0, minimum=0), flagged=flagged, complaints={"tc1-PTP-0042"}
    )
    assert {(d.call_id, d.reason) for d in draws} == {
        ("tc1-PTP-0007", Reason.FLAGGED),
        ("tc1-PTP-0042", Reason.COMPLAINT),
    }


def test_the_same_seed_gives_the_same_sample_whatever_the_input_order() -> None:
    population = calls("tc1", PTP=300, RNR=300) + calls("tc2", PTP=100)
    plan = SamplingPlan(rate=0.05, minimum=3, seed=42)
    first = draw_sample(population, plan)
    again = draw_sample(list(reversed(population)), plan)
    assert first == again
    other = draw_sample(population, SamplingPlan(rate=0.05, minimum=3, seed=43))
    assert {d.call_id for d in other} != {d.call_id for d in first}
    assert len(other) == len(first)


def test_adding_an_agent_does_not_change_another_agents_draw() -> None:
    plan = SamplingPlan(rate=0.1, minimum=3, seed=5)
    alone = draw_sample(calls("tc1", PTP=80), plan)
    together = draw_sample(calls("tc1", PTP=80) + calls("tc9", RNR=40), plan)
    assert [d for d in together if d.agent_id == "tc1"] == alone


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"rate": 1.5}, "rate"), ({"rate": -0.1}, "rate"), ({"minimum": -1}, "minimum"),
     ({"outlier_factor": -1}, "outlier_factor")],
)  # fmt: skip
def test_a_bad_plan_names_the_field(fields: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        SamplingPlan(**fields)  # type: ignore[arg-type]
