"""Load benchmark: a calling day at scale through real `duecall serve` processes and the simulator.

A synthetic portfolio is imported (crm.seed, as `duecall demo` does) into a fresh store and one
bot campaign of `--concurrency` lines dials it from the servers' own schedulers. The Twilio
simulator runs in this process and answers with borrowers drawn per bucket (registered as the
demo registers them). SQLite is served by one replica; PostgreSQL by `--replicas` behind a
round-robin HTTP proxy (benchmarks.proxies, in its own process). Every replica's accelerated
clock starts at 10:00 on a Monday in Mumbai at the same wall-clock origin (DUECALL_CLOCK,
DUECALL_CLOCK_RATE, DUECALL_CLOCK_ORIGIN), so replicas agree on the time.

Measured: conversation turns (answer and Gather webhooks) per real second while dialing,
webhook latency seen by the simulator (p50, p99), errors (webhooks answered 5xx or not at all,
Twilio errors on calls, calls the simulator and the CRM disagree about; goal 0), and the peak
resident memory of each server. `Cluster` and `accounting` are shared with tests/reliability.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr
from sqlalchemy import Engine, select, update

from benchmarks.common import ROOT, fresh_database
from crm.buckets import Bucket
from crm.cli import run_import
from crm.models import Call, Promise
from crm.seed import write_accounts_csv
from dialer.calls import NEVER_PLACED_AFTER, TERMINAL
from dialer.campaigns import DEFAULT_RETRIES, CampaignIn, create_campaign
from dialer.jobs import RECOVER_EVERY, refresh_queues
from dialer.models import Campaign, Channel
from dialer.simulator import SimulatorConfig, SimulatorServer
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.db import make_engine, reading, transaction, upgrade
from duecall.demo import register_borrowers
from duecall.settings import Settings

ACCOUNT_SID = "AC" + "9" * 32
AUTH_TOKEN = "load-test-auth-token-0123456789"
CALLER_ID = "+918045678901"
METRICS_TOKEN = "load-test-metrics-token-0123"
START = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # 10:00 on a Monday in Mumbai
STARTUP_SECONDS = 90.0
SETTLE_SECONDS = 120.0
# What the agent says when it confirms a promise (prompts/*/call.toml `close_promise`).
PROMISE_CONFIRMED = ("We have noted that you will pay", "हमने दर्ज किया है कि आप")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepare_store(
    url: str, *, accounts: int, concurrency: int, seed: int, workdir: Path, cps: float = 20.0
) -> None:
    """Migrate, import a synthetic portfolio as of START and add one bot campaign over it."""
    upgrade(url)
    context = AppContext.from_settings(
        Settings(DUECALL_DATABASE_URL=url, DUECALL_SCHEDULER="off"), FixedClock(START)
    )
    try:
        today = START.astimezone(ZoneInfo(context.settings.default_timezone)).date()
        portfolio = workdir / f"accounts-{seed}-{accounts}.csv"
        with portfolio.open("w", newline="", encoding="utf-8") as out:
            write_accounts_csv(out, accounts, seed=seed, as_of=today)
        run_import(context, "accounts", portfolio, show_progress=False)
        portfolio.unlink()
        campaign = CampaignIn.model_validate(
            {
                "name": "load",
                "buckets": list(Bucket),
                "channels": dict.fromkeys(Bucket, Channel.BOT),
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "start": clock_time(7),
                "end": clock_time(21),
                "max_concurrent": concurrency,
                "calls_per_second": cps,
                "retry_rules": DEFAULT_RETRIES,
            }
        )
        with transaction(context.sessions) as session:
            create_campaign(session, campaign, now=START)
        refresh_queues(context)
    finally:
        context.close()


@dataclass
class Replica:
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    peak_rss_mb: float = 0.0
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "duecall.cli", "serve", "--port", str(self.port)],
                cwd=self.log.parent,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"duecall serve exited:\n{self.log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"duecall serve did not start:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.1)

    def sample_memory(self) -> None:
        """Keep the process's peak resident set (VmHWM) before it goes."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_rss_mb = max(self.peak_rss_mb, int(line.split()[1]) / 1024)

    def kill(self) -> None:
        """SIGKILL: no drain, no shutdown, whatever it was doing."""
        if self.process is not None and self.process.poll() is None:
            self.sample_memory()
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.sample_memory()
        self.process.send_signal(signal.SIGINT)
        self.process.send_signal(signal.SIGINT)  # the second stops at once (no drain)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Cluster:
    """The simulator (in this process), `replicas` servers, and a proxy when there are several."""

    database_url: str
    workdir: Path
    replicas: int = 1
    speed: float = 10.0
    seed: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    server_database_url: str | None = None  # how the servers reach the store, when not directly
    simulator: SimulatorServer | None = None
    servers: list[Replica] = field(default_factory=list)
    proxy: subprocess.Popen[bytes] | None = None
    public_url: str = ""
    origin: float = 0.0

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.origin = time.time()
        self.simulator = SimulatorServer(
            SimulatorConfig(
                account_sid=ACCOUNT_SID,
                auth_token=SecretStr(AUTH_TOKEN),
                speed=self.speed,
                seed=self.seed,
                start=START,
                # As many connections to the servers as calls need at once, as Twilio opens:
                # httpx's default pool (100) would queue webhooks inside the simulator, timing
                # out requests the servers never received.
                transport=httpx.AsyncHTTPTransport(
                    limits=httpx.Limits(max_connections=None, max_keepalive_connections=None)
                ),
            )
        )
        self.simulator.start()
        ports = [free_port() for _ in range(self.replicas)]
        if self.replicas > 1:
            proxy_port = free_port()
            self.public_url = f"http://127.0.0.1:{proxy_port}"
            upstreams = [f"http://127.0.0.1:{p}" for p in ports]
            self.proxy = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.proxies", str(proxy_port), *upstreams],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
        else:
            self.public_url = f"http://127.0.0.1:{ports[0]}"
        with httpx.Client(base_url=self.simulator.base_url, timeout=120) as control:
            register_borrowers(control, _engine_for(self.database_url))
        for port in ports:
            env = {
                **os.environ,
                "DUECALL_DATABASE_URL": self.server_database_url or self.database_url,
                "DUECALL_PUBLIC_BASE_URL": self.public_url,
                "DUECALL_TELEPHONY": "twilio",
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "TWILIO_FROM_NUMBER": CALLER_ID,
                "DUECALL_TWILIO_API_BASE_URL": self.simulator.base_url,
                "DUECALL_SCHEDULER": "on",
                "DUECALL_CLOCK": START.isoformat(),
                "DUECALL_CLOCK_RATE": str(self.speed),
                "DUECALL_CLOCK_ORIGIN": repr(self.origin),
                "DUECALL_LOG_FORMAT": "json",
                "DUECALL_LOG_LEVEL": "WARNING",
                "DUECALL_METRICS_TOKEN": METRICS_TOKEN,
                "DUECALL_DRAIN_TIMEOUT": "0",
                **self.extra_env,
            }
            self.servers.append(Replica(port, env, self.workdir / f"serve-{port}.log"))
        for server in self.servers:
            server.start()
        for server in self.servers:
            server.wait_ready()
        if self.proxy is not None:
            _wait_http(f"{self.public_url}/healthz")

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        if self.proxy is not None:
            self.proxy.kill()
            self.proxy.wait()
        if self.simulator is not None:
            self.simulator.stop()

    def now(self) -> datetime:
        """The servers' clock."""
        return START + timedelta(seconds=(time.time() - self.origin) * self.speed)

    @property
    def sim_url(self) -> str:
        assert self.simulator is not None
        return self.simulator.base_url

    def sim_status(self) -> dict[str, Any]:
        status: dict[str, Any] = httpx.get(f"{self.sim_url}/_sim/status", timeout=60).json()
        return status

    def sim_calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = httpx.get(f"{self.sim_url}/_sim/calls", timeout=300).json()
        return calls

    def sample_memory(self) -> None:
        for server in self.servers:
            server.sample_memory()

    def stop_dialing(self) -> None:
        """Close the campaign (a pass under way places what it claimed)."""
        engine = _engine_for(self.database_url)
        with engine.begin() as conn:
            conn.execute(update(Campaign).values(active=False))

    def settle(self, timeout: float | None = None) -> None:
        """Wait until the simulator has no call and every call in the CRM has a final status.

        By default long enough for a call whose placing the provider never confirmed (its
        create request timed out) to be ended by the servers' recovery, as it would be.
        """
        if timeout is None:
            unconfirmed = (NEVER_PLACED_AFTER + RECOVER_EVERY).total_seconds() / self.speed
            timeout = max(SETTLE_SECONDS, unconfirmed + SETTLE_SECONDS / 2)
        engine = _engine_for(self.database_url)
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while True:
            self.sample_memory()
            idle = self.sim_status()["idle"]
            with reading(engine) as conn:
                live = conn.execute(select(Call.call_id).where(Call.status.not_in(TERMINAL))).all()
            if idle and not live:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 1.0:  # the last recording callbacks
                    return
            else:
                quiet_since = None
            if time.monotonic() > deadline:
                raise AssertionError(f"not settled: simulator idle {idle}, {len(live)} calls live")
            time.sleep(0.25)


