"""QA in the store: flags on calls, sampling runs, reviews and the recording access log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, exists, func, insert, select
from sqlalchemy.orm import Session

from analytics.qa.flags import Raised, Turn, transcript_flags, window_flag
from analytics.qa.models import QaFlag, QaReview, QaSample, QaSampleCall, RecordingAccess
from analytics.qa.sampling import Draw, RecordedCall, SamplingPlan, draw_sample
from analytics.qa.scorecard import DEFAULT, Scorecard, score
from compliance.policy import Policy
from crm.models import Account, Call, Recording, TranscriptTurn
from duecall.auth import Principal
from duecall.errors import Forbidden, InvalidInput, NotFound

# Calls that raise a complaint: the borrower escalated (SPEC: ESCALATED is a complaint, abuse
# or a request for a supervisor). The sampler takes them as a parameter, so a complaints
# register can feed it later.
COMPLAINT_DISPOSITIONS = ("ESCALATED",)


def period_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants of local days `start` to `end` inclusive, as [from, to)."""
    return (
        datetime.combine(start, time(0), zone),
        datetime.combine(end + timedelta(days=1), time(0), zone),
    )


def flag_calls(
    session: Session, call_ids: Sequence[str], *, policy: Policy, zone: str, now: datetime
) -> dict[str, list[Raised]]:
    """Recompute the automatic flags of the given calls and store them; returns them."""
    turns: dict[str, list[Turn]] = defaultdict(list)
    for call_id, speaker, text in session.execute(
        select(TranscriptTurn.call_id, TranscriptTurn.speaker, TranscriptTurn.text)
        .where(TranscriptTurn.call_id.in_(call_ids))
        .order_by(TranscriptTurn.call_id, TranscriptTurn.seq)
    ):
        turns[call_id].append(Turn(str(speaker), text))
    facts = session.execute(
        select(Call.call_id, Call.started_at, Call.callback_at, Account.dpd, Account.timezone)
        .join(Account, Account.account_id == Call.account_id)
        .where(Call.call_id.in_(call_ids))
    ).all()
    raised: dict[str, list[Raised]] = {}
    for call_id, started_at, callback_at, dpd, timezone in facts:
        found = transcript_flags(turns.get(call_id, []))
        outside = window_flag(
            started_at, zone=timezone or zone, dpd=dpd, policy=policy, callback=False
        )
        if outside is not None and callback_at is None:
            found.append(outside)
        raised[call_id] = found
    session.execute(delete(QaFlag).where(QaFlag.call_id.in_(call_ids)))
    rows = [
        {"call_id": c, "flag": r.flag.value, "detail": r.detail, "turn": r.turn, "raised_at": now}
        for c, found in raised.items()
        for r in found
    ]
    if rows:
        session.execute(insert(QaFlag), rows)
    return raised


def _recorded(start_at: datetime, end_at: datetime) -> list[ColumnElement[bool]]:
    return [
        Call.started_at >= start_at,
        Call.started_at < end_at,
        Call.agent_id.is_not(None),
        exists().where(Recording.call_id == Call.call_id),
    ]


def run_sampling(
    session: Session,
    *,
    start: date,
    end: date,
    plan: SamplingPlan,
    outliers: Collection[str],
    zone: ZoneInfo,
    now: datetime,
) -> tuple[QaSample, list[Draw]]:
    """Draw and store the sample of recorded calls started in local days `start`..`end`."""
    if end < start:
        raise InvalidInput("end", "must not be before start")
    start_at, end_at = period_bounds(start, end, zone)
    where = _recorded(start_at, end_at)
    calls = [
        RecordedCall(call_id, agent_id or "", disposition or "")
        for call_id, agent_id, disposition in session.execute(
            select(Call.call_id, Call.agent_id, Call.disposition).where(*where)
        )
    ]
    flagged = set(
        session.scalars(
            select(QaFlag.call_id).join(Call, Call.call_id == QaFlag.call_id).where(*where)
        )
    )
    complaints = set(
        session.scalars(
            select(Call.call_id).where(*where, Call.disposition.in_(COMPLAINT_DISPOSITIONS))
        )
    )
    draws = draw_sample(calls, plan, outliers=outliers, flagged=flagged, complaints=complaints)
    sample = QaSample(
        period_start=start,
        period_end=end,
        rate=plan.rate,
        minimum=plan.minimum,
        outlier_factor=plan.outlier_factor,
        seed=plan.seed,
        outliers=sorted(outliers),
        created_at=now,
    )
    session.add(sample)
    session.flush()
    if draws:
        session.execute(
            insert(QaSampleCall),
            [
                {
                    "sample_id": sample.id,
                    "call_id": d.call_id,
                    "agent_id": d.agent_id,
                    "disposition": d.disposition,
                    "reason": d.reason.value,
                }
                for d in draws
            ],
        )
    return sample, draws


def save_review(
    session: Session,
    *,
    call_id: str,
    reviewer: Principal,
    answers: dict[str, bool],
    comments: str,
    now: datetime,
    card: Scorecard = DEFAULT,
) -> QaReview:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"no call {call_id!r}")
    result = score(card, answers)
    review = QaReview(
        call_id=call_id,
        agent_id=call.agent_id,
        reviewer=reviewer.name,
        scorecard=card.name,
        answers=answers,
        score=result.score,
        auto_failed=bool(result.auto_failed),
        comments=comments.strip(),
        created_at=now,
    )
    session.add(review)
    session.flush()
    return review


def acknowledge(session: Session, *, review_id: int, agent: Principal, now: datetime) -> QaReview:
    """The agent has read their review (only the agent whose call it was may say so)."""
    review = session.get(QaReview, review_id)
    if review is None:
        raise NotFound(f"no review {review_id}")
    if agent.agent_id is None or review.agent_id != agent.agent_id:
        raise Forbidden("this review is not of your call")
    if review.acknowledged_at is None:
        review.acknowledged_at = now
    return review


def log_recording_access(
    session: Session,
    *,
    user: Principal,
    outcome: str,
    now: datetime,
    recording_id: int | None,
    call_id: str | None,
) -> None:
    session.add(
        RecordingAccess(
            recording_id=recording_id,
            call_id=call_id,
            user_name=user.name,
            role=str(user.role),
            outcome=outcome,
            at=now,
        )
    )


def average_scores(session: Session, *, since: datetime) -> dict[str, Decimal]:
    """Each agent's mean QA score over reviews made since `since`."""
    return {
        agent_id: Decimal(str(mean)).quantize(Decimal("0.1"))
        for agent_id, mean in session.execute(
            select(QaReview.agent_id, func.avg(QaReview.score))
            .where(QaReview.created_at >= since, QaReview.agent_id.is_not(None))
            .group_by(QaReview.agent_id)
        )
    }
