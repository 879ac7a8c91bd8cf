"""Webhook turn latency of the conversation agent under concurrent calls (issue 5).

`python -m benchmarks voice [--calls 100] [--rounds 3] [--backends sqlite,postgresql]`

One uvicorn worker in its own process serves the real app (a fresh, migrated store with one
account and call per simulated call) plus a bare endpoint that returns a constant TwiML. The
load generator keeps `--calls` conversations going at once, each a full scripted call (answer,
name, verification, promise, amount, read-back), signed as Twilio signs them; every request's
latency is measured from the client. The same load against the bare endpoint, in the same run,
gives the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx
from fastapi import FastAPI, Response
from twilio.request_validator import RequestValidator

from benchmarks.common import fresh_database
from dialer.providers import SIMULATOR_AUTH_TOKEN
from duecall.db import make_engine, make_sessionmaker, upgrade
from duecall.live import free_socket

TURNS = ("yes speaking", "0042", "I will pay on the 5th", "5000", "yes")
CONSTANT = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hello</Say></Response>'
# 10:00 on a Monday in Mumbai: inside the RBI window.
CLOCK = "2026-03-02T10:00:00+05:30"


def app() -> FastAPI:
    """The server under test (uvicorn --factory): the real app and a constant-TwiML endpoint."""
    from server import create_app

    application = create_app()

    @application.post("/bench/constant")
    def constant() -> Response:
        return Response(CONSTANT, media_type="application/xml")

    return application


def _seed(url: str, calls: int) -> None:
    from compliance.policy import load_policy
    from compliance.screening import decide_for_phone
    from crm.buckets import bucket_for_dpd
    from crm.models import Account, Borrower, Call, Phone, PhoneStatus
    from duecall.settings import Settings

    engine = make_engine(url)
    now = datetime.fromisoformat(CLOCK).astimezone(UTC)
    policy = load_policy(Settings(database_url=url).policy)
    with make_sessionmaker(engine)() as session, session.begin():
        for n in range(calls):
            account_id = f"ACC{n:04d}0042"
            phone = f"+9198{n:08d}"
            session.add(Borrower(borrower_id=f"B{n}", name="Priya Sharma"))
            session.flush()
            session.add(
                Account(
                    account_id=account_id, borrower_id=f"B{n}", dpd=12, bucket=bucket_for_dpd(12),
                    overdue_amount=Decimal(5000), emi_amount=Decimal(5000),
                    principal_outstanding=Decimal(120000), updated_at=now,
                )
            )  # fmt: skip
            session.flush()
            session.add(Phone(account_id=account_id, number=phone, status=PhoneStatus.OK))
            session.flush()
            # As the dialer places it: with the receipt of the decision that let it go ahead.
            decision = decide_for_phone(
                session.connection(), account_id, phone, at=now, policy=policy
            )
            assert decision is not None and decision.allowed, decision
            session.add(
                Call(
                    call_id=f"CALL{n}", account_id=account_id, agent_id="BOT", phone=phone,
                    mode="bot", source="dialer", status="ringing", started_at=now,
                    provider_call_sid=f"CA{n:032d}", compliance_receipt=decision.receipt(phone),
                )
            )  # fmt: skip
    engine.dispose()


async def _conversation(
    client: httpx.AsyncClient, base: str, n: int, bare: bool, latencies: list[float], think: float
) -> None:
    rng = random.Random(n)
    validator = RequestValidator(SIMULATOR_AUTH_TOKEN)
    sid = f"CA{n:032d}"
    url = f"{base}/bench/constant" if bare else f"{base}/twilio/voice/CALL{n}"
    for turn, said in enumerate(("", *TURNS)):
        if think:
            # The agent's line is spoken and the borrower answers: seconds between requests.
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
        target = url if bare or turn == 0 else f"{url}?turn={turn}"
        params = {"CallSid": sid, "CallStatus": "in-progress"}
        if said:
            params |= {"SpeechResult": said, "Confidence": "0.9"}
        signature = validator.compute_signature(target, params)
        started = time.perf_counter()
        response = await client.post(target, data=params, headers={"X-Twilio-Signature": signature})
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{target}: HTTP {response.status_code} {response.text[:200]}")


async def _load(
    base: str, calls: int, bare: bool, think: float, pid: int
) -> tuple[list[float], float, float]:
    """The latencies, the wall seconds, and the server's CPU seconds of the measured calls."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=calls, max_keepalive_connections=calls)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        # One whole conversation first, unmeasured: imports and caches warm up as in service.
        await _conversation(client, base, calls, bare, [], 0.0)
        started, cpu = time.perf_counter(), _cpu_s(pid)
        await asyncio.gather(
            *(_conversation(client, base, n, bare, latencies, think) for n in range(calls))
        )
        return latencies, time.perf_counter() - started, _cpu_s(pid) - cpu


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds used by process `pid` so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000


