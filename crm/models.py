"""The CRM store: borrowers, accounts and their contact data, agents, calls, promises, payments.

Money columns hold rupees as `Decimal` (stored as integer paise); instants are aware UTC.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.buckets import Bucket
from duecall.db import Base, Money, UTCDateTime


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR with a CHECK constraint, holding the members' values."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    QA = "qa"


class PhoneStatus(enum.StrEnum):
    OK = "ok"
    WRONG_NUMBER = "wrong_number"
    INVALID = "invalid"


class AccountFlagCode(enum.StrEnum):
    DNC = "dnc"
    DISPUTE = "dispute"
    DECEASED = "deceased"
    FRAUD = "fraud"
    LEGAL_HOLD = "legal_hold"
    NON_WORKABLE = "non_workable"


class AgentKind(enum.StrEnum):
    HUMAN = "human"
    BOT = "bot"


class Speaker(enum.StrEnum):
    AGENT = "agent"
    BORROWER = "borrower"


class PromiseStatus(enum.StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"


class Agency(Base):
    __tablename__ = "agencies"

    agency_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Agent(Base):
    """Anyone who makes calls: a tele-caller or the bot (the bot is an agent like any other)."""

    __tablename__ = "agents"

    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AgentKind] = mapped_column(_enum(AgentKind, "agent_kind"), default=AgentKind.HUMAN)
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.agency_id"))
    # The tele-caller's own phone, which click-to-call rings first and bridges to the borrower.
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    # SHA-256 of the bearer token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.agent_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Borrower(Base):
    __tablename__ = "borrowers"

    borrower_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))

    accounts: Mapped[list[Account]] = relationship(back_populates="borrower")


class Account(Base):
    __tablename__ = "accounts"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(100))
    emi_amount: Mapped[Decimal | None] = mapped_column(Money)
    overdue_amount: Mapped[Decimal] = mapped_column(Money)
    principal_outstanding: Mapped[Decimal | None] = mapped_column(Money)
    due_date: Mapped[date | None] = mapped_column(Date)
    dpd: Mapped[int] = mapped_column(Integer)
    disbursal_date: Mapped[date | None] = mapped_column(Date)
    channel: Mapped[str | None] = mapped_column(String(64))
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.agency_id"), index=True)
    assigned_agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.agent_id"), index=True)
    # Borrower-wise bucket (RBI IRAC: one NPA facility makes all the borrower's facilities NPA).
    bucket: Mapped[Bucket] = mapped_column(_enum(Bucket, "bucket"))
    npa_since: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A dialer holds the account while a call to it is being placed or is live; the claim
    # lapses on its own if the holder never releases it (see dialer.queue).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("dpd >= 0", name="dpd_not_negative"),
        CheckConstraint("overdue_amount >= 0", name="overdue_not_negative"),
        # Room on each page, so that claiming an account (claimed_by, claimed_until) is a
        # heap-only update that writes no index entry (migration 0010).
        {"postgresql_with": {"fillfactor": 90}},
    )

    borrower: Mapped[Borrower] = relationship(back_populates="accounts")
    phones: Mapped[list[Phone]] = relationship(order_by="Phone.number")
    flags: Mapped[list[AccountFlag]] = relationship(order_by="AccountFlag.flag")
    holds: Mapped[list[Hold]] = relationship(order_by="Hold.id")
    preferences: Mapped[list[ContactPreference]] = relationship(order_by="ContactPreference.id")
    promises: Mapped[list[Promise]] = relationship(order_by="Promise.id")


class AccountFlag(Base):
    __tablename__ = "account_flags"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.account_id", ondelete="CASCADE"), primary_key=True
    )
    flag: Mapped[AccountFlagCode] = mapped_column(
        _enum(AccountFlagCode, "account_flag"), primary_key=True
    )


class Phone(Base):
    __tablename__ = "phones"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.account_id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    # Where the number came from: the import's `phone` or `alt_phone`, or a call.
    source: Mapped[str] = mapped_column(String(16), default="primary")
    status: Mapped[PhoneStatus] = mapped_column(
        _enum(PhoneStatus, "phone_status"), default=PhoneStatus.OK
    )
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Hold(Base):
    """A period in which the account must not be called (dispute, bereavement, legal, ...)."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.account_id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    # Last local calendar day of the hold, inclusive; none means until released.
    until: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.call_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ContactPreference(Base):
    """A borrower's request about when or where not to be called."""

    __tablename__ = "contact_preferences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.account_id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="avoid")
    phone: Mapped[str | None] = mapped_column(String(20))  # none: every phone
    days: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every day
    start: Mapped[time | None] = mapped_column(Time)  # none with end none: the whole day
    end: Mapped[time | None] = mapped_column(Time)
    note: Mapped[str | None] = mapped_column(Text)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.call_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Disposition(Base):
    """Reference table of SPEC's disposition codes, seeded by the migration."""

    __tablename__ = "dispositions"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    meaning: Mapped[str] = mapped_column(String(200))
    is_contact: Mapped[bool] = mapped_column(Boolean)
    is_rpc: Mapped[bool] = mapped_column(Boolean)


