"""Faults of a real `duecall serve` dialling through the simulator: the server SIGKILLed again
and again mid-campaign, and the database cut off for a while.

After each run, what the simulator (as Twilio) recorded is compared with the CRM: every call it
had is stored once with the final status it gave, every promise the borrower heard confirmed is
stored, and no account was rung twice at once. Calls whose callbacks were sent while the server
was down are settled by the recovery job from the provider's own record, as a restarted server's
job does; the test runs that job once at the end, with the clock past the point it acts on.
"""

from __future__ import annotations

import random
import re
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from agent.script import script
from benchmarks.bench_load import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALLER_ID,
    METRICS_TOKEN,
    Accounting,
    Cluster,
    accounting,
    loaded_cluster,
    prepare_store,
)
from benchmarks.common import fresh_database
from benchmarks.proxies import TcpProxy
from dialer.jobs import recover_calls
from dialer.telephony import TwilioTelephony
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.settings import Settings
from tests.conftest import BACKENDS, POSTGRES_URL

KILLS = {"postgresql": 5, "sqlite": 3}  # each restart costs a server start-up (seconds)
SPEED = 20.0


def settle_and_recover(cluster: Cluster, database_url: str) -> Accounting:
    """Stop dialing, let the simulator finish every call, run the recovery job, compare."""
    cluster.stop_dialing()
    deadline = time.monotonic() + 90
    while not cluster.sim_status()["idle"]:
        assert time.monotonic() < deadline, "the simulator's calls did not end"
        time.sleep(0.25)
    time.sleep(1.0)  # the last callbacks
    calls = cluster.sim_calls()
    later = FixedClock(cluster.now() + timedelta(minutes=10))
    context = AppContext.from_settings(
        Settings(DUECALL_DATABASE_URL=database_url, DUECALL_SCHEDULER="off"), later
    )
    telephony = TwilioTelephony(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number=CALLER_ID,
        api_base_url=cluster.sim_url,
    )
    try:
        recover_calls(context, telephony)
    finally:
        context.close()
    return accounting(database_url, calls)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_server_killed_again_and_again_loses_and_duplicates_nothing(
    backend: str, tmp_path: Path
) -> None:
    rng = random.Random(9)
    with loaded_cluster(
        backend, tmp_path, accounts=60, concurrency=12, replicas=1, speed=SPEED, seed=9
    ) as cluster:
        server = cluster.servers[0]
        for _ in range(KILLS[backend]):
            time.sleep(rng.uniform(1.5, 4.0))
            server.kill()
            server.start()
            server.wait_ready()
        time.sleep(2.0)
        result = settle_and_recover(cluster, cluster.database_url)

    assert server.starts == KILLS[backend] + 1
    assert result.problems == []
    assert result.sim_calls > 5  # the campaign got on despite the kills
    assert result.crm_calls == result.sim_calls + result.never_placed
    assert result.promises_stored == result.promises_confirmed


def proxied(url: str, proxy: TcpProxy) -> str:
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


def metric(url: str, name: str, labels: str) -> float:
    text = httpx.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
    ).text
    found = re.search(rf"^{name}\{{{labels}\}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.skipif(POSTGRES_URL is None, reason="needs DUECALL_TEST_POSTGRES_URL")
def test_the_database_cut_off_gets_polite_closes_and_a_paused_dialer(tmp_path: Path) -> None:
    assert POSTGRES_URL is not None
    target = make_url(POSTGRES_URL)
    with (
        fresh_database("postgresql", tmp_path) as url,
        TcpProxy((target.host or "127.0.0.1", target.port or 5432)) as proxy,
    ):
        prepare_store(url, accounts=60, concurrency=12, seed=4, workdir=tmp_path)
        # The servers reach the database only through the proxy; this test directly.
        cluster = Cluster(
            url, tmp_path, speed=10.0, seed=4, extra_env={"DUECALL_LOG_LEVEL": "INFO"},
            server_database_url=proxied(url, proxy),
        )  # fmt: skip
        with cluster:
            server = cluster.servers[0]
            deadline = time.monotonic() + 60
            while cluster.sim_status()["active_calls"] < 6:
                assert time.monotonic() < deadline, "the dialer did not get going"
                time.sleep(0.1)

            proxy.cut()
            cut_at = time.monotonic()
            placed_at_cut = cluster.sim_status()["calls"]
            time.sleep(1.0)  # a pass under way may finish placing what it had claimed
            placed_soon_after = cluster.sim_status()["calls"]
            time.sleep(7.0)
            placed_before_restore = cluster.sim_status()["calls"]
            ready_while_cut = httpx.get(f"{server.url}/readyz", timeout=30)
            proxy.restore()
            outage = time.monotonic() - cut_at
            # The next pass the guard lets through says so.
            deadline = time.monotonic() + 60
            while "dialer resumed" not in server.log.read_text():
                assert time.monotonic() < deadline, "the dialer did not resume"
                time.sleep(0.2)
            skips = metric(
                server.url, "duecall_dialer_skips_total", 'reason="database_unreachable"'
            )
            polite = metric(server.url, "duecall_database_unavailable_total", 'kind="twiml"')
            sim_calls = cluster.sim_calls()
            result = settle_and_recover(cluster, url)
            log = server.log.read_text()

    assert placed_soon_after - placed_at_cut <= 12  # at most the batch claimed before the cut
    assert placed_before_restore == placed_soon_after, "dialed while the database was away"
    assert ready_while_cut.status_code == 503
    # APScheduler keeps its jobs in the same database: while it is away no pass runs, and each
    # time the scheduler fails to read its due jobs counts as a skipped pass.
    assert skips >= 1, (skips, outage)
    assert "dialer paused: database unreachable" in log
    # Webhooks during the outage: TwiML ones got the polite close, none a 500.
    events = [e for c in sim_calls for e in c["events"] if e["type"] == "webhook"]
    assert all(e["detail"]["status_code"] != 500 for e in events)
    apology = script("en").line("close_outage")
    closes = [e for e in events if apology in e["detail"]["response"]]
    assert closes and polite >= len({e["detail"]["url"] for e in closes}) > 0
    assert all(e["detail"]["status_code"] == 200 for e in closes)
    assert all("<Hangup />" in e["detail"]["response"] for e in closes)
    heard = [c for c in sim_calls if any(t["text"] == apology for t in c["transcript"])]
    assert heard
    # And nothing was lost through it: callbacks refused while it was away were settled.
    assert result.problems == []
    assert result.promises_stored == result.promises_confirmed
