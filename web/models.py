"""What the screens store: login passwords (the API keeps its bearer tokens in `users`), and
after-call summaries with the disposition they propose."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from duecall.db import Base, Money, UTCDateTime


class ScreenCredential(Base):
    """A user's screen password, as an scrypt hash (see web.passwords)."""

    __tablename__ = "screen_credentials"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CallSummary(Base):
    """An after-call summary and the disposition it proposes, until the tele-caller confirms or
    corrects it (`decision`) by saving the call's disposition."""

    __tablename__ = "call_summaries"

    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), primary_key=True
    )
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(8))  # llm | rules
    disposition: Mapped[str] = mapped_column(ForeignKey("dispositions.code"))
    ptp_amount: Mapped[Decimal | None] = mapped_column(Money)
    ptp_date: Mapped[date | None] = mapped_column(Date)
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(12))  # confirmed | corrected
    decided_disposition: Mapped[str | None] = mapped_column(ForeignKey("dispositions.code"))
    decided_by: Mapped[str | None] = mapped_column(String(100))  # the user's name
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
