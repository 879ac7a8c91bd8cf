"""Agent and agency quality for a period, aggregated in the database.

Definitions (a call belongs to the period by its start, in the lender's zone):
- attempts: calls with a disposition (a call still in progress is not counted yet);
  contacts and right-party contacts (RPC) by SPEC's disposition table (`crm.dispositions`).
- rates: contact = contacts / attempts, rpc = RPC / attempts, ptp = PTP / RPC,
  rnr = RNR / attempts, wrong_number = WRONG_NUMBER / contacts.
- promises: those made in the period (their `promised_on`), credited to the agent of the call
  that took them. kept rate = kept / (kept + broken); kept amount rate = promised amount of
  the kept ones / promised amount of the kept and broken ones (pending promises wait).
  recovered = payments counted toward the agent's evaluated promises (`paid_amount`).
- cases: accounts allocated to the agent now (the store keeps only the current allocation);
  resolved: those with nothing overdue whose latest payment falls in the period; resolution
  time: days from the UTC date of the agent's first call to the account to that payment.
- complaints: ESCALATED calls (complaint, abuse or a request for a supervisor).
  compliance flags: calls the dialer or the API placed without a compliance receipt.
- qa_score: the QA reviews' average score once QA stores them (null until then).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    and_,
    case,
    cast,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from analytics.models import (
    NO_KEY,
    AgentAccounts,
    CallDay,
    CallMonth,
    PromiseDay,
    PromiseMonth,
    Resolution,
)
from analytics.periods import Period, UtcSpan, count_plan, days_of, utc_span
from analytics.sql import connection_of
from analytics.stats import Outlier, Proportion, find_outliers
from crm.dispositions import BY_CODE, CONTACT_CODES, DISPOSITIONS, RPC_CODES
from crm.models import Agent, Call, PromiseStatus
from duecall.db import table_of

LENDER_ZONE = ZoneInfo("Asia/Kolkata")  # DUECALL_DEFAULT_TIMEZONE's default
OUTLIER_RATES = ("rnr", "wrong_number", "ptp", "ptp_kept")
DISPOSITION_CODES = tuple(d.code for d in DISPOSITIONS)


@dataclass
class AgentRow:
    agent_id: str
    name: str = ""
    kind: str = "human"
    agency_id: str | None = None
    dispositions: dict[str, int] = field(default_factory=dict)
    compliance_flags: int = 0
    promises: dict[str, tuple[int, Decimal, Decimal]] = field(default_factory=dict)
    cases_assigned: int = 0
    cases_resolved: int = 0
    resolution_days_total: int = 0
    resolution_days_known: int = 0
    qa_score: float | None = None
    outlier_reasons: list[str] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        return sum(self.dispositions.values())

    @property
    def contacts(self) -> int:
        return sum(n for code, n in self.dispositions.items() if code in CONTACT_CODES)

    @property
    def rpc(self) -> int:
        return sum(n for code, n in self.dispositions.items() if code in RPC_CODES)

    def count(self, code: str) -> int:
        return self.dispositions.get(code, 0)

    def _promises(self, status: PromiseStatus) -> tuple[int, Decimal, Decimal]:
        zero = Decimal("0.00")
        return self.promises.get(status.value, (0, zero, zero))

    @property
    def ptp_kept(self) -> Proportion:
        kept, broken = self._promises(PromiseStatus.KEPT), self._promises(PromiseStatus.BROKEN)
        return Proportion(kept[0], kept[0] + broken[0])

    def proportions(self) -> dict[str, Proportion]:
        """The rates the outlier test compares, as successes over trials."""
        return {
            "contact": Proportion(self.contacts, self.attempts),
            "rpc": Proportion(self.rpc, self.attempts),
            "ptp": Proportion(self.count("PTP"), self.rpc),
            "rnr": Proportion(self.count("RNR"), self.attempts),
            "wrong_number": Proportion(self.count("WRONG_NUMBER"), self.contacts),
            "ptp_kept": self.ptp_kept,
        }

    def as_json(self) -> dict[str, Any]:
        """SPEC's agent object, extended."""
        rates = {k: _rounded(p.share) for k, p in self.proportions().items()}
        kept, broken = self._promises(PromiseStatus.KEPT), self._promises(PromiseStatus.BROKEN)
        pending = self._promises(PromiseStatus.PENDING)
        evaluated_amount = kept[1] + broken[1]
        return {
            "agent_id": self.agent_id,
            "name": self.name,
            "kind": self.kind,
            "agency_id": self.agency_id,
            "attempts": self.attempts,
            "contacts": self.contacts,
            "rpc": self.rpc,
            "ptp": self.count("PTP"),
            "dispositions": {
                c: self.dispositions[c] for c in DISPOSITION_CODES if c in self.dispositions
            },
            "rates": {k: rates[k] for k in ("contact", "rpc", "ptp", "rnr", "wrong_number")},
            "ptp_kept_rate": rates["ptp_kept"],
            "ptp_kept_amount_rate": _rounded(
                float(kept[1] / evaluated_amount) if evaluated_amount else None
            ),
            "promises": {"kept": kept[0], "broken": broken[0], "pending": pending[0]},
            "promised_amount": _money(kept[1] + broken[1] + pending[1]),
            "kept_amount": _money(kept[1]),
            "recovered_amount": _money(kept[2] + broken[2]),
            "cases_assigned": self.cases_assigned,
            "cases_resolved": self.cases_resolved,
            "resolution_rate": _rounded(
                self.cases_resolved / self.cases_assigned if self.cases_assigned else None
            ),
            "avg_resolution_days": _rounded(
                self.resolution_days_total / self.resolution_days_known
                if self.resolution_days_known
                else None
            ),
            "complaints": self.count("ESCALATED"),
            "compliance_flags": self.compliance_flags,
            "qa_score": self.qa_score,
            "outlier": bool(self.outlier_reasons),
            "outlier_reasons": self.outlier_reasons,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _paise(value: Any) -> Decimal:
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


# --- queries -----------------------------------------------------------------------------------


def _unreceipted(calls: Any) -> ColumnElement[int]:
    """The trigger's definition of a compliance flag, over raw calls (migration 0004)."""
    no_receipt = or_(
        calls.c.compliance_receipt.is_(None), cast(calls.c.compliance_receipt, Text) == "null"
    )
    return case((and_(calls.c.source != "import", no_receipt), 1), else_=0)


def disposition_counts(
    conn: Connection, period: Period, zone: ZoneInfo
) -> list[tuple[str, str, int, int]]:
    """(agent, disposition, calls, compliance flags) in the period: whole UTC months from the
    per-month counts, the other whole UTC days from the per-day counts, the partial days at the
    edges from the calls themselves (see `_edge_calls`)."""
    span = utc_span(period, zone)
    months, days, calls = table_of(CallMonth), table_of(CallDay), table_of(Call)
    whole_days = days_of(span.first_whole_day, span.end_whole_day)
    edges = _edge_calls(span, whole_days)
    month_runs, day_runs = count_plan(whole_days)
    # Each part sums itself: the counts in key order or by day, the edges by the index on
    # started_at (`ix_calls_recent_history`).
    parts: list[Any] = []
    for table, column in ((months, months.c.month), (days, days.c.day)):
        for sign, first, end in month_runs if table is months else day_runs:
            parts.append(
                select(
                    table.c.agent_key,
                    table.c.disposition_key,
                    (sign * func.sum(table.c.calls)).label("calls"),
                    (sign * func.sum(table.c.unreceipted)).label("unreceipted"),
                )
                .where(column >= first, column < end)
                .group_by(table.c.agent_key, table.c.disposition_key)
            )
    agent = func.coalesce(calls.c.agent_id, NO_KEY)
    disposition = func.coalesce(calls.c.disposition, NO_KEY)
    for sign, start, end in edges:
        parts.append(
            select(
                agent.label("agent_key"),
                disposition.label("disposition_key"),
                (sign * func.count()).label("calls"),
                (sign * func.sum(_unreceipted(calls))).label("unreceipted"),
            )
            .where(calls.c.started_at >= start, calls.c.started_at < end)
            .group_by(agent, disposition)
        )
    rows = union_all(*parts).subquery()
    query = (
        select(
            rows.c.agent_key,
            rows.c.disposition_key,
            func.sum(rows.c.calls),
            func.sum(rows.c.unreceipted),
        )
        .group_by(rows.c.agent_key, rows.c.disposition_key)
        .having(or_(func.sum(rows.c.calls) != 0, func.sum(rows.c.unreceipted) != 0))
    )
    return [(a, d, int(n), int(u)) for a, d, n, u in conn.execute(query)]


def _edge_calls(span: UtcSpan, whole_days: list[date]) -> list[tuple[int, datetime, datetime]]:
    """The calls to count (+1) or take back (-1) for the partial days at the span's edges: a
    partial day longer than half a day is read as the whole day from the per-day counts (added
    to `whole_days`) minus the calls of the rest of it, so at most half a day of calls is read
    at each edge."""
    out: list[tuple[int, datetime, datetime]] = []
    for start, end in span.edges:
        day = start.date()
        midnight = datetime.combine(day, time(), UTC)
        next_midnight = midnight + timedelta(days=1)
        if end - start <= timedelta(hours=12) or end > next_midnight:
            out.append((1, start, end))
            continue
        whole_days.append(day)
        out += [(-1, a, b) for a, b in ((midnight, start), (end, next_midnight)) if a < b]
    return out


def promise_counts(conn: Connection, period: Period) -> list[tuple[str, str, int, int, int]]:
    """(agent, status, promises, amount, paid) in paise for promises made in the period: whole
    months from the per-month counts, the other days from the per-day counts."""
    months, days = table_of(PromiseMonth), table_of(PromiseDay)
    month_runs, day_runs = count_plan(days_of(period.start, period.end + timedelta(days=1)))
    parts: list[Any] = []
    for table, column in ((months, months.c.month), (days, days.c.promised_on)):
        for sign, first, end in month_runs if table is months else day_runs:
            parts.append(
                select(
                    table.c.agent_key,
                    table.c.status,
                    (sign * func.sum(table.c.promises)).label("promises"),
                    (sign * func.sum(table.c.amount)).label("amount"),
                    (sign * func.sum(table.c.paid_amount)).label("paid_amount"),
                )
                .where(column >= first, column < end)
                .group_by(table.c.agent_key, table.c.status)
            )
    rows = union_all(*parts).subquery()
    query = (
        select(
            rows.c.agent_key,
            rows.c.status,
            func.sum(rows.c.promises),
            func.sum(rows.c.amount),
            func.sum(rows.c.paid_amount),
        )
        .group_by(rows.c.agent_key, rows.c.status)
        .having(func.sum(rows.c.promises) != 0)
    )
    return [(a, s, int(n), int(m), int(p)) for a, s, n, m, p in conn.execute(query)]


def case_counts(conn: Connection, period: Period) -> list[tuple[str, int, int, int, int]]:
    """(agent, cases assigned, resolved in the period, resolution days summed, days known),
    from the accounts per agent and the resolved cases the triggers keep (migration 0009)."""
    assigned, resolutions = table_of(AgentAccounts), table_of(Resolution)
    outcomes = (
        select(
            resolutions.c.agent_id,
            func.count(),
            func.sum(resolutions.c.days),
            func.count(resolutions.c.days),
        )
        .where(resolutions.c.paid_on >= period.start, resolutions.c.paid_on <= period.end)
        .group_by(resolutions.c.agent_id)
    )
    found = {a: (int(n), int(d or 0), int(k)) for a, n, d, k in conn.execute(outcomes)}
    cases = select(assigned.c.agent_id, assigned.c.accounts).where(assigned.c.accounts != 0)
    return [(agent, int(n), *found.get(agent, (0, 0, 0))) for agent, n in conn.execute(cases)]


def qa_scores(conn: Connection, period: Period, zone: ZoneInfo = LENDER_ZONE) -> dict[str, float]:
    """Average QA review score (0-100) per agent, over reviewed calls of the period."""
    from analytics.qa.models import QaReview  # QA builds on analytics, not the reverse

    span = utc_span(period, zone)
    # Driven by the reviews (few), each looking its call up by key: a join lets SQLite scan
    # the period's calls instead.
    in_period = (
        select(Call.call_id)
        .where(
            Call.call_id == QaReview.call_id,
            Call.started_at >= span.start,
            Call.started_at < span.end,
        )
        .exists()
    )
    rows = conn.execute(
        select(QaReview.agent_id, func.avg(QaReview.score))
        .where(QaReview.agent_id.is_not(None), in_period)
        .group_by(QaReview.agent_id)
    )
    return {agent: round(float(score), 1) for agent, score in rows}


def agent_rows(
    conn_or_session: Connection | Session,
    *,
    start: date,
    end: date,
    zone: ZoneInfo = LENDER_ZONE,
    with_cases: bool = True,
) -> list[AgentRow]:
    """Every agent with calls, promises or cases in the period, with outliers marked."""
    conn = connection_of(conn_or_session)
    period = Period(start, end)
    rows: dict[str, AgentRow] = {}

    def row(agent: str) -> AgentRow:
        return rows.setdefault(agent, AgentRow(agent))

    for agent, code, n, flags in disposition_counts(conn, period, zone):
        r = row(agent)
        if code in BY_CODE:
            r.dispositions[code] = r.dispositions.get(code, 0) + n
        r.compliance_flags += flags
    for agent, status, n, amount, paid in promise_counts(conn, period):
        row(agent).promises[status] = (n, _paise(amount), _paise(paid))
    if with_cases:
        for agent, assigned, resolved, days, known in case_counts(conn, period):
            r = row(agent)
            r.cases_assigned, r.cases_resolved = assigned, resolved
            r.resolution_days_total, r.resolution_days_known = days, known
    for agent, score in qa_scores(conn, period).items():
        row(agent).qa_score = score
    rows.pop(NO_KEY, None)
    agents = table_of(Agent)
    for agent_id, name, kind, agency in conn.execute(
        select(agents.c.agent_id, agents.c.name, agents.c.kind, agents.c.agency_id).where(
            agents.c.agent_id.in_(list(rows))
        )
    ):
        rows[agent_id].name, rows[agent_id].kind, rows[agent_id].agency_id = name, str(kind), agency
    flagged = mark_outliers(rows.values())
    return sorted(flagged, key=lambda r: r.agent_id)


def _outliers_among(rows: Iterable[AgentRow]) -> dict[str, list[Outlier]]:
    counts = {
        r.agent_id: {k: p for k, p in r.proportions().items() if k in OUTLIER_RATES} for r in rows
    }
    return find_outliers(counts)


def mark_outliers(rows: Iterable[AgentRow]) -> list[AgentRow]:
    rows = list(rows)
    found = _outliers_among(rows)
    return [replace(r, outlier_reasons=[o.reason for o in found[r.agent_id]]) for r in rows]


def outliers(
    conn_or_session: Connection | Session, *, start: date, end: date, zone: ZoneInfo = LENDER_ZONE
) -> dict[str, list[Outlier]]:
    """The flagged agents of the period with each rate that differs (for QA sampling)."""
    rows = agent_rows(conn_or_session, start=start, end=end, zone=zone, with_cases=False)
    return {agent: found for agent, found in _outliers_among(rows).items() if found}


def outlier_agents(
    conn_or_session: Connection | Session, *, start: date, end: date, zone: ZoneInfo = LENDER_ZONE
) -> dict[str, list[str]]:
    """Agents flagged as outliers in the period, each with the reasons (feeds QA sampling)."""
    found = outliers(conn_or_session, start=start, end=end, zone=zone)
    return {agent: [o.reason for o in items] for agent, items in found.items()}


def agency_rows(rows: Iterable[AgentRow]) -> list[dict[str, Any]]:
    """The agents' figures summed per agency (agents without one under `null`)."""
    merged: dict[str | None, AgentRow] = {}
    for r in rows:
        m = merged.setdefault(r.agency_id, AgentRow(r.agency_id or NO_KEY, agency_id=r.agency_id))
        for code, n in r.dispositions.items():
            m.dispositions[code] = m.dispositions.get(code, 0) + n
        for status, (n, amount, paid) in r.promises.items():
            n0, a0, p0 = m.promises.get(status, (0, Decimal("0.00"), Decimal("0.00")))
            m.promises[status] = (n0 + n, a0 + amount, p0 + paid)
        m.compliance_flags += r.compliance_flags
        m.cases_assigned += r.cases_assigned
        m.cases_resolved += r.cases_resolved
        m.resolution_days_total += r.resolution_days_total
        m.resolution_days_known += r.resolution_days_known
    out = []
    for agency, m in sorted(merged.items(), key=lambda kv: kv[0] or ""):
        data = m.as_json()
        for key in ("agent_id", "name", "kind", "qa_score", "outlier", "outlier_reasons"):
            data.pop(key)
        out.append({"agency_id": agency, **data})
    return out


def agents_report(
    conn_or_session: Connection | Session,
    *,
    start: date,
    end: date,
    zone: ZoneInfo = LENDER_ZONE,
    only_agent: str | None = None,
) -> dict[str, Any]:
    """SPEC's `/api/analytics/agents` answer, extended with the period and agencies."""
    rows = agent_rows(conn_or_session, start=start, end=end, zone=zone)
    visible = [r for r in rows if only_agent is None or r.agent_id == only_agent]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "agents": [r.as_json() for r in visible],
        "agencies": agency_rows(visible) if only_agent is None else [],
    }
