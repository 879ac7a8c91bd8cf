"""What QA stores: automatic flags, samples, reviews and every access to a recording."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from duecall.db import Base, UTCDateTime


class QaFlag(Base):
    """An automatic flag raised on a call (analytics.qa.flags); recomputed per call."""

    __tablename__ = "qa_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    flag: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    turn: Mapped[int | None] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QaSample(Base):
    """One sampling run: the period, the plan and the seed it was drawn with."""

    __tablename__ = "qa_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_start: Mapped[date]
    period_end: Mapped[date]  # inclusive
    rate: Mapped[float]
    minimum: Mapped[int]
    outlier_factor: Mapped[float]
    seed: Mapped[int]
    outliers: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QaSampleCall(Base):
    __tablename__ = "qa_sample_calls"

    sample_id: Mapped[int] = mapped_column(
        ForeignKey("qa_samples.id", ondelete="CASCADE"), primary_key=True
    )
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    agent_id: Mapped[str] = mapped_column(String(64))
    disposition: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(16))  # analytics.qa.sampling.Reason


class QaReview(Base):
    """A reviewer's scorecard for a call; the agent who made the call acknowledges it."""

    __tablename__ = "qa_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id", ondelete="CASCADE"))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.agent_id"))
    reviewer: Mapped[str] = mapped_column(String(100))
    scorecard: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, bool]] = mapped_column(JSON)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    auto_failed: Mapped[bool] = mapped_column(Boolean)
    comments: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_qa_reviews_call", "call_id"),
        Index("ix_qa_reviews_agent_created", "agent_id", "created_at"),
    )


class RecordingAccess(Base):
    """Every attempt to play a recording, allowed or not (who, which, when, what happened)."""

    __tablename__ = "recording_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL"), index=True
    )
    call_id: Mapped[str | None] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(
        String(32)
    )  # served | refused | not_found | provider_error
    at: Mapped[datetime] = mapped_column(UTCDateTime)
