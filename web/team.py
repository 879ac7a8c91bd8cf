"""The supervisor's team view: live queue sizes, today's disposition mix and QA scores."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from analytics.qa.service import average_scores
from crm.models import Account, Agent, AgentKind, Call
from dialer.models import Channel, DialQueueEntry
from duecall.deps import ContextDep, SessionDep
from web.session import ScreenManager
from web.templating import render

router = APIRouter(tags=["screens"], include_in_schema=False)
QA_SCORE_DAYS = 30


@dataclass
class AgentRow:
    agent_id: str
    name: str
    allocated: int = 0
    due_now: int = 0  # in an agent campaign's queue and due now
    dispositions: dict[str, int] = field(default_factory=dict)
    qa_score: Decimal | None = None

    @property
    def calls_today(self) -> int:
        return sum(self.dispositions.values())


def team(session: Session, *, now: datetime, zone: ZoneInfo) -> list[AgentRow]:
    """Every active human agent with their queue, today's dispositions and mean QA score."""
    rows = {
        agent_id: AgentRow(agent_id, name)
        for agent_id, name in session.execute(
            select(Agent.agent_id, Agent.name)
            .where(Agent.kind == AgentKind.HUMAN, Agent.active.is_(True))
            .order_by(Agent.agent_id)
        )
    }
    for agent_id, allocated, due in session.execute(
        select(
            Account.assigned_agent_id,
            func.count(func.distinct(Account.account_id)),
            func.count(func.distinct(DialQueueEntry.account_id)),
        )
        .outerjoin(
            DialQueueEntry,
            and_(
                DialQueueEntry.account_id == Account.account_id,
                DialQueueEntry.channel == Channel.AGENT.value,
                DialQueueEntry.due_at <= now,
            ),
        )
        .where(Account.assigned_agent_id.in_(rows))
        .group_by(Account.assigned_agent_id)
    ):
        if agent_id is not None:
            rows[agent_id].allocated, rows[agent_id].due_now = allocated, due
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), zone)
    mix: dict[str, dict[str, int]] = defaultdict(dict)
    for agent_id, disposition, n in session.execute(
        select(Call.agent_id, Call.disposition, func.count())
        .where(Call.agent_id.in_(rows), Call.started_at >= midnight)
        .group_by(Call.agent_id, Call.disposition)
    ):
        if agent_id is not None:
            mix[agent_id][disposition or "—"] = n
    scores = average_scores(session, since=now - timedelta(days=QA_SCORE_DAYS))
    for agent_id, row in rows.items():
        row.dispositions = dict(sorted(mix.get(agent_id, {}).items()))
        row.qa_score = scores.get(agent_id)
    return list(rows.values())


@router.get("/team")
def team_page(
    request: Request, user: ScreenManager, context: ContextDep, session: SessionDep
) -> Response:
    rows = team(session, now=context.clock.now(), zone=ZoneInfo(context.settings.default_timezone))
    return render(request, "team.html", user, rows=rows, qa_days=QA_SCORE_DAYS)
