"""Pre-aggregated counts that keep the agent report fast, maintained exactly by triggers.

The triggers (migration 0004, `analytics.triggers`) update these tables in the same transaction
as every insert, update and delete of `calls` and `promises`, so they never drift from the rows
they count. Reports read them for whole UTC days and the raw rows for the partial days at the
edges of a period (see `analytics.agents`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from duecall.db import Base

NO_KEY = ""  # stands for a call without an agent or disposition, or a promise without a call


class CallDay(Base):
    """Calls per UTC day, agent and disposition."""

    __tablename__ = "analytics_call_days"

    # Key in this order so that summing a period per agent and disposition reads the key in
    # order, without sorting (on SQLite the table is the key: WITHOUT ROWID).
    agent_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    disposition_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # UTC date of started_at
    calls: Mapped[int] = mapped_column(BigInteger)
    # Calls the dialer or the API placed without a compliance receipt (see analytics.agents).
    unreceipted: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_analytics_call_days_day", "day"), {"sqlite_with_rowid": False})


class PromiseDay(Base):
    """Promises per day made (local date), agent of the call and status; amounts in paise."""

    __tablename__ = "analytics_promise_days"

    agent_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    promised_on: Mapped[date] = mapped_column(Date, primary_key=True)
    promises: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    paid_amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_analytics_promise_days_day", "promised_on"),
        {"sqlite_with_rowid": False},
    )


class CallMonth(Base):
    """`CallDay` summed per month of its day (kept by triggers on analytics_call_days)."""

    __tablename__ = "analytics_call_months"

    agent_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    disposition_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    calls: Mapped[int] = mapped_column(BigInteger)
    unreceipted: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = ({"sqlite_with_rowid": False},)


class PromiseMonth(Base):
    """`PromiseDay` summed per month of the day the promises were made."""

    __tablename__ = "analytics_promise_months"

    agent_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    promises: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    paid_amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = ({"sqlite_with_rowid": False},)


class AgentAccounts(Base):
    """Accounts assigned to each agent now."""

    __tablename__ = "analytics_agent_accounts"

    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    accounts: Mapped[int] = mapped_column(BigInteger)


class Resolution(Base):
    """A resolved case: an account assigned to an agent, with nothing overdue, paid at least
    once. `paid_on` is its latest payment; `days` the whole days from the UTC date of the
    agent's first call to the account to that payment (null without such a call)."""

    __tablename__ = "analytics_resolutions"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    paid_on: Mapped[date] = mapped_column(Date)
    days: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_analytics_resolutions_paid", "paid_on", "agent_id", "days"),)


class RollCount(Base):
    """Accounts whose latest snapshot in `month` is in `from_bucket` and whose latest snapshot
    in the next month is in `to_bucket`."""

    __tablename__ = "analytics_roll_counts"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    from_bucket: Mapped[str] = mapped_column(String(16), primary_key=True)
    to_bucket: Mapped[str] = mapped_column(String(16), primary_key=True)
    accounts: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = ({"sqlite_with_rowid": False},)


class NpaAccount(Base):
    """An account's first NPA snapshot: the day it entered its NPA cohort and its principal
    outstanding then (paise, as the snapshot stores it)."""

    __tablename__ = "analytics_npa_accounts"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    npa_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[int | None] = mapped_column(BigInteger)


class SegmentBook(Base):
    """Per product or channel (`dimension`; `segment` '' for accounts without one): the book
    now, amounts in paise."""

    __tablename__ = "analytics_segment_book"

    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)  # product | channel
    segment: Mapped[str] = mapped_column(String(100), primary_key=True)
    accounts: Mapped[int] = mapped_column(BigInteger)
    npa_accounts: Mapped[int] = mapped_column(BigInteger)
    principal: Mapped[int] = mapped_column(BigInteger)
    npa_principal: Mapped[int] = mapped_column(BigInteger)
    overdue: Mapped[int] = mapped_column(BigInteger)


class SegmentPayment(Base):
    """Payments per day under the product or channel their account has now (paise)."""

    __tablename__ = "analytics_segment_payments"

    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    segment: Mapped[str] = mapped_column(String(100), primary_key=True)
    paid_on: Mapped[date] = mapped_column(Date, primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = ({"sqlite_with_rowid": False},)
