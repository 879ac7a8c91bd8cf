"""Three dialer processes over a 20,000-account portfolio through a simulated calling day.

Half the accounts are pairs of loans of one borrower, one in each campaign's bucket, on one phone. Afterwards the
calls table alone must show that no account and no number had two calls at once, no campaign
went over its concurrency cap or its calls per second, every call was allowed by the compliance
engine on the account's full history at the instant it started, and every call ended with a
disposition.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from compliance.engine import decide
from compliance.facts import AccountFacts, Attempt, Case
from compliance.policy import load_policy
from crm.buckets import Bucket, bucket_for_dpd
from crm.models import Account, Borrower, Call, Phone
from dialer.calls import TERMINAL
from dialer.jobs import refresh_queues
from dialer.models import Campaign, Channel
from duecall.context import AppContext
from duecall.db import make_engine, make_sessionmaker, upgrade
from duecall.settings import Settings
from tests.conftest import POSTGRES_URL, fresh_database_url
from tests.dialer.conftest import add_campaign
from tests.dialer.workers import OUTCOMES, SharedClock, run_dialer

ACCOUNTS = 20_000
REPLICAS = 3
# The end of a Monday's calling day in Mumbai, 18:35 to 19:15: the RBI window (08:00-19:00)
# closes during the run. 40 simulated minutes in 20 s keeps a dialer's database latency a few
# simulated seconds, well under the minutes after which recover() gives a call up.
DAY_START = datetime(2026, 3, 2, 13, 5, tzinfo=UTC)
DAY_END = datetime(2026, 3, 2, 13, 45, tzinfo=UTC)
REAL_SECONDS = 20.0


def add_portfolio(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(Borrower),
            [{"borrower_id": f"B{n:05d}", "name": "Asha Rao"} for n in range(ACCOUNTS)],
        )
        conn.execute(
            insert(Account),
            [
                {
                    "account_id": f"A{n:05d}", "borrower_id": f"B{borrower(n):05d}", "dpd": 1 + n % 60,
                    "bucket": bucket_for_dpd(1 + n % 60), "overdue_amount": Decimal(1000 + n % 977),
                    "emi_amount": Decimal(2500), "updated_at": DAY_START,
                }
                for n in range(ACCOUNTS)
            ],
        )  # fmt: skip
        conn.execute(
            insert(Phone),
            [
                {"account_id": f"A{n:05d}", "number": f"+9198{borrower(n):08d}"}
                for n in range(ACCOUNTS)
            ],
        )
    engine.dispose()


def borrower(n: int) -> int:
    """Account n's borrower: accounts n (dpd 1-30, SMA-0) and n + 30 (dpd 31-60, SMA-1) of the
    first 60 of every 120 are two loans of one borrower, one phone for both."""
    return n - 30 if 30 <= n % 120 < 60 else n


def check_calls(calls: list[Call], campaigns: dict[int, Campaign]) -> None:
    policy = load_policy("rbi")
    by_account: dict[str, list[Call]] = defaultdict(list)
    by_number: dict[str, list[Call]] = defaultdict(list)
    for call in sorted(calls, key=lambda c: c.started_at):
        by_account[call.account_id].append(call)
        by_number[call.phone or ""].append(call)
    for phone, its_calls in itertools.chain(by_account.items(), by_number.items()):
        for earlier, later in itertools.pairwise(its_calls):
            assert earlier.ended_at is not None and earlier.ended_at <= later.started_at, phone
    for account_id, its_calls in by_account.items():
        for n, call in enumerate(its_calls):
            assert call.phone is not None
            history = tuple(Attempt(c.started_at, c.phone, c.disposition) for c in its_calls[:n])
            facts = AccountFacts(
                account_id=account_id,
                dpd=1 + int(account_id[1:]) % 60,
                phones=(call.phone,),
                phones_known_valid=True,
            )
            decision = decide(Case(call.started_at, call.phone, facts, history), policy)
            assert decision.allowed, (account_id, call.started_at, decision.reasons)
    for campaign_id, campaign in campaigns.items():
        its_calls = sorted(
            (c for c in calls if c.campaign_id == campaign_id), key=lambda c: c.started_at
        )
        gaps = [b.started_at - a.started_at for a, b in itertools.pairwise(its_calls)]
        assert min(gaps) >= timedelta(seconds=1 / campaign.calls_per_second), campaign.name
        changes = sorted(
            [(c.started_at, 1) for c in its_calls]
            + [(c.ended_at, -1) for c in its_calls if c.ended_at],
            key=lambda e: (e[0], e[1]),
        )
        live = peak = 0
        for _at, change in changes:
            live += change
            peak = max(peak, live)
        assert peak <= campaign.max_concurrent, campaign.name


@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                POSTGRES_URL is None, reason="DUECALL_TEST_POSTGRES_URL is not set"
            ),
        ),
    ],
)
def test_three_dialers_through_a_day(backend: str, tmp_path: Path) -> None:
    for url in fresh_database_url(backend, tmp_path):
        upgrade(url)
        add_portfolio(url)
        rate = (DAY_END - DAY_START).total_seconds() / REAL_SECONDS
        origin = time.time()
        context = AppContext.from_settings(
            Settings(DUECALL_DATABASE_URL=url), SharedClock(DAY_START, origin, rate)
        )
        with context.sessions() as session:
            add_campaign(
                session,
                name="SMA-0 bot",
                buckets=[Bucket.SMA_0],
                channels={Bucket.SMA_0: Channel.BOT},
                max_concurrent=8,
                calls_per_second=2.0,
            )
            add_campaign(
                session,
                name="SMA-1 bot",
                buckets=[Bucket.SMA_1],
                channels={Bucket.SMA_1: Channel.BOT},
                max_concurrent=4,
                calls_per_second=1.0,
            )
            session.commit()
        assert sum(refresh_queues(context).values()) == ACCOUNTS
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(REPLICAS) as pool:
            claimed = pool.starmap(run_dialer, [(url, DAY_START, origin, rate, DAY_END)] * REPLICAS)
        if backend == "postgresql":
            # SKIP LOCKED lets replicas claim side by side; SQLite's single write lock may leave a
            # replica without a turn in a short day, which is safe but not a failure.
            assert all(n > 0 for n in claimed)  # every replica dialled
        else:
            assert sum(claimed) > 0
        sessions = make_sessionmaker(context.engine)
        with sessions() as session:
            calls = list(session.scalars(select(Call)))
            campaigns = {c.id: c for c in session.scalars(select(Campaign))}
        context.close()
        assert len(calls) == sum(claimed)
        assert all(c.status in TERMINAL and c.disposition is not None for c in calls)
        # Every outcome the provider gives at least 5 times on average shows up (a rarer one can
        # be missing by chance when a loaded machine places few calls in the short day).
        expected = {status for share, status, _ in OUTCOMES if share * len(calls) >= 500}
        assert "completed" in expected, len(calls)
        assert {c.status for c in calls} >= expected
        check_calls(calls, campaigns)
