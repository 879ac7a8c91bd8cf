"""The named reports and tables the CLI, the API and the dashboard serve, built one way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from analytics import tables
from analytics.agents import agents_report
from analytics.periods import Period
from analytics.portfolio import (
    Month,
    bucket_distribution,
    cohorts,
    latest_snapshot_month,
    months_back,
    roll_rates,
    segments,
)
from analytics.promises import ptp_report
from duecall.errors import InvalidInput

REPORTS = ("agents", "roll-rates", "cohorts", "ptp", "buckets", "products", "channels")


@dataclass(frozen=True)
class ReportQuery:
    """What a report is asked for: a period of local dates, or a month for roll rates."""

    period: Period
    zone: ZoneInfo
    from_month: Month | None = None
    # Cohorts and the bucket distribution cover the book's history unless a start was given.
    explicit_start: bool = False
    only_agent: str | None = None  # an agent-role user sees only their own row

    @classmethod
    def build(
        cls,
        *,
        start: date | None,
        end: date | None,
        today: date,
        zone: ZoneInfo,
        from_month: str | None = None,
        only_agent: str | None = None,
    ) -> ReportQuery:
        return cls(
            Period.ending(start=start, end=end, today=today),
            zone,
            Month.parse(from_month) if from_month else None,
            explicit_start=start is not None,
            only_agent=only_agent,
        )


def answer(name: str, conn: Connection, query: ReportQuery) -> dict[str, Any]:
    """The JSON answer of report `name`."""
    period = query.period
    if name == "agents":
        return agents_report(
            conn, start=period.start, end=period.end, zone=query.zone, only_agent=query.only_agent
        )
    if name == "ptp":
        report = ptp_report(conn, start=period.start, end=period.end)
        if query.only_agent is not None:
            report["agents"] = [r for r in report["agents"] if r["agent_id"] == query.only_agent]
        return report
    if name == "roll-rates":
        return roll_rates(conn, from_month=_roll_month(conn, query))
    if name == "cohorts":
        if query.explicit_start:
            return cohorts(conn, start=period.start, end=period.end)
        return cohorts(conn, end=period.end)
    if name == "buckets":
        start = (
            period.start if query.explicit_start else date(period.end.year - 1, period.end.month, 1)
        )
        return bucket_distribution(conn, start=start, end=period.end)
    if name in ("products", "channels"):
        return segments(conn, by=name[:-1], start=period.start, end=period.end)
    raise InvalidInput("report", f"{name!r} is not one of {', '.join(REPORTS)}")


def _roll_month(conn: Connection, query: ReportQuery) -> Month:
    """The asked month; else --from's month; else the month before the latest snapshots'."""
    if query.from_month is not None:
        return query.from_month
    if query.explicit_start:
        return Month.of(query.period.start)
    latest = latest_snapshot_month(conn) or Month.of(query.period.end)
    return Month.of(months_back(latest.first_day, 1))


# Table name → the report it comes from and how it is flattened.
TABLES: dict[str, tuple[str, Callable[[dict[str, Any]], tables.Table]]] = {
    "agents": ("agents", tables.agents_table),
    "agencies": ("agents", lambda report: tables.agents_table(report, agencies=True)),
    "roll-rates": ("roll-rates", tables.roll_rates_table),
    "cohorts": ("cohorts", tables.cohorts_table),
    "ptp": ("ptp", tables.ptp_table),
    "buckets": ("buckets", tables.buckets_table),
    "products": ("products", tables.segments_table),
    "channels": ("channels", tables.segments_table),
}


def table(name: str, conn: Connection, query: ReportQuery) -> tables.Table:
    if name not in TABLES:
        raise InvalidInput("table", f"{name!r} is not one of {', '.join(TABLES)}")
    report, flatten = TABLES[name]
    return flatten(answer(report, conn, query))
