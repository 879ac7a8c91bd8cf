"""Screen sessions: a signed login cookie, CSRF tokens for forms, role checks for pages.

The cookie (Starlette's SessionMiddleware: signed with DUECALL_SESSION_SECRET, HttpOnly,
SameSite=Lax, Secure when the public base URL is https) carries the user's id, a fingerprint
of their password hash (changing the password ends every session) and the CSRF token. The
user is read back from the store on every request, so a disabled user is out at once.

Pages declare `ScreenUser` or `Annotated[Principal, Depends(screen_role(Role.QA, ...))]`.
Without a session the browser is sent to `/login?next=PATH`; with the wrong role the page
answers 403. Every state-changing form or fetch declares `CsrfChecked`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, select

from crm.models import Role, User
from duecall import throttle
from duecall.access import access_check
from duecall.auth import Principal
from duecall.db import reading
from duecall.deps import BearerDep, ContextDep, RoleCheck, SessionDep, get_principal
from duecall.throttle import Throttle
from web.models import ScreenCredential

SESSION_COOKIE = "duecall_session"
SESSION_MAX_AGE = 12 * 60 * 60  # one working day; then the tele-caller logs in again
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """No valid session: the browser goes to the login page and comes back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next_path = next_path


class ScreenForbidden(Exception):
    """The logged-in user's role may not open this page or do this."""


class CsrfFailed(Exception):
    """A form or fetch came without the session's CSRF token."""


def middleware_options(secret: str, *, https: bool) -> dict[str, Any]:
    """SessionMiddleware's options: what makes the cookie safe."""
    return {
        "secret_key": secret,
        "session_cookie": SESSION_COOKIE,
        "max_age": SESSION_MAX_AGE,
        "same_site": "lax",
        "https_only": https,
    }


def password_fingerprint(password_hash: str) -> str:
    """Ties a session to the password it was opened with, without putting the hash in it."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (the login form needs one too)."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def open_session(request: Request, *, user_id: int, password_hash: str) -> None:
    """Log the user in: a fresh session (new CSRF token), never one carried over from before."""
    request.session.clear()
    request.session.update(
        uid=user_id, pw=password_fingerprint(password_hash), csrf_token=secrets.token_urlsafe(32)
    )


def close_session(request: Request) -> None:
    request.session.clear()


def _next_path(request: Request) -> str:
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


def current_screen_user(request: Request, context: ContextDep) -> Principal:
    """The logged-in user, or LoginRequired.

    Read on a connection of its own (no write lock on SQLite), so the page's own transactions
    are not held up by the check.
    """
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        raise LoginRequired(_next_path(request))
    with reading(context.engine) as conn:
        row = conn.execute(
            select(User.name, User.role, User.agent_id, ScreenCredential.password_hash)
            .join(ScreenCredential, ScreenCredential.user_id == User.id)
            .where(User.id == user_id, User.disabled_at.is_(None))
        ).first()
    if row is None or not hmac.compare_digest(
        password_fingerprint(row.password_hash), str(request.session.get("pw", ""))
    ):
        close_session(request)
        raise LoginRequired(_next_path(request))
    return Principal(name=row.name, role=Role(row.role), agent_id=row.agent_id)


@access_check
class ScreenRoleCheck:
    """Dependency: the logged-in user when their role is one of `roles`, else ScreenForbidden."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(self, user: Annotated[Principal, Depends(current_screen_user)]) -> Principal:
        if user.role not in self.roles:
            allowed = ", ".join(sorted(self.roles))
            raise ScreenForbidden(f"this page is for {allowed}; you are logged in as {user.role}")
        return user


def screen_role(*roles: Role) -> ScreenRoleCheck:
    return ScreenRoleCheck(*roles)


async def check_csrf(request: Request) -> None:
    """Refuses a state change whose form field or header does not carry the session's token."""
    expected = request.session.get(CSRF_FIELD)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or sent is None or not hmac.compare_digest(expected, sent):
        raise CsrfFailed("the form has expired or did not come from this site; reload the page")


ScreenUser = Annotated[Principal, Depends(screen_role(*Role))]
ScreenAgent = Annotated[Principal, Depends(screen_role(Role.AGENT))]
ScreenQa = Annotated[Principal, Depends(screen_role(Role.QA, Role.SUPERVISOR, Role.ADMIN))]
ScreenManager = Annotated[Principal, Depends(screen_role(Role.SUPERVISOR, Role.ADMIN))]
CsrfChecked = Depends(check_csrf)


# --- failed logins -----------------------------------------------------------------------

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


def locked_until(
    failures: Sequence[datetime],
    now: datetime,
    *,
    limit: int = MAX_FAILURES,
    window: timedelta = FAILURE_WINDOW,
) -> datetime | None:
    """When logins may be tried again after `failures` (oldest first), or None if they may now."""
    return throttle.locked_until(failures, now, limit=limit, window=window)


def login_throttle_for(engine: Engine) -> Throttle:
    """Login attempts per (name, client address), shared by every replica through the store."""
    return Throttle(engine, "login", MAX_FAILURES, FAILURE_WINDOW)


def login_throttle(context: ContextDep) -> Throttle:
    return login_throttle_for(context.engine)


LoginThrottle = Annotated[Throttle, Depends(login_throttle)]


@access_check
class PageOrToken:
    """A page people open logged in and scripts fetch with a bearer token; the same roles."""

    def __init__(self, *roles: Role) -> None:
        self._token = RoleCheck(*roles)
        self._screen = ScreenRoleCheck(*roles)

    def __call__(
        self,
        request: Request,
        context: ContextDep,
        session: SessionDep,
        credentials: BearerDep,
    ) -> Principal:
        if credentials is not None:
            return self._token(get_principal(request, context, session, credentials))
        return self._screen(current_screen_user(request, context))