def run(backend: str, calls: int, rounds: int, think: float, server_args: list[str]) -> list[str]:
    rows = []
    with (
        TemporaryDirectory(prefix="duecall-bench-voice-") as tmp,
        fresh_database(backend, Path(tmp)) as url,
    ):
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ, "DUECALL_DATABASE_URL": url, "DUECALL_PUBLIC_BASE_URL": base,
            "DUECALL_SCHEDULER": "off", "DUECALL_CLOCK": CLOCK, "DUECALL_LOG_LEVEL": "WARNING",
            "DUECALL_TELEPHONY": "simulator",
        }  # fmt: skip
        tree = os.environ.get("DUECALL_BENCH_SERVER_TREE")
        if tree:  # an A/B comparison: the server from another checkout, measured the same way
            env["PYTHONPATH"] = tree
        for round_ in range(rounds):
            for label, bare, pause in (
                ("agent turn", False, think),
                ("constant TwiML", True, think),
                ("agent turn, back to back", False, 0.0),
            ):
                if not bare:
                    _reset(url, calls)
                server = subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "benchmarks.bench_voice:app", "--factory",
                     "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                     "--log-level", "warning", "--no-access-log",
                     "--timeout-keep-alive", "60", *server_args],
                    env=env, cwd=tree or None,
                )  # fmt: skip
                try:
                    _wait_up(base)
                    measured = asyncio.run(_load(base, calls, bare, pause, server.pid))
                finally:
                    server.terminate()
                    server.wait(10)
                rows.append((round_, label, *measured))
    best: dict[str, tuple[list[float], float, float]] = {}
    for _round, label, latencies, seconds, cpu in rows:
        if label not in best or _percentile(latencies, 0.99) < _percentile(best[label][0], 0.99):
            best[label] = (latencies, seconds, cpu)
    lines = []
    bare_p99 = _percentile(best["constant TwiML"][0], 0.99)
    for label, (latencies, seconds, cpu) in best.items():
        p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
        lines.append(
            f"| {backend} | {label} | {calls} | {len(latencies):,} | {p50:.1f} | {p99:.1f} "
            f"| {p99 / bare_p99:.1f}× | {len(latencies) / seconds:,.0f} "
            f"| {cpu * 1000 / len(latencies):.2f} |"
        )
    return lines


def _reset(url: str, calls: int) -> None:
    from sqlalchemy import text

    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in ("webhook_events", "transcript_turns", "promises", "calls", "phones",
                      "accounts", "borrowers"):  # fmt: skip
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    _seed(url, calls + 1)  # and the unmeasured warm-up call


def _wait_up(base: str) -> None:
    deadline = time.monotonic() + 60  # a loaded machine starts it slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks voice")
    parser.add_argument("--calls", type=int, default=100, help="concurrent conversations")
    parser.add_argument("--rounds", type=int, default=3, help="best p99 of this many runs")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--think", type=float, default=3.0, help="mean seconds between turns")
    parser.add_argument(
        "--uvicorn-args", default="", help='more options for the server, e.g. "--http h11"'
    )
    args = parser.parse_args(argv)
    lines = [
        f"{args.calls} concurrent scripted calls of {len(TURNS) + 1} webhook requests each, one "
        f"uvicorn worker, {args.think:g} s on average between a call's requests (speech); latency "
        f"measured by the client; best p99 of {args.rounds} runs. Ratio: p99 against the "
        "constant-TwiML endpoint under the same load in the same run. 'Back to back': no pauses, "
        "the server saturated; its requests/s is the throughput. CPU: the server process's user + "
        "system time per request (/proc), less moved by other load than the latencies.",
        "",
        "| store | endpoint | calls | requests | p50 ms | p99 ms | p99 ratio | requests/s "
        "| CPU ms/request |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend in args.backends.split(","):
        lines += run(backend, args.calls, args.rounds, args.think, args.uvicorn_args.split())
    return lines
