"""Builds the duecall web app: API, webhooks and screens. Run it with `duecall serve`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import text

import compliance.routes
import crm.routes
from duecall.clock import Clock
from duecall.context import AppContext
from duecall.db import require_migrated
from duecall.deps import ContextDep
from duecall.errors import DuecallError, Forbidden, InvalidInput, NotFound, ProviderError
from duecall.settings import Settings

_STATUS_FOR_ERROR: tuple[tuple[type[DuecallError], int], ...] = (
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (InvalidInput, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (ProviderError, status.HTTP_502_BAD_GATEWAY),
)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """The app for `settings`; refuses a database that is not migrated to this code's schema."""
    context = AppContext.from_settings(settings or Settings(), clock)
    try:
        require_migrated(context.engine)
    except Exception:
        context.close()
        raise

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        context.close()

    app = FastAPI(
        title="duecall",
        summary="Loan-collection telephony agent: dialer, compliance, conversations, CRM.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.context = context

    @app.exception_handler(DuecallError)
    async def _domain_error(_request: Request, exc: DuecallError) -> JSONResponse:
        code = next(
            (c for kind, c in _STATUS_FOR_ERROR if isinstance(exc, kind)),
            status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz(ctx: ContextDep) -> JSONResponse:
        """Readiness: the database answers."""
        try:
            with ctx.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # readiness must report, not raise, whatever the driver throws
            return JSONResponse(
                {"status": "unavailable", "reason": type(exc).__name__}, status_code=503
            )
        return JSONResponse({"status": "ready"})

    app.include_router(crm.routes.router)
    app.include_router(compliance.routes.router)
    return app
