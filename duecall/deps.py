"""FastAPI dependencies: routes declare what they need with these aliases."""

from __future__ import annotations

import hmac
import math
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from crm.models import Role
from duecall.access import access_check
from duecall.auth import Principal, authenticate, hash_token
from duecall.clock import Clock
from duecall.context import AppContext
from duecall.settings import Settings
from duecall.throttle import Throttle


async def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_settings(context: ContextDep) -> Settings:
    return context.settings


def get_clock(context: ContextDep) -> Clock:
    return context.clock


def get_session(context: ContextDep) -> Iterator[Session]:
    with context.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="A token from `duecall users add`.")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

# Refused bearer tokens per client address: 256-bit tokens cannot be guessed, so this only
# stops a misconfigured script or a scanner from hammering the store.
TOKEN_FAILURES = 20
TOKEN_WINDOW = timedelta(minutes=15)


def client_address(request: Request) -> str:
    """The client's address (behind a trusted proxy, uvicorn puts X-Forwarded-For's here)."""
    return request.client.host if request.client else ""


def token_throttle(context: AppContext) -> Throttle:
    return Throttle(context.engine, "token", TOKEN_FAILURES, TOKEN_WINDOW)


def get_principal(
    request: Request, context: ContextDep, session: SessionDep, credentials: BearerDep
) -> Principal:
    """Who the bearer token belongs to: 401 without a good one, 429 after too many bad ones."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token (Authorization: Bearer TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    throttle, address, now = token_throttle(context), client_address(request), context.clock.now()
    until = throttle.locked_until(address, now)
    if until is not None:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many refused tokens from this address; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    principal = authenticate(
        session, token=credentials.credentials, admin_token=context.settings.admin_token
    )
    if principal is None:
        session.rollback()  # SQLite: the refusal below is written on another connection
        throttle.failed(address, now)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or disabled token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


@access_check
class RoleCheck:
    """Dependency that lets through only the given roles (routes are audited for having one)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(self, principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in self.roles:
            allowed = ", ".join(sorted(self.roles))
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role} may not do this (needs {allowed})",
            )
        return principal


ANY_ROLE = RoleCheck(*Role)
MANAGERS = RoleCheck(Role.ADMIN, Role.SUPERVISOR)

AnyUser = Annotated[Principal, Depends(ANY_ROLE)]
Manager = Annotated[Principal, Depends(MANAGERS)]


@access_check
def metrics_reader(
    request: Request, context: ContextDep, session: SessionDep, credentials: BearerDep
) -> None:
    """/metrics: DUECALL_METRICS_TOKEN, or the token of an admin."""
    expected = context.settings.metrics_token
    if (
        credentials is not None
        and expected is not None
        and hmac.compare_digest(
            hash_token(credentials.credentials), hash_token(expected.get_secret_value())
        )
    ):
        return
    principal = get_principal(request, context, session, credentials)
    if principal.role is not Role.ADMIN:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "metrics need DUECALL_METRICS_TOKEN or an admin token"
        )
