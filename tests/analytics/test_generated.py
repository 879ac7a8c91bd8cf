"""Generated data whose truth is known: the reports must give that truth back."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from sqlalchemy import select

from analytics.agents import LENDER_ZONE, outlier_agents
from analytics.generate import (
    BASE_MIX,
    ROLL_MATRIX,
    AgentProfile,
    with_share,
    write_calls,
    write_portfolio,
    write_snapshots,
)
from analytics.periods import Period, local_midnight
from analytics.portfolio import Month, roll_rates
from analytics.promises import evaluate_promises
from crm.buckets import Bucket
from crm.models import Promise
from tests.conftest import Database

FEBRUARY = Period(date(2026, 2, 1), date(2026, 2, 28))
TODAY = date(2026, 3, 20)  # every February promise's window (date + up to 10 days + 2) is closed
PLANTED = {
    "TC900": ("rnr", AgentProfile("TC900", with_share(BASE_MIX, "RNR", 0.6))),
    "TC901": ("wrong_number", AgentProfile("TC901", with_share(BASE_MIX, "WRONG_NUMBER", 0.12))),
    "TC902": ("ptp", AgentProfile("TC902", with_share(BASE_MIX, "PTP", 0.30))),
    "TC903": ("ptp_kept", AgentProfile("TC903", keep_rate=0.15)),
}


def generate_calls(
    db: Database, profiles: list[AgentProfile], calls_per_agent: int
) -> dict[str, str]:
    accounts = write_portfolio(db.engine, accounts=2500, seed=5, as_of=date(2026, 1, 31))
    with db.engine.begin() as conn:
        truth = write_calls(
            conn,
            profiles=profiles,
            calls_per_agent=calls_per_agent,
            account_ids=accounts,
            start=local_midnight(FEBRUARY.start, LENDER_ZONE),
            end=local_midnight(date(2026, 3, 1), LENDER_ZONE),
            seed=11,
            today=TODAY,
        )
    return truth.promises


def test_planted_outliers_are_flagged_and_the_others_mostly_not(db: Database) -> None:
    honest = [AgentProfile(f"TC{n:03d}") for n in range(1, 31)] + [AgentProfile("BOT", kind="bot")]
    generate_calls(db, honest + [p for _rate, p in PLANTED.values()], calls_per_agent=600)
    now = datetime(2026, 3, 20, 21, tzinfo=UTC)
    with db.engine.begin() as conn:
        evaluate_promises(conn, today=TODAY, grace_days=2, now=now)
        flagged = outlier_agents(conn, start=FEBRUARY.start, end=FEBRUARY.end)
    for agent, (rate, _profile) in PLANTED.items():
        assert agent in flagged, f"{agent} (planted {rate}) was not flagged"
        assert any(reason.startswith(f"{rate} rate") for reason in flagged[agent]), flagged[agent]
    false_positives = set(flagged) - set(PLANTED)
    # Bonferroni at 5 % family-wise: at most one honest agent flagged by chance, usually none.
    assert len(false_positives) <= 1, {a: flagged[a] for a in false_positives}


def test_kept_and_broken_promises_match_the_generator(db: Database) -> None:
    truth = generate_calls(db, [AgentProfile(f"TC{n:03d}") for n in range(1, 11)], 300)
    assert {"kept", "broken"} <= set(truth.values())
    now = datetime(2026, 3, 20, 21, tzinfo=UTC)
    with db.engine.begin() as conn:
        changed = evaluate_promises(conn, today=TODAY, grace_days=2, now=now)
        rows = conn.execute(select(Promise.call_id, Promise.status)).all()
    assert {row.call_id: row.status.value for row in rows} == truth
    assert changed == sum(1 for status in truth.values() if status != "pending")
    with db.engine.begin() as conn:  # evaluating again changes nothing
        assert evaluate_promises(conn, today=TODAY, grace_days=2, now=now) == 0


def test_roll_rates_give_back_the_generating_matrix(db: Database) -> None:
    accounts = write_portfolio(db.engine, accounts=4000, seed=7, as_of=date(2026, 1, 31))
    with db.engine.begin() as conn:
        write_snapshots(
            conn, account_ids=accounts, last_month_end=date(2026, 1, 31), months=13, seed=3
        )
    with db.engine.connect() as conn:
        answer = roll_rates(conn, from_month=Month(2025, 9))
    assert (answer["from_month"], answer["to_month"]) == ("2025-09", "2025-10")
    for source, row in answer["counts"].items():
        n = sum(row.values())
        assert math.isclose(sum(answer["matrix"][source].values()), 1.0)
        for target, share in answer["matrix"][source].items():
            p = ROLL_MATRIX[Bucket(source)].get(Bucket(target), 0.0)
            tolerance = 4.5 * math.sqrt(max(p * (1 - p), 0.25 / n) / n)  # 4.5 standard errors
            assert abs(share - p) <= tolerance, (source, target, share, p, n)
    assert sum(sum(row.values()) for row in answer["counts"].values()) == len(accounts)
