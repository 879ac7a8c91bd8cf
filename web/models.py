"""What the screens store: login passwords (the API keeps its bearer tokens in `users`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from duecall.db import Base, UTCDateTime


class ScreenCredential(Base):
    """A user's screen password, as an scrypt hash (see web.passwords)."""

    __tablename__ = "screen_credentials"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
