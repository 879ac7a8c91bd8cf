"""Wires the screens into the FastAPI app: session cookie, static files, pages, error pages."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote

from fastapi import FastAPI, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from duecall.settings import Settings
from web import auth, caller, qa, team
from web.session import (
    CsrfFailed,
    LoginRequired,
    ScreenForbidden,
    middleware_options,
)
from web.templating import STATIC_DIR, render

log = logging.getLogger(__name__)


def _wants_html(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "text/html")


def install(app: FastAPI, settings: Settings) -> None:
    """Add the screens to `app`."""
    if settings.session_secret is not None:
        secret = settings.session_secret.get_secret_value()
    else:
        secret = secrets.token_urlsafe(32)
        log.warning(
            "DUECALL_SESSION_SECRET is not set: screen logins last only as long as this process"
        )
    https = settings.public_base_url.startswith("https://")
    app.add_middleware(SessionMiddleware, **middleware_options(secret, https=https))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (auth.router, caller.router, qa.router, team.router):
        app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _wants_html(request):
            return RedirectResponse(
                f"/login?next={quote(exc.next_path, safe='/')}", status.HTTP_303_SEE_OTHER
            )
        return JSONResponse({"detail": "log in first"}, status.HTTP_401_UNAUTHORIZED)

    @app.exception_handler(ScreenForbidden)
    async def _forbidden(request: Request, exc: ScreenForbidden) -> Response:
        if _wants_html(request):
            return render(
                request, "error.html", None, status_code=403, title="Not allowed", message=str(exc)
            )
        return JSONResponse({"detail": str(exc)}, status.HTTP_403_FORBIDDEN)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> HTMLResponse:
        return render(
            request, "error.html", None, status_code=403, title="Form expired", message=str(exc)
        )
