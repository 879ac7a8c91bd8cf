"""Screen passwords of users (set from the CLI: `duecall users password NAME`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import User
from duecall.errors import InvalidInput, NotFound
from web.models import ScreenCredential
from web.passwords import hash_password, password_problem


def set_password(session: Session, *, name: str, password: str, now: datetime) -> None:
    """Give `name` a screen password (replacing the old one ends their open sessions)."""
    problem = password_problem(password)
    if problem is not None:
        raise InvalidInput("password", problem)
    user_id = session.scalar(select(User.id).where(User.name == name))
    if user_id is None:
        raise NotFound(f"no user named {name!r}")
    credential = session.get(ScreenCredential, user_id)
    if credential is None:
        session.add(
            ScreenCredential(user_id=user_id, password_hash=hash_password(password), updated_at=now)
        )
    else:
        credential.password_hash, credential.updated_at = hash_password(password), now
    session.flush()
