"""Dialer benchmark (issue 4).

Picking and claiming the next 1,000 accounts of a campaign from 1,000,000 accounts with
5,000,000 past calls (goal ≤ 250 ms on SQLite and on PostgreSQL): the ordered pick with row
locks, compliance screening of the candidates at the first and last paced slot, parking the
blocked ones, the claims and the call rows. Compared, in the same run, with a bare indexed
`SELECT … ORDER BY tier, score DESC LIMIT 1000` on the same queue. The store is the compliance
benchmark's (`bench_compliance.book`). Each claim is rolled back, so every round claims from
the same queue.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy import Select, select, text

from benchmarks.bench_compliance import AT, book
from crm.buckets import Bucket
from dialer.campaigns import DEFAULT_RETRIES, CampaignIn, create_campaign
from dialer.models import Campaign, Channel, DialQueueEntry
from dialer.queue import claim, refresh
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.settings import Settings

CLAIM = 1000


def median_ms(rounds: int, work: Callable[[], int]) -> tuple[float, int]:
    wall, _, result = median_ms_cpu(rounds, work)
    return wall, result


def median_ms_cpu(rounds: int, work: Callable[[], int]) -> tuple[float, float, int]:
    """Median wall and CPU (this process) milliseconds of `rounds` runs, and the last result."""
    times, cpus, result = [], [], 0
    for _ in range(rounds):
        started, cpu = time.perf_counter(), time.process_time()
        result = work()
        cpus.append((time.process_time() - cpu) * 1000)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), statistics.median(cpus), result


def select_only(context: AppContext, bare: Select[tuple[str]]) -> int:
    with context.engine.connect() as conn:
        return len(conn.execute(bare).all())


def claim_once(context: AppContext, campaign_id: int, *, blocked: bool = False) -> int:
    """Claim the next 1,000 and roll back: the accounts claimed (or blocked)."""
    with context.sessions() as session:
        campaign = session.get_one(Campaign, campaign_id)
        result = claim(
            session, campaign, channel=Channel.BOT, count=CLAIM, now=AT, policy=context.policy
        )
        session.rollback()
    return result.blocked if blocked else len(result.claimed)


def run(
    accounts: int, calls: int, backends: list[str], rounds: int, *, rebuild: bool = False
) -> list[str]:
    lines = [
        f"{accounts:,} accounts and {calls:,} past calls (`bench_compliance.book`); one bot "
        f"campaign over every bucket; claiming {CLAIM:,} at {AT.isoformat()} under `rbi`, "
        f"median of {rounds}:",
        "",
        "| store | queued | refresh s | bare SELECT LIMIT 1000 ms | claim 1,000 ms | ratio | "
        "claim CPU ms (Python) | load | claimed | blocked |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="duecall-bench-") as workdir:
        for backend in backends:
            with book(backend, Path(workdir), accounts, calls, rebuild=rebuild) as url:
                context = AppContext.from_settings(
                    Settings(DUECALL_DATABASE_URL=url, DUECALL_SCHEDULER="off"), FixedClock(AT)
                )
                with context.sessions() as session:
                    campaign = create_campaign(
                        session,
                        CampaignIn(
                            name="benchmark",
                            buckets=list(Bucket),
                            channels=dict.fromkeys(Bucket, Channel.BOT),
                            days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                            max_concurrent=CLAIM,
                            calls_per_second=100,
                            retry_rules=DEFAULT_RETRIES,
                        ),
                        now=AT,
                    )
                    started = time.perf_counter()
                    queued = refresh(
                        session, campaign, now=AT, today=AT.date(), policy=context.policy
                    )
                    refresh_s = time.perf_counter() - started
                    session.commit()
                    campaign_id = campaign.id
                with context.engine.connect() as conn:  # as autovacuum would, in production
                    conn.execute(text("ANALYZE dial_queue"))
                    conn.commit()
                queue = DialQueueEntry
                bare: Select[tuple[str]] = (
                    select(queue.account_id)
                    .where(queue.campaign_id == campaign_id, queue.channel == Channel.BOT.value)
                    .order_by(queue.tier, queue.score.desc(), queue.account_id)
                    .limit(CLAIM)
                )

                select_only(context, bare)  # warm the caches alike for both
                bare_ms, _ = median_ms(rounds, partial(select_only, context, bare))
                claim_once(context, campaign_id)  # warm too
                claim_ms, claim_cpu, claimed = median_ms_cpu(
                    rounds, partial(claim_once, context, campaign_id)
                )
                blocked = claim_once(context, campaign_id, blocked=True)
                context.close()
                lines.append(
                    f"| {backend} | {queued:,} | {refresh_s:.1f} | {bare_ms:.1f} | "
                    f"{claim_ms:.0f} | {claim_ms / bare_ms:.0f}× | {claim_cpu:.0f} | "
                    f"{os.getloadavg()[0]:.1f} | {claimed:,} | {blocked:,} |"
                )
    return lines


def main(argv: list[str]) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=None, help="default: 5 per account")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--rebuild", action="store_true", help="build the kept store again (see cached_store)"
    )
    args = parser.parse_args(argv)
    calls = args.calls if args.calls is not None else 5 * args.accounts
    return run(args.accounts, calls, args.backends, args.rounds, rebuild=args.rebuild)