_ENGINES: dict[str, Engine] = {}


def _engine_for(url: str) -> Engine:
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def _wait_http(url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# --- what the simulator saw against what the CRM stored -------------------------------------


@dataclass
class Accounting:
    """Calls of a run as the simulator (Twilio) and the CRM each recorded them."""

    sim_calls: int = 0
    crm_calls: int = 0
    never_placed: int = 0  # CRM calls the provider never had (unconfirmed, refused, dialer died)
    promises_confirmed: int = 0  # calls where the borrower heard the agent confirm a promise
    promises_stored: int = 0
    problems: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    dispositions: Counter[str] = field(default_factory=Counter)


def accounting(database_url: str, sim_calls: list[dict[str, Any]]) -> Accounting:
    """Every call Twilio had is stored once, with the final status Twilio gave it; every promise
    the borrower heard confirmed is stored; no number was rung twice at once."""
    result = Accounting(sim_calls=len(sim_calls))
    engine = _engine_for(database_url)
    with reading(engine) as conn:
        rows = conn.execute(
            select(
                Call.call_id, Call.provider_call_sid, Call.status, Call.disposition, Call.account_id
            ).where(Call.source == "dialer")
        ).all()
        promised = set(conn.scalars(select(Promise.call_id).where(Promise.call_id.is_not(None))))
    result.crm_calls = len(rows)
    by_sid: dict[str, list[Any]] = {}
    for row in rows:
        result.statuses[row.status] += 1
        result.dispositions[row.disposition or "(none)"] += 1
        if row.provider_call_sid is None:
            # Lost: claimed, then never confirmed; failed: the provider refused or could not be
            # reached (the reason is on the call). Either way the provider never had it.
            if row.status in ("lost", "failed"):
                result.never_placed += 1
            else:
                result.problems.append(f"{row.call_id}: no provider call, status {row.status}")
            continue
        by_sid.setdefault(row.provider_call_sid, []).append(row)
    problems = result.problems
    for sid, stored in by_sid.items():
        if len(stored) > 1:
            problems.append(f"{sid}: stored {len(stored)} times")
    seen = {c["sid"] for c in sim_calls}
    problems.extend(f"{sid}: stored, unknown to the provider" for sid in by_sid.keys() - seen)
    for call in sim_calls:
        stored = by_sid.get(call["sid"])
        if not call["done"]:
            problems.append(f"{call['sid']}: still going at the provider")
        if not stored:
            problems.append(f"{call['sid']} ({call['status']}): not in the CRM")
            continue
        row = stored[0]
        if row.status != call["status"]:
            problems.append(f"{call['sid']}: provider says {call['status']}, CRM {row.status}")
        confirmed = any(
            t["speaker"] == "agent" and any(m in t["text"] for m in PROMISE_CONFIRMED)
            for t in call["transcript"]
        )
        if confirmed:
            result.promises_confirmed += 1
            if row.call_id in promised:
                result.promises_stored += 1
            else:
                problems.append(f"{call['sid']}: promise confirmed to the borrower, not stored")
    # One number, one call: no account, and no borrower with several loans, is rung twice at once.
    by_number: dict[str, list[dict[str, Any]]] = {}
    for call in sim_calls:
        by_number.setdefault(call["to"], []).append(call)
    for calls in by_number.values():
        calls.sort(key=lambda c: c["created_at"])
        for before, after in pairwise(calls):
            if before["end_time"] is None or after["created_at"] < before["end_time"]:
                problems.append(f"{after['sid']}: rang while {before['sid']} was on")
    return result


WEBHOOK_EVENTS = frozenset({"webhook", "status_callback", "recording_callback", "amd_callback"})


def webhook_events(sim_calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every request the simulator made to the servers (TwiML fetches and callbacks)."""
    return [e for c in sim_calls for e in c["events"] if e["type"] in WEBHOOK_EVENTS]


def errors_of(sim_calls: list[dict[str, Any]]) -> list[str]:
    """Webhooks answered 4xx, 5xx or not at all, and Twilio errors on calls."""
    found = []
    for call in sim_calls:
        for event in call["events"]:
            detail = event["detail"]
            if event["type"] == "error":
                found.append(f"{call['sid']} error: {detail}")
            elif event["type"] in WEBHOOK_EVENTS and (
                detail.get("status_code") is None or detail["status_code"] >= 400
            ):
                found.append(
                    f"{call['sid']} {event['type']}: {detail.get('status_code') or detail.get('error')}"
                )
    return found


# --- the benchmark ---------------------------------------------------------------------------


@dataclass
class LoadResult:
    backend: str
    replicas: int
    seconds: float
    calls: int
    turns: int
    webhooks: int
    p50_ms: float
    p99_ms: float
    errors: list[str]
    accounted: Accounting
    peak_rss_mb: list[float]
    peak_live: int
    mean_live: float
    served: Served


@dataclass
class Served:
    """The webhooks as the servers timed them (duecall_webhook_duration_seconds, all routes):
    from the request reaching the application to its answer, without the network, the proxy
    or the simulator's own queues."""

    count: int = 0
    seconds: float = 0.0
    over_twilio_timeout: int = 0  # answered in more than Twilio's 15 s

    @property
    def mean_ms(self) -> float:
        return 1000 * self.seconds / self.count if self.count else 0.0


def served_webhooks(urls: list[str]) -> Served:
    served = Served()
    for url in urls:
        metrics = httpx.get(
            f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=60
        ).text
        for name, labels, value in re.findall(
            r"^duecall_webhook_duration_seconds_(count|sum|bucket)\{(.*)\} (\S+)$", metrics, re.M
        ):
            if name == "count":
                served.count += int(float(value))
                served.over_twilio_timeout += int(float(value))
            elif name == "sum":
                served.seconds += float(value)
            elif 'le="15.0"' in labels:
                served.over_twilio_timeout -= int(float(value))
    return served


def live_calls(
    sim_calls: list[dict[str, Any]], start: datetime, end: datetime
) -> tuple[int, float]:
    """The most calls live at once at the provider (from its record: created, then ended) and
    the mean number live between `start` and `end` (the servers' clock)."""
    changes: list[tuple[datetime, int]] = []
    for call in sim_calls:
        changes.append((_instant(call["created_at"]), 1))
        ended = call["end_time"]
        changes.append((_instant(ended) if ended else datetime.max.replace(tzinfo=UTC), -1))
    changes.sort(key=lambda change: (change[0], change[1]))  # an end before a start at a tie
    peak = live = 0
    area, last = 0.0, start
    for at, step in changes:
        if at > start:
            area += live * (min(at, end) - last).total_seconds()
            last = min(at, end)
        live += step
        peak = max(peak, live)
    area += live * max(0.0, (end - last).total_seconds())
    return peak, area / max((end - start).total_seconds(), 1e-9)


def _instant(value: str | datetime) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@contextmanager
def loaded_cluster(
    backend: str,
    workdir: Path,
    *,
    accounts: int,
    concurrency: int,
    replicas: int,
    speed: float,
    seed: int,
    extra_env: dict[str, str] | None = None,
    cps: float = 20.0,
) -> Iterator[Cluster]:
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database(backend, workdir))
        prepare_store(
            url, accounts=accounts, concurrency=concurrency, seed=seed, workdir=workdir, cps=cps
        )
        cluster = Cluster(url, workdir, replicas, speed, seed, extra_env or {})
        try:
            yield stack.enter_context(cluster)
        finally:
            engine = _ENGINES.pop(url, None)
            if engine is not None:
                engine.dispose()


def run_load(cluster: Cluster, *, seconds: float) -> LoadResult:
    """Dial for `seconds` of real time, let the calls finish, then count."""
    started, dial_from = time.monotonic(), cluster.now()
    while time.monotonic() - started < seconds:
        cluster.sample_memory()
        time.sleep(0.5)
    cluster.stop_dialing()
    dialing_ended, dial_to = time.monotonic(), cluster.now()
    cluster.settle()
    served = served_webhooks([server.url for server in cluster.servers])
    calls = cluster.sim_calls()
    events = webhook_events(calls)
    turns = [e for e in events if e["type"] == "webhook"]
    latencies = sorted(e["detail"]["latency_ms"] for e in events)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) >= 100 else [0.0] * 99
    peak_live, mean_live = live_calls(calls, dial_from, dial_to)
    return LoadResult(
        backend=_engine_for(cluster.database_url).dialect.name,
        replicas=cluster.replicas,
        seconds=dialing_ended - started,
        calls=len(calls),
        turns=len(turns),
        webhooks=len(events),
        p50_ms=quantiles[49],
        p99_ms=quantiles[98],
        errors=errors_of(calls),
        accounted=accounting(cluster.database_url, calls),
        peak_rss_mb=[s.peak_rss_mb for s in cluster.servers],
        peak_live=peak_live,
        mean_live=mean_live,
        served=served,
    )


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=90.0, help="real seconds of dialing")
    parser.add_argument("--speed", type=float, default=4.0, help="simulated seconds per second")
    parser.add_argument("--replicas", type=int, default=2, help="PostgreSQL replicas")
    parser.add_argument(
        "--cps", type=float, default=20.0, help="the campaign's calls per (simulated) second"
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    lines = [
        f"{args.concurrency} lines at {args.cps:g} calls/s, {args.accounts:,} accounts, "
        f"clock {args.speed:g}x, "
        f"{args.seconds:g} s of dialing, seed {args.seed}; load average before: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "",
        "| store | servers | calls | peak live | mean live | turns/s | webhooks/s "
        "| webhook p50 ms | p99 ms | served mean ms | served > 15 s | errors | unaccounted "
        "| promises stored | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    details = []
    with tempfile.TemporaryDirectory(prefix="duecall-load-") as tmp:
        for backend in args.backends.split(","):
            replicas = 1 if backend == "sqlite" else args.replicas
            with loaded_cluster(
                backend, Path(tmp), accounts=args.accounts, concurrency=args.concurrency,
                replicas=replicas, speed=args.speed, seed=args.seed, cps=args.cps,
            ) as cluster:  # fmt: skip
                result = run_load(cluster, seconds=args.seconds)
            acc = result.accounted
            lines.append(
                f"| {result.backend} | {result.replicas} | {result.calls:,} | {result.peak_live} "
                f"| {result.mean_live:.0f} | {result.turns / result.seconds:.1f} | {result.webhooks / result.seconds:.1f} "
                f"| {result.p50_ms:.0f} | {result.p99_ms:.0f} | {result.served.mean_ms:.0f} "
                f"| {result.served.over_twilio_timeout} | {len(result.errors)} "
                f"| {len(acc.problems)} | {acc.promises_stored}/{acc.promises_confirmed} "
                f"| {' + '.join(f'{m:.0f}' for m in result.peak_rss_mb)} |"
            )
            details.append(
                f"{result.backend}: statuses {dict(acc.statuses)}; dispositions "
                f"{dict(acc.dispositions)}; first errors {result.errors[:3]}; "
                f"first problems {acc.problems[:3]}"
            )
    lines.append("")
    lines.append(f"Load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return [*lines, "", *details]
