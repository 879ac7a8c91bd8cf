"""Outliers among agents: a two-proportion z-test of each agent against its pooled peers.

For every agent and rate (say RNR = RNR calls / attempts) the agent's share is compared with
the pooled share of all the other agents together. Under the null hypothesis that the agent
draws from the same rate as its peers, z = (p_agent − p_peers) / sqrt(p(1 − p)(1/n + 1/N)),
p the share of everyone pooled, is standard normal; the two-sided p-value is erfc(|z| / √2).
An agent is flagged when that p-value is below the family-wise level divided by the number of
tests run (Bonferroni over all agents and rates), so with 40 agents × 4 rates an honest agent
is flagged by chance with probability about level/160. A test runs only when the normal
approximation holds: at least `min_sample` trials for the agent and for its peers, and at least
5 expected successes and 5 expected failures for the agent at the pooled rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

FAMILY_LEVEL = 0.05
MIN_SAMPLE = 30
MIN_EXPECTED = 5


@dataclass(frozen=True, slots=True)
class Proportion:
    successes: int
    trials: int

    @property
    def share(self) -> float | None:
        return self.successes / self.trials if self.trials else None


@dataclass(frozen=True, slots=True)
class Outlier:
    rate: str
    share: float
    peers: float
    trials: int
    z: float
    p_value: float
    threshold: float

    @property
    def reason(self) -> str:
        direction = "above" if self.share > self.peers else "below"
        return (
            f"{self.rate} rate {self.share:.1%} is {direction} peers' {self.peers:.1%} "
            f"(n={self.trials}, z={self.z:+.1f}, p={self.p_value:.1e} < {self.threshold:.1e})"
        )


def two_proportion_z(agent: Proportion, peers: Proportion) -> tuple[float, float]:
    """z and the two-sided p-value of agent's share against peers' (pooled standard error)."""
    pooled = (agent.successes + peers.successes) / (agent.trials + peers.trials)
    variance = pooled * (1 - pooled) * (1 / agent.trials + 1 / peers.trials)
    if variance == 0:
        return 0.0, 1.0
    z = (agent.successes / agent.trials - peers.successes / peers.trials) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))


def enough_sample(agent: Proportion, peers: Proportion, *, min_sample: int = MIN_SAMPLE) -> bool:
    if agent.trials < min_sample or peers.trials < min_sample:
        return False
    pooled = (agent.successes + peers.successes) / (agent.trials + peers.trials)
    expected = agent.trials * pooled, agent.trials * (1 - pooled)
    return min(expected) >= MIN_EXPECTED


def find_outliers(
    counts: Mapping[str, Mapping[str, Proportion]],
    *,
    level: float = FAMILY_LEVEL,
    min_sample: int = MIN_SAMPLE,
) -> dict[str, list[Outlier]]:
    """Agents whose rate differs from their pooled peers' beyond chance, with every such rate.

    `counts` maps agent → rate name → successes and trials. Every agent is in the answer,
    with an empty list when nothing is flagged.
    """
    totals: dict[str, Proportion] = {}
    for rates in counts.values():
        for name, p in rates.items():
            t = totals.get(name, Proportion(0, 0))
            totals[name] = Proportion(t.successes + p.successes, t.trials + p.trials)
    tests: list[tuple[str, str, Proportion, Proportion, float, float]] = []
    for agent, rates in counts.items():
        for name, p in rates.items():
            total = totals[name]
            peers = Proportion(total.successes - p.successes, total.trials - p.trials)
            if enough_sample(p, peers, min_sample=min_sample):
                z, p_value = two_proportion_z(p, peers)
                tests.append((agent, name, p, peers, z, p_value))
    threshold = level / len(tests) if tests else 0.0
    found: dict[str, list[Outlier]] = {agent: [] for agent in counts}
    for agent, name, p, peers, z, p_value in tests:
        if p_value < threshold:
            assert p.share is not None and peers.share is not None
            found[agent].append(
                Outlier(name, p.share, peers.share, p.trials, z, p_value, threshold)
            )
    return found