_HISTORY_COLUMNS = ("disposition", "callback_at", "phone", "call_id")
LIVE_STATUSES = ("queued", "initiated", "ringing", "in-progress")  # a call not over yet
LIVE_CALLS = "status IN (" + ", ".join(f"'{s}'" for s in LIVE_STATUSES) + ")"


class Call(Base):
    """One call attempt to an account, placed by the dialer, the API or imported from history."""

    __tablename__ = "calls"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.agent_id"))
    phone: Mapped[str | None] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(8), default="bot")  # bot | agent
    source: Mapped[str] = mapped_column(String(16), default="import")  # import | dialer | api
    status: Mapped[str] = mapped_column(String(16), default="completed")
    disposition: Mapped[str | None] = mapped_column(ForeignKey("dispositions.code"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(8))
    provider_call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    answered_by: Mapped[str | None] = mapped_column(String(32))  # answering-machine detection
    recording_url: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # Why the call was allowed: policy name and version, rules evaluated, local time used.
    compliance_receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The conversation agent's state between webhooks (agent.conversation).
    conversation: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        # An account's history, and a portfolio's recent calls, each read from the index alone
        # (the batched compliance screening).
        Index("ix_calls_account_history", "account_id", "started_at", *_HISTORY_COLUMNS),
        Index("ix_calls_recent_history", "started_at", "account_id", *_HISTORY_COLUMNS),
        # A campaign's live calls (the dialer's concurrency cap).
        Index("ix_calls_campaign_status", "campaign_id", "status"),
        Index("ix_calls_agent_started", "agent_id", "started_at"),
        # The latest promise per account, wrong-number reports, disposition mixes.
        Index("ix_calls_disposition_account", "disposition", "account_id", "started_at"),
        # Callbacks still to come (few calls carry one).
        Index(
            "ix_calls_callback_at",
            "callback_at",
            sqlite_where=text("callback_at IS NOT NULL"),
            postgresql_where=text("callback_at IS NOT NULL"),
        ),
        # The numbers on a live call (a claim skips them): live calls only, a few hundred rows.
        Index(
            "ix_calls_live_phone",
            "phone",
            sqlite_where=text(LIVE_CALLS),
            postgresql_where=text(LIVE_CALLS),
        ),
    )

    turns: Mapped[list[TranscriptTurn]] = relationship(order_by="TranscriptTurn.seq")
    recordings: Mapped[list[Recording]] = relationship(order_by="Recording.id")


class TranscriptTurn(Base):
    __tablename__ = "transcript_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[Speaker] = mapped_column(_enum(Speaker, "speaker"))
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("call_id", "seq"),)


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    provider_recording_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Promise(Base):
    """A promise to pay: an amount by a date, made on a call."""

    __tablename__ = "promises"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.account_id", ondelete="CASCADE"), index=True
    )
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.call_id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    promised_on: Mapped[date] = mapped_column(Date)  # the day the promise was made
    promised_date: Mapped[date] = mapped_column(Date, index=True)  # the day promised to pay by
    status: Mapped[PromiseStatus] = mapped_column(
        _enum(PromiseStatus, "promise_status"), default=PromiseStatus.PENDING
    )
    paid_amount: Mapped[Decimal | None] = mapped_column(Money)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.account_id", ondelete="CASCADE"))
    paid_at: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    # The lender's payment reference when the file has one; it tells apart equal payments.
    reference: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (
        UniqueConstraint("account_id", "paid_at", "amount", "reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class Snapshot(Base):
    """An account's state at a date (month-end, usually), for roll rates and cohorts."""

    __tablename__ = "snapshots"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.account_id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    dpd: Mapped[int] = mapped_column(Integer)
    overdue_amount: Mapped[Decimal | None] = mapped_column(Money)
    principal_outstanding: Mapped[Decimal | None] = mapped_column(Money)
    # Borrower-wise on the same as_of date, like Account.bucket.
    bucket: Mapped[Bucket] = mapped_column(_enum(Bucket, "bucket"))

    __table_args__ = (
        Index("ix_snapshots_as_of", "as_of"),
        CheckConstraint("dpd >= 0", name="dpd_not_negative"),
    )


class AuthFailure(Base):
    """A screen login attempt not (yet) known good, or a refused bearer token.

    The throttles count these per key across every replica; the key is stored only as a
    SHA-256 digest, so the table holds neither the names people typed nor their addresses.
    """

    __tablename__ = "auth_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # login | token
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_auth_failures_key", "scope", "key_hash", "at"),)


class RetentionPurge(Base):
    """One purge of recordings and transcripts past their retention (DPDP Act 2023), audited."""

    __tablename__ = "retention_purges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime)
    trigger: Mapped[str] = mapped_column(String(16))  # nightly | cli
    # Calls that started before these instants lost their transcripts / recordings.
    transcripts_before: Mapped[datetime] = mapped_column(UTCDateTime)
    recordings_before: Mapped[datetime] = mapped_column(UTCDateTime)
    calls_with_transcripts: Mapped[int] = mapped_column(Integer)
    transcript_turns: Mapped[int] = mapped_column(Integer)
    recordings: Mapped[int] = mapped_column(Integer)
    # Recordings the provider could not delete this time; they are tried again next run.
    recordings_failed: Mapped[int] = mapped_column(Integer)
