"""FastAPI dependencies: routes declare what they need with these aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from crm.models import Role
from duecall.auth import Principal, authenticate
from duecall.clock import Clock
from duecall.context import AppContext
from duecall.settings import Settings


def get_context(request: Request) -> AppContext:
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


def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token (Authorization: Bearer TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = authenticate(
        session, token=credentials.credentials, admin_token=settings.admin_token
    )
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or disabled token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


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
