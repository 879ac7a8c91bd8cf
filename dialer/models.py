"""What the dialer stores: campaigns, the per-campaign dial queue, and the webhook events seen."""

from __future__ import annotations

import enum
from datetime import datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Time,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from duecall.db import Base, UTCDateTime


class Channel(enum.StrEnum):
    """How a campaign works the accounts of a bucket."""

    BOT = "bot"  # automated reminder calls by the conversation agent
    AGENT = "agent"  # a tele-caller's queue; the tele-caller places the call
    BOT_THEN_AGENT = "bot_then_agent"  # the bot first; accounts it cannot resolve go to people
    FIELD = "field"  # no calls: listed for field visits by the agency


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    buckets: Mapped[list[str]] = mapped_column(JSON)
    products: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every product
    agencies: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every agency
    channels: Mapped[dict[str, str]] = mapped_column(JSON)  # bucket -> Channel
    days: Mapped[list[str]] = mapped_column(JSON)  # mon..sun
    start: Mapped[time] = mapped_column(Time)  # local hours, further limited by the policy
    end: Mapped[time] = mapped_column(Time)
    max_concurrent: Mapped[int] = mapped_column(Integer)
    calls_per_second: Mapped[float] = mapped_column(Float)
    # disposition -> {"after_minutes": int, "max_per_day": int}
    retry_rules: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON, default=dict)
    bot_attempts_before_agent: Mapped[int] = mapped_column(Integer, default=2)
    # NPA under the bank's policy: only the tele-caller the account is allocated to may call.
    assigned_only: Mapped[bool] = mapped_column(Boolean, default=False)
    field_referral: Mapped[bool] = mapped_column(Boolean, default=False)  # exportable per agency
    predue_days: Mapped[int | None] = mapped_column(Integer)  # STANDARD: only due this soon
    # The earliest instant the next call may be placed: calls_per_second across every dialer.
    next_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DialQueueEntry(Base):
    """An account a campaign works: its channel, priority, and when it may next be dialled."""

    __tablename__ = "dial_queue"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.account_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    tier: Mapped[int] = mapped_column(Integer)  # 1 most urgent (see dialer.queue.PRIORITY)
    score: Mapped[float] = mapped_column(Float)  # within a tier, higher first
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)  # why it is not due now, if it is not
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The pick's order (tier, score highest first, account) read straight from the index, with
# due_at in it so entries parked for later are skipped without reading the row.
Index(
    "ix_dial_queue_pick",
    DialQueueEntry.campaign_id,
    DialQueueEntry.channel,
    DialQueueEntry.tier,
    DialQueueEntry.score.desc(),
    DialQueueEntry.account_id,
    DialQueueEntry.due_at,
)


class WebhookEvent(Base):
    """A provider callback already applied; a retried or duplicated one is recognised here."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_call_sid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # status | amd | recording | voice
    key: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    response: Mapped[str | None] = mapped_column(Text)  # the TwiML answered, replayed verbatim

    __table_args__ = (UniqueConstraint("provider_call_sid", "kind", "key"),)


class JobRun(Base):
    """One run of a scheduled job for one period; the unique key lets one replica run it."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(64))  # e.g. the local date of a nightly job
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("job", "period"),)


# APScheduler's job store, declared here (as APScheduler 3 defines it) so that migrations own it.
SCHEDULER_JOBS = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
