"""The QA job: flag every call of a period, then draw that period's sample (one transaction)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select

from analytics.agents import outlier_agents
from analytics.qa.models import QaSample
from analytics.qa.sampling import Draw, SamplingPlan
from analytics.qa.service import flag_calls, period_bounds, run_sampling
from crm.models import Call
from duecall.context import AppContext
from duecall.db import reading, transaction

FLAG_BATCH = 1000  # calls whose transcripts are read at once


def sample_period(
    context: AppContext,
    *,
    start: date,
    end: date,
    plan: SamplingPlan,
    outliers: Collection[str] | None = None,
) -> tuple[QaSample, list[Draw]]:
    """Flag the period's calls and draw its sample.

    `outliers` default to the agents analytics flags for the same period (`outlier_agents`).
    """
    zone = ZoneInfo(context.settings.default_timezone)
    if outliers is None:
        with reading(context.engine) as conn:
            outliers = frozenset(outlier_agents(conn, start=start, end=end, zone=zone))
    start_at, end_at = period_bounds(start, end, zone)
    now = context.clock.now()
    with transaction(context.sessions) as session:
        call_ids = list(
            session.scalars(
                select(Call.call_id).where(Call.started_at >= start_at, Call.started_at < end_at)
            )
        )
        for i in range(0, len(call_ids), FLAG_BATCH):
            flag_calls(
                session,
                call_ids[i : i + FLAG_BATCH],
                policy=context.policy,
                zone=context.settings.default_timezone,
                now=now,
            )
        return run_sampling(
            session, start=start, end=end, plan=plan, outliers=outliers, zone=zone, now=now
        )
