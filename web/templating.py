"""The one Jinja2 environment of the screens, and rendering with the page's common context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from duecall.auth import Principal
from web.session import csrf_token

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def render(
    request: Request,
    template: str,
    user: Principal | None,
    /,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """`template` rendered with `user`, the form's CSRF token and `context`."""
    return templates.TemplateResponse(
        request,
        template,
        {"user": user, "csrf_token": csrf_token(request), **context},
        status_code=status_code,
    )
