"""The accelerated clock, seeded reproducibility, the control API and the runner."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dialer.simulator import SimulatorConfig, start_simulator
from dialer.simulator.clock import SimClock
from tests.dialer.simulator.conftest import Harness, new_number
from tests.dialer.simulator.test_borrowers import ENGLISH_SCRIPT, ScriptedAgent

PAUSE = "<Response><Pause length='60'/></Response>"


def test_sim_clock_divides_waits_and_multiplies_time() -> None:
    start = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
    clock = SimClock(200, start)

    async def wait() -> float:
        began = time.monotonic()
        await clock.sleep(40)  # 0.2 real seconds
        return time.monotonic() - began

    real = asyncio.run(wait())
    assert real >= 0.2
    assert clock.now() - start >= timedelta(seconds=40)
    assert clock.real_seconds(-5) == 0
    with pytest.raises(ValueError):
        SimClock(0)


def _timed_call(sim: Harness, speed: float) -> tuple[float, dict[str, Any]]:
    sim.reset(speed=speed)
    began = time.monotonic()
    view = sim.run(sim.register(new_number(), persona="payer"), PAUSE)
    return time.monotonic() - began, view


def test_speed_divides_every_real_wait(sim: Harness) -> None:
    slow, slow_view = _timed_call(sim, 60)  # a 60 s pause takes a real second
    fast, fast_view = _timed_call(sim, 3000)
    assert slow >= 1.0
    assert fast < slow / 2
    for view in (slow_view, fast_view):
        assert view["duration"] >= 60  # simulated seconds, whatever the speed
        started = datetime.fromisoformat(view["created_at"])
        ended = datetime.fromisoformat(view["end_time"])
        assert ended - started >= timedelta(seconds=60)


def _day(sim: Harness, seed: int, numbers: list[str]) -> list[tuple[Any, ...]]:
    """A few calls to unregistered numbers, one after the other, as the dialer would place them."""
    sim.reset(seed=seed)
    url = sim.webhooks.on(f"agent-{seed}", ScriptedAgent(ENGLISH_SCRIPT, "en-IN"))
    outcome = []
    for number in numbers:
        view = sim.wait(sim.place(number, url=url, machine_detection="Enable"))
        outcome.append(
            (
                view["sid"],
                view["persona"],
                view["status"],
                view["answered_by"],
                view["borrower"],
                [(t["speaker"], t["text"]) for t in view["transcript"]],
            )
        )
    return outcome


def test_the_same_seed_replays_the_same_day(sim: Harness) -> None:
    numbers = [new_number() for _ in range(8)]
    first = _day(sim, 7, numbers)
    assert first == _day(sim, 7, numbers)
    other = _day(sim, 8, numbers)
    assert [o[1:] for o in other] != [f[1:] for f in first]
    assert [o[0] for o in other] != [f[0] for f in first]


def test_control_api_validates_and_reports(sim: Harness) -> None:
    bad_number = sim.http.post("/_sim/directory", json=[{"number": "12345"}])
    assert bad_number.status_code == 422
    assert "number" in bad_number.text
    bad_persona = sim.http.post(
        "/_sim/directory", json=[{"number": new_number(), "persona": "saint"}]
    )
    assert bad_persona.status_code == 422
    assert sim.http.put("/_sim/faults", json={"rest_429": 1.5}).status_code == 422
    assert sim.http.put("/_sim/faults", json={"rest_492": 0.1}).status_code == 422

    number = sim.register("+91 98123 99999", persona="refuser")
    assert [e["number"] for e in sim.http.get("/_sim/directory").json()] == ["+919812399999"]
    assert sim.http.get("/_sim/faults").json()["rest_429"] == 0
    sid = sim.place(number.replace(" ", ""), "<Response><Say>Hi.</Say></Response>")
    sim.wait(sid)
    status = sim.http.get("/_sim/status").json()
    assert (status["calls"], status["active_calls"], status["idle"]) == (1, 0, True)
    assert [
        c["sid"] for c in sim.http.get("/_sim/calls", params={"to": "+919812399999"}).json()
    ] == [sid]
    assert sim.http.get("/_sim/calls/CA" + "1" * 32).json()["code"] == 20404

    sim.reset(seed=3, speed=10)
    status = sim.http.get("/_sim/status").json()
    assert (status["calls"], status["seed"], status["speed"]) == (0, 3, 10)
    assert sim.http.get("/_sim/directory").json() == []


def test_reset_ends_calls_in_progress(sim: Harness) -> None:
    sid = sim.place(
        sim.register(new_number(), persona="payer"), "<Response><Pause length='100000'/></Response>"
    )
    sim.wait_status(sid, "in-progress")
    sim.reset()
    assert sim.http.get("/_sim/status").json()["active_calls"] == 0


def test_runner_serves_on_a_free_port_until_stopped() -> None:
    config = SimulatorConfig(speed=100, seed=2, start=datetime(2026, 3, 2, 4, 30, tzinfo=UTC))
    server = start_simulator(config)
    try:
        assert server.base_url.startswith("http://127.0.0.1:")
        status = httpx.get(f"{server.base_url}/_sim/status").json()
        assert status["seed"] == 2 and status["speed"] == 100
        assert datetime.fromisoformat(status["now"]) >= datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/_sim/status")
