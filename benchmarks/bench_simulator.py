"""Simulator benchmark: a calling day's worth of calls through the Twilio stand-in.

The simulator runs with its runner (uvicorn in a background thread); calls are placed over HTTP
as the twilio SDK places them, and a scripted agent answers every webhook in-process (so the
figures are the simulator's own cost, not the server's). Measured: wall time, calls and webhook
requests per real second, simulated minutes per real second, the webhook latency the
simulator saw, and peak memory. Goal: a day of ~2,000 calls in a few minutes at speed 60+.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from dialer.simulator import SimulatorConfig, SimulatorServer

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-auth-token-0123456789"
AGENT_URL = "http://agent.bench"
PROMPTS = (
    "Hello, this is Demo Bank. Am I speaking with the account holder?",
    "For verification, please tell me your year of birth.",
    "Your EMI is overdue. Can you pay it today?",
    "By which date can you pay?",
    "To confirm, you will pay by that date. Is that right?",
)


def agent_app() -> FastAPI:
    """A scripted agent: one speech Gather per prompt, then goodbye."""
    app = FastAPI()
    turns: Counter[str] = Counter()

    @app.post("/voice")
    async def voice(request: Request) -> Response:
        form = await request.form()
        sid = str(form["CallSid"])
        turn = turns[sid]
        turns[sid] += 1
        if turn >= len(PROMPTS):
            body = "<Response><Say>Thank you. Goodbye.</Say><Hangup/></Response>"
        else:
            body = (
                '<Response><Gather input="speech" language="en-IN" timeout="4">'
                f"<Say>{PROMPTS[turn]}</Say></Gather></Response>"
            )
        return Response(body, media_type="application/xml")

    @app.post("/status")
    async def status() -> Response:
        return Response(status_code=204)

    return app


@contextmanager
def simulator(speed: float, seed: int) -> Iterator[str]:
    config = SimulatorConfig(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        speed=speed,
        seed=seed,
        transport=httpx.ASGITransport(app=agent_app()),
    )
    with SimulatorServer(config) as server:
        yield server.base_url


def run(calls: int, speed: float, concurrency: int, seed: int) -> list[str]:
    with simulator(speed, seed) as base_url, httpx.Client(base_url=base_url, timeout=60) as http:
        create = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"

        def place(index: int) -> None:
            response = http.post(
                create,
                auth=(ACCOUNT_SID, AUTH_TOKEN),
                data={
                    "To": f"+9198{index:08d}",
                    "From": "+918045678901",
                    "Url": f"{AGENT_URL}/voice",
                    "StatusCallback": f"{AGENT_URL}/status",
                    "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
                },
            )
            response.raise_for_status()

        started = time.perf_counter()
        # A dialer keeps `concurrency` calls going: place more as the active count drops.
        with ThreadPoolExecutor(max_workers=8) as pool:
            placed = 0
            while placed < calls:
                active = http.get("/_sim/status").json()["active_calls"]
                batch = min(calls - placed, max(0, concurrency - active))
                list(pool.map(place, range(placed, placed + batch)))
                placed += batch
                time.sleep(0.01)
        while not http.get("/_sim/status").json()["idle"]:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        views: list[dict[str, Any]] = http.get("/_sim/calls").json()

    statuses = Counter(v["status"] for v in views)
    webhooks = [
        e["detail"]["latency_ms"]
        for v in views
        for e in v["events"]
        if e["type"] in {"webhook", "status_callback"}
    ]
    talk_minutes = sum(v["duration"] or 0 for v in views) / 60
    day_minutes = (
        sum((_parse(v["end_time"]) - _parse(v["created_at"])) for v in views if v["end_time"]) / 60
    )
    latency = statistics.quantiles(webhooks, n=20) if len(webhooks) >= 20 else [0.0] * 19
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        f"{calls:,} calls at speed {speed:g}, up to {concurrency} at once, seed {seed}:",
        "",
        "| seconds | calls/s | webhooks/s | simulated call-minutes/s | webhook p50 ms "
        "| webhook p95 ms | peak RSS MB | outcomes |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {seconds:.1f} | {calls / seconds:.1f} | {len(webhooks) / seconds:.0f} "
        f"| {day_minutes / seconds:.1f} | {latency[9]:.1f} | {latency[18]:.1f} "
        f"| {peak_mb:.0f} | {', '.join(f'{k} {n}' for k, n in sorted(statuses.items()))} |",
        "",
        f"Talk time simulated: {talk_minutes:,.0f} minutes.",
    ]


def _parse(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    return run(args.calls, args.speed, args.concurrency, args.seed)
