"""Bearer tokens and roles: tokens are random, shown once, and stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import Agent, AgentKind, Role, User

ADMIN_PRINCIPAL_NAME = "admin (DUECALL_ADMIN_TOKEN)"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling the API: a user, or the admin token from the settings."""

    name: str
    role: Role
    agent_id: str | None = None


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "dct_" + secrets.token_urlsafe(32)


def create_user(
    session: Session, *, name: str, role: Role, now: datetime, agent_id: str | None = None
) -> tuple[User, str]:
    """Add a user and return it with its bearer token (the only time the token is visible).

    An `agent` user acts as a tele-caller: it is linked to the agent `agent_id` (default: its
    name), which is created if it does not exist yet.
    """
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise ValueError(f"a user named {name!r} already exists")
    if role is Role.AGENT:
        agent_id = agent_id or name
        if session.get(Agent, agent_id) is None:
            session.add(Agent(agent_id=agent_id, name=name, kind=AgentKind.HUMAN))
    token = new_token()
    user = User(
        name=name, role=role, token_hash=hash_token(token), agent_id=agent_id, created_at=now
    )
    session.add(user)
    session.flush()
    return user, token


def authenticate(
    session: Session, *, token: str, admin_token: SecretStr | None
) -> Principal | None:
    """The principal a bearer token belongs to, or None."""
    digest = hash_token(token)
    if admin_token is not None and hmac.compare_digest(
        digest, hash_token(admin_token.get_secret_value())
    ):
        return Principal(name=ADMIN_PRINCIPAL_NAME, role=Role.ADMIN)
    user = session.scalar(select(User).where(User.token_hash == digest, User.disabled_at.is_(None)))
    if user is None:
        return None
    return Principal(name=user.name, role=user.role, agent_id=user.agent_id)
