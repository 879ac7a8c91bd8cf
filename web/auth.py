"""Login and logout for the screens (name and password; the API keeps its bearer tokens)."""

from __future__ import annotations

import logging
import math
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from crm.models import Role, User
from duecall.db import reading
from duecall.deps import ContextDep, client_address
from duecall.logs import PersonName
from web.models import ScreenCredential
from web.passwords import verify_password
from web.session import CsrfChecked, LoginThrottle, ScreenUser, close_session, open_session
from web.templating import render

log = logging.getLogger(__name__)

router = APIRouter(tags=["screens"], include_in_schema=False)

# Where each role starts its day.
LANDING = {
    Role.AGENT: "/queue",
    Role.QA: "/qa",
    Role.SUPERVISOR: "/team",
    Role.ADMIN: "/team",
}


def safe_next(value: str | None) -> str | None:
    """`value` if it is a path on this site; anything else (another host) is dropped."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    return value


@router.get("/")
def home(user: ScreenUser) -> RedirectResponse:
    return RedirectResponse(LANDING[user.role], status.HTTP_303_SEE_OTHER)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", None, next=safe_next(next) or "")


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    context: ContextDep,
    throttle: LoginThrottle,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = "",
) -> Response:
    now = context.clock.now()
    key = f"{name.strip().lower()}\x1f{client_address(request)}"
    # Counted before the password is checked, so replicas cannot let more guesses through.
    until = throttle.attempt(key, now)
    if until is not None:
        minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        return render(
            request,
            "login.html",
            None,
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            next=safe_next(next) or "",
            name=name,
            error=f"Too many failed logins. Try again in {minutes} minutes.",
        )
    with reading(context.engine) as conn:
        row = conn.execute(
            select(User.id, User.role, ScreenCredential.password_hash)
            .join(ScreenCredential, ScreenCredential.user_id == User.id)
            .where(User.name == name.strip(), User.disabled_at.is_(None))
        ).first()
    if row is None or not verify_password(password, row.password_hash):
        log.info("failed screen login for %s", PersonName(name.strip()[:100]))
        return render(
            request,
            "login.html",
            None,
            status_code=status.HTTP_401_UNAUTHORIZED,
            next=safe_next(next) or "",
            name=name,
            error="Wrong name or password.",
        )
    throttle.succeeded(key)
    open_session(request, user_id=row.id, password_hash=row.password_hash)
    target = safe_next(next) or LANDING[Role(row.role)]
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> RedirectResponse:
    close_session(request)
    return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
