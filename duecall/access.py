"""Who may reach what: every route of the app has an access check, or is public on purpose.

An access check is a FastAPI dependency marked with `@access_check`: the API's role checks
(`duecall.deps.RoleCheck`), the screens' (`web.session.ScreenRoleCheck`, `PageOrToken`), the
X-Twilio-Signature check of webhooks (`dialer.webhooks.signed_params`) and the /metrics reader.
A plain Starlette route (the agent's voice webhooks, see `agent.webhooks`) has no dependencies:
its endpoint carries the mark itself, as the endpoint does the check. `unchecked_routes(app)`
walks every route of the built app, HTTP and WebSocket, including those of included routers, and
names each one with no access check that is not listed in `PUBLIC` with the reason it may be
public; a test keeps that list empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount, WebSocketRoute

_MARK = "__duecall_access_check__"
T = TypeVar("T")

# "METHOD /path" (or "MOUNT /path") → why anyone may reach it.
PUBLIC: dict[str, str] = {
    "GET /healthz": "liveness probe: says only that the process answers",
    "GET /readyz": "readiness probe for load balancers: states of the database, migrations, "
    "scheduler and shutdown, no data",
    "GET /login": "the screens' login form",
    "POST /login": "logging in: CSRF-checked and throttled per name and address",
    "POST /logout": "ends the caller's own session (CSRF-checked)",
    "GET /openapi.json": "the API's schema (SPEC: OpenAPI at /docs); no data",
    "GET /docs": "the API's documentation page; no data",
    "GET /docs/oauth2-redirect": "part of the documentation page; no data",
    "GET /redoc": "the API's documentation page; no data",
    "MOUNT /static": "the screens' style sheet and script",
    "MOUNT /_simulator": "the embedded Twilio stand-in, only with DUECALL_TELEPHONY=simulator: its "
    "REST API wants the simulator's Basic credentials, its control API loopback clients",
}


def access_check(check: T) -> T:
    """Mark a dependency (function or class) as one that decides who may go on."""
    setattr(check, _MARK, True)
    return check


def is_access_check(call: Any) -> bool:
    return bool(getattr(call, _MARK, False))


def _checked(dependant: Dependant) -> bool:
    return any(is_access_check(sub.call) or _checked(sub) for sub in dependant.dependencies)


def route_keys(app: FastAPI) -> Iterator[tuple[str, Dependant | None]]:
    """`("METHOD /path", dependant)` for every route of `app` (dependant None: not FastAPI's)."""
    for key, dependant, _checks_itself in _routes(app):
        yield key, dependant


def _routes(app: FastAPI) -> Iterator[tuple[str, Dependant | None, bool]]:
    """`route_keys`, and whether the route's endpoint is itself marked as an access check."""
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if isinstance(original, Mount):
            yield f"MOUNT {route.path}", None, False
            continue
        dependant: Dependant | None = getattr(route, "dependant", None)
        checks_itself = dependant is None and is_access_check(route.endpoint)
        if isinstance(original, WebSocketRoute) or route.methods is None:
            yield f"WEBSOCKET {route.path}", dependant, checks_itself
            continue
        for method in sorted(route.methods - {"HEAD"}) or ["HEAD"]:
            yield f"{method} {route.path}", dependant, checks_itself


def unchecked_routes(app: FastAPI) -> list[str]:
    """Routes anyone could reach that are not public on purpose (see the module docstring)."""
    return [
        key
        for key, dependant, checks_itself in _routes(app)
        if key not in PUBLIC
        and not checks_itself
        and (dependant is None or not _checked(dependant))
    ]
