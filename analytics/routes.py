"""Analytics API (`/api/analytics/...`), CSV exports of every table, and the dashboard page."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from analytics import charts, reports
from analytics.agents import DISPOSITION_CODES
from crm.models import Role
from duecall.auth import Principal
from duecall.db import reading
from duecall.deps import ClockDep, ContextDep, RoleCheck
from web.session import PageOrToken

router = APIRouter(tags=["analytics"])

# Tele-callers may see their own figures; the portfolio is for managers and QA.
AgentFigures = Annotated[
    Principal, Depends(RoleCheck(Role.ADMIN, Role.SUPERVISOR, Role.QA, Role.AGENT))
]
Portfolio = Annotated[Principal, Depends(RoleCheck(Role.ADMIN, Role.SUPERVISOR, Role.QA))]
# The dashboard and its CSV links: opened in the browser (screen login) or fetched with a token.
PortfolioPage = Annotated[Principal, Depends(PageOrToken(Role.ADMIN, Role.SUPERVISOR, Role.QA))]
AgentFiguresPage = Annotated[
    Principal, Depends(PageOrToken(Role.ADMIN, Role.SUPERVISOR, Role.QA, Role.AGENT))
]
FromQuery = Annotated[date | None, Query(alias="from", description="First day (YYYY-MM-DD).")]
ToQuery = Annotated[date | None, Query(alias="to", description="Last day (YYYY-MM-DD).")]
MonthQuery = Annotated[str | None, Query(description="Roll rates from this month (YYYY-MM).")]

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
_pages = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())


def _query(
    context: ContextDep,
    clock: ClockDep,
    principal: Principal,
    start: date | None,
    end: date | None,
    from_month: str | None = None,
) -> reports.ReportQuery:
    zone = ZoneInfo(context.settings.default_timezone)
    return reports.ReportQuery.build(
        start=start,
        end=end,
        today=clock.now().astimezone(zone).date(),
        zone=zone,
        from_month=from_month,
        only_agent=principal.agent_id or "" if principal.role is Role.AGENT else None,
    )


def _answer(context: ContextDep, name: str, query: reports.ReportQuery) -> dict[str, Any]:
    with reading(context.engine) as conn:
        return reports.answer(name, conn, query)


@router.get("/api/analytics/agents")
def agents(
    context: ContextDep, clock: ClockDep, principal: AgentFigures, start: FromQuery = None,
    end: ToQuery = None,
) -> dict[str, Any]:  # fmt: skip
    """Agent quality for the period (default the 30 days to today); an agent sees their row."""
    return _answer(context, "agents", _query(context, clock, principal, start, end))


@router.get("/api/analytics/ptp")
def ptp(
    context: ContextDep, clock: ClockDep, principal: AgentFigures, start: FromQuery = None,
    end: ToQuery = None,
) -> dict[str, Any]:  # fmt: skip
    """Promises made in the period per agent: kept, broken, pending and amounts."""
    return _answer(context, "ptp", _query(context, clock, principal, start, end))


@router.get("/api/analytics/roll-rates")
def roll_rates(
    context: ContextDep, clock: ClockDep, principal: Portfolio, from_month: MonthQuery = None
) -> dict[str, Any]:
    """SPEC's roll-rate matrix from `from_month` to the next (default: the latest pair)."""
    query = _query(context, clock, principal, None, None, from_month)
    return _answer(context, "roll-rates", query)


@router.get("/api/analytics/cohorts")
def cohorts(
    context: ContextDep, clock: ClockDep, principal: Portfolio, start: FromQuery = None,
    end: ToQuery = None,
) -> dict[str, Any]:  # fmt: skip
    """SPEC's NPA cohort recovery curves (NPA dates in the period when given)."""
    return _answer(context, "cohorts", _query(context, clock, principal, start, end))


@router.get("/api/analytics/buckets")
def buckets(
    context: ContextDep, clock: ClockDep, principal: Portfolio, start: FromQuery = None,
    end: ToQuery = None,
) -> dict[str, Any]:  # fmt: skip
    """Accounts per bucket month by month (default: the 12 months to today)."""
    return _answer(context, "buckets", _query(context, clock, principal, start, end))


@router.get("/api/analytics/products")
def products(
    context: ContextDep, clock: ClockDep, principal: Portfolio, start: FromQuery = None,
    end: ToQuery = None,
) -> dict[str, Any]:  # fmt: skip
    """Per product: NPA rates now and the period's recovery rate."""
    return _answer(context, "products", _query(context, clock, principal, start, end))


@router.get("/api/analytics/channels")
def channels(
    context: ContextDep, clock: ClockDep, principal: Portfolio, start: FromQuery = None,
    end: ToQuery = None,
) -> dict[str, Any]:  # fmt: skip
    """Per sourcing channel: NPA rates now and the period's recovery rate."""
    return _answer(context, "channels", _query(context, clock, principal, start, end))


@router.get("/api/analytics/{table}.csv", response_class=Response)
def table_csv(
    table: str, context: ContextDep, clock: ClockDep, principal: AgentFiguresPage,
    start: FromQuery = None, end: ToQuery = None, from_month: MonthQuery = None,
) -> Response:  # fmt: skip
    """Any table as CSV: agents, agencies, ptp, roll-rates, cohorts, buckets, products, channels."""
    if principal.role is Role.AGENT and table not in ("agents", "ptp"):
        return Response("an agent may export only the agents and ptp tables", status_code=403)
    query = _query(context, clock, principal, start, end, from_month)
    with reading(context.engine) as conn:
        flat = reports.table(table, conn, query)
    return Response(
        flat.to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{table}.csv"'},
    )


@router.get("/analytics", response_class=HTMLResponse, include_in_schema=False)
def dashboard(
    context: ContextDep, clock: ClockDep, principal: PortfolioPage, start: FromQuery = None,
    end: ToQuery = None, from_month: MonthQuery = None,
) -> HTMLResponse:  # fmt: skip
    """The managers' page: agent mix with outliers, roll-rate heat map, cohort curves, tables."""
    query = _query(context, clock, principal, start, end, from_month)
    with reading(context.engine) as conn:
        answers = {name: reports.answer(name, conn, query) for name in reports.REPORTS}
        tables = {name: reports.TABLES[name][1](answers[reports.TABLES[name][0]])
                  for name in reports.TABLES}  # fmt: skip
    rows, cells = charts.heat_map(answers["roll-rates"])
    curves, top = charts.cohort_curves(answers["cohorts"])
    page = _pages.get_template("analytics/dashboard.html").render(
        period=query.period,
        answers=answers,
        tables=tables,
        bars=charts.disposition_bars(answers["agents"]["agents"]),
        legend=[(code, charts.COLOURS[code]) for code in DISPOSITION_CODES],
        heat_rows=rows,
        heat_cells=cells,
        curves=curves,
        curve_top=top,
        csv_query=f"from={query.period.start}&to={query.period.end}",
    )
    return HTMLResponse(page)
