"""Builds the duecall web app: API, webhooks and screens. Run it with `duecall serve`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from httpx import ASGITransport
from pydantic import SecretStr
from sqlalchemy import text

import agent.relay
import agent.webhooks
import analytics.routes
import compliance.routes
import crm.routes
import dialer.routes
import dialer.webhooks
import web.app
from agent.llm.model import LanguageModel
from agent.llm.openai_model import model_for
from dialer.jobs import Scheduler
from dialer.providers import SIMULATOR_PATH, credentials, embedded_simulator, telephony_for
from dialer.simulator.app import create_simulator_app
from dialer.simulator.config import SimulatorConfig
from dialer.simulator.engine import Simulator
from dialer.telephony import Telephony
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


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    telephony: Telephony | None = None,
    llm: LanguageModel | None = None,
) -> FastAPI:
    """The app for `settings`; refuses a database that is not migrated to this code's schema.

    `telephony` replaces the provider the settings name (tests inject a fake); `llm` the
    language model (DUECALL_AGENT_MODE=llm).
    """
    context = AppContext.from_settings(settings or Settings(), clock)
    try:
        require_migrated(context.engine)
        provider = telephony or telephony_for(context.settings)
        context.llm = llm or model_for(context.settings)
    except Exception:
        context.close()
        raise
    simulator: Simulator | None = None
    scheduler = Scheduler(context, provider) if context.settings.scheduler == "on" else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if simulator is not None:
            await simulator.startup()
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                # Waits for a dialer pass that is placing calls; the calls themselves go on.
                await anyio.to_thread.run_sync(scheduler.shutdown)
            if simulator is not None:
                await simulator.shutdown()
            if context.llm is not None:
                await context.llm.aclose()
            context.close()

    app = FastAPI(
        title="duecall",
        summary="Loan-collection telephony agent: dialer, compliance, conversations, CRM.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.context = context
    app.state.telephony = provider
    if telephony is None and embedded_simulator(context.settings):
        simulator = mount_simulator(app, context)

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
    app.include_router(analytics.routes.router)
    app.include_router(compliance.routes.router)
    app.include_router(dialer.routes.router)
    app.include_router(dialer.webhooks.router)
    app.include_router(agent.webhooks.router)
    app.include_router(agent.relay.router)
    web.app.install(app, context.settings)
    return app


def mount_simulator(app: FastAPI, context: AppContext) -> Simulator:
    """The embedded Twilio stand-in, served at /_simulator; it calls this app's webhooks."""
    account_sid, token, _caller_id = credentials(context.settings)
    simulator_app = create_simulator_app(
        SimulatorConfig(
            account_sid=account_sid,
            auth_token=SecretStr(token),
            speed=context.settings.clock_rate,
            start=context.clock.now(),
            transport=ASGITransport(app=app),
        )
    )
    app.mount(SIMULATOR_PATH, simulator_app)
    simulator: Simulator = simulator_app.state.simulator
    return simulator
