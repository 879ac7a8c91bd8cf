"""A small calling day under load through real `duecall serve` processes and the simulator
(benchmarks/bench_load.py runs the full size): SQLite with one server, PostgreSQL with two
behind a round-robin proxy. No webhook fails, and every call Twilio had is in the CRM once,
with its final status, and every promise the borrower heard confirmed is stored."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from benchmarks.bench_load import METRICS_TOKEN, loaded_cluster, run_load
from tests.conftest import BACKENDS

LINES = 25


def webhooks_served(url: str) -> float:
    metrics = httpx.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
    ).text
    counts = re.findall(r"^duecall_webhook_duration_seconds_count\{.*\} (\S+)$", metrics, re.M)
    return sum(float(c) for c in counts)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_busy_calling_day_loses_nothing(backend: str, tmp_path: Path) -> None:
    replicas = 1 if backend == "sqlite" else 2
    with loaded_cluster(
        backend, tmp_path, accounts=100, concurrency=LINES, replicas=replicas, speed=20.0, seed=5
    ) as cluster:
        result = run_load(cluster, seconds=10.0)
        served = [webhooks_served(server.url) for server in cluster.servers]

    assert result.errors == []
    assert result.accounted.problems == []
    assert result.calls >= LINES
    assert result.peak_live > LINES // 2
    assert result.accounted.crm_calls == result.calls  # nothing claimed and left unplaced
    assert result.turns > result.calls
    # Both replicas answered webhooks (a call's webhooks land on either).
    assert all(n > 0 for n in served), served
