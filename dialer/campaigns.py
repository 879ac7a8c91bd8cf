"""Campaigns: which accounts, through which channel, when, how fast, and when to try again."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.facts import WEEKDAYS
from crm.buckets import Bucket
from crm.dispositions import BY_CODE
from dialer.models import Campaign, Channel


class RetryRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)]
    max_per_day: Annotated[int, Field(ge=1)] | None = None


class CampaignIn(BaseModel):
    """A campaign as managers define it (the API's input; every field named on error)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: str = ""
    active: bool = True
    buckets: Annotated[list[Bucket], Field(min_length=1)]
    products: list[str] = []
    agencies: list[str] = []
    channels: dict[Bucket, Channel]
    days: list[str] = ["mon", "tue", "wed", "thu", "fri", "sat"]
    start: time = time(9)
    end: time = time(19)
    max_concurrent: Annotated[int, Field(ge=1, le=10_000)] = 20
    calls_per_second: Annotated[float, Field(gt=0, le=100)] = 1.0
    retry_rules: dict[str, RetryRule] = {}
    bot_attempts_before_agent: Annotated[int, Field(ge=1)] = 2
    assigned_only: bool = False
    field_referral: bool = False
    predue_days: Annotated[int, Field(ge=0, le=30)] | None = None

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: list[str]) -> list[str]:
        unknown = [d for d in days if d not in WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown day {', '.join(unknown)} (use {', '.join(WEEKDAYS)})")
        return days

    @field_validator("start", "end")
    @classmethod
    def _local_hours(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a local time of day, without an offset (e.g. 09:00)")
        return value

    @field_validator("retry_rules")
    @classmethod
    def _dispositions(cls, rules: dict[str, RetryRule]) -> dict[str, RetryRule]:
        unknown = [code for code in rules if code not in BY_CODE]
        if unknown:
            raise ValueError(f"unknown disposition {', '.join(unknown)}")
        return rules

    @model_validator(mode="after")
    def _consistent(self) -> CampaignIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        missing = [b.value for b in self.buckets if b not in self.channels]
        if missing:
            raise ValueError(f"channels: no channel for bucket {', '.join(missing)}")
        return self

    def stored(self) -> dict[str, Any]:
        """The column values, JSON-ready."""
        values = self.model_dump(mode="json")
        values["start"], values["end"] = self.start, self.end
        return values


class CampaignUpdate(BaseModel):
    """Fields to change; the result is validated as a whole campaign."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    active: bool | None = None
    buckets: list[Bucket] | None = None
    products: list[str] | None = None
    agencies: list[str] | None = None
    channels: dict[Bucket, Channel] | None = None
    days: list[str] | None = None
    start: time | None = None
    end: time | None = None
    max_concurrent: int | None = None
    calls_per_second: float | None = None
    retry_rules: dict[str, RetryRule] | None = None
    bot_attempts_before_agent: int | None = None
    assigned_only: bool | None = None
    field_referral: bool | None = None
    predue_days: int | None = None


class CampaignPublic(CampaignIn):
    id: int
    created_at: datetime
    updated_at: datetime


# Retry defaults from the bank's collection policy: soon after a busy line, later after no
# answer, at most three tries of each a day; other outcomes wait for the next day.
DEFAULT_RETRIES = {
    "BUSY": RetryRule(after_minutes=30, max_per_day=3),
    "RNR": RetryRule(after_minutes=120, max_per_day=3),
    "UNREACHABLE": RetryRule(after_minutes=180, max_per_day=2),
    "VOICEMAIL": RetryRule(after_minutes=240, max_per_day=2),
    "DROPPED": RetryRule(after_minutes=60, max_per_day=2),
    "FAILED": RetryRule(after_minutes=60, max_per_day=2),
}

# The bank's policy matrix: pre-due and SMA-0 automated reminders; SMA-1 tele-calling with the
# bot first; SMA-2 tele-calling plus field referral; NPA field and legal follow-up, calls only by
# the assigned tele-caller.
DEFAULT_CAMPAIGNS = (
    CampaignIn(
        name="Reminders: pre-due and SMA-0",
        description="Automated reminder calls: instalments due within 5 days, and SMA-0.",
        buckets=[Bucket.STANDARD, Bucket.SMA_0],
        channels={Bucket.STANDARD: Channel.BOT, Bucket.SMA_0: Channel.BOT},
        predue_days=5,
        retry_rules=DEFAULT_RETRIES,
    ),
    CampaignIn(
        name="SMA-1: bot first, then tele-callers",
        description="The bot calls first; accounts it has not resolved go to tele-callers.",
        buckets=[Bucket.SMA_1],
        channels={Bucket.SMA_1: Channel.BOT_THEN_AGENT},
        retry_rules=DEFAULT_RETRIES,
    ),
    CampaignIn(
        name="SMA-2: tele-calling and field referral",
        description="Tele-callers work SMA-2; the agency gets the list for field visits.",
        buckets=[Bucket.SMA_2],
        channels={Bucket.SMA_2: Channel.AGENT},
        field_referral=True,
        retry_rules=DEFAULT_RETRIES,
    ),
    CampaignIn(
        name="NPA: assigned tele-callers only",
        description="NPA accounts are followed up in the field and legally; only the assigned "
        "tele-caller calls.",
        buckets=[Bucket.NPA],
        channels={Bucket.NPA: Channel.AGENT},
        assigned_only=True,
        field_referral=True,
        retry_rules=DEFAULT_RETRIES,
    ),
)


def create_campaign(session: Session, data: CampaignIn, *, now: datetime) -> Campaign:
    """Add a campaign; ValueError when the name is taken."""
    if session.scalar(select(Campaign.id).where(Campaign.name == data.name)) is not None:
        raise ValueError(f"a campaign named {data.name!r} already exists")
    campaign = Campaign(**data.stored(), created_at=now, updated_at=now)
    session.add(campaign)
    session.flush()
    return campaign


def update_campaign(
    session: Session, campaign: Campaign, changes: CampaignUpdate, *, now: datetime
) -> Campaign:
    """Apply `changes`; the whole campaign must still be valid (pydantic ValidationError if not)."""
    current = CampaignIn.model_validate(
        public(campaign).model_dump(exclude={"id", "created_at", "updated_at"})
    )
    merged = CampaignIn.model_validate(
        {**current.model_dump(), **changes.model_dump(exclude_unset=True)}
    )
    for key, value in merged.stored().items():
        setattr(campaign, key, value)
    campaign.updated_at = now
    return campaign


def ensure_default_campaigns(session: Session, *, now: datetime) -> list[Campaign]:
    """The default strategy's campaigns, created if missing (by name); existing ones are kept."""
    existing = {c.name: c for c in session.scalars(select(Campaign))}
    return [
        existing.get(data.name) or create_campaign(session, data, now=now)
        for data in DEFAULT_CAMPAIGNS
    ]


def public(campaign: Campaign) -> CampaignPublic:
    return CampaignPublic.model_validate(campaign, from_attributes=True)
