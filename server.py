"""Builds the duecall web app: API, webhooks and screens. Run it with `duecall serve`."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

import anyio
from fastapi import Depends, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse
from httpx import ASGITransport
from pydantic import SecretStr
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import configure_mappers

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
from duecall.db import current_revision, head_revision, require_migrated
from duecall.deps import ContextDep, metrics_reader
from duecall.errors import (
    DuecallError,
    Forbidden,
    InvalidInput,
    NotFound,
    ProviderError,
    ShuttingDown,
)
from duecall.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from duecall.metrics import MeteredTelephony
from duecall.middleware import LoopbackOnly, RequestContext, database_unavailable
from duecall.settings import Settings

MAX_BODY_BYTES = 1024 * 1024

_STATUS_FOR_ERROR: tuple[tuple[type[DuecallError], int], ...] = (
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (InvalidInput, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (ProviderError, status.HTTP_502_BAD_GATEWAY),
    (ShuttingDown, status.HTTP_503_SERVICE_UNAVAILABLE),
)


# A thread waiting for the GIL (the event loop with a streamed token to forward) waits at most
# this long behind another thread's Python; the interpreter's default is 5 ms.
SWITCH_INTERVAL_S = 0.001


@cache
def settle_interpreter() -> None:
    """Once the first app has started (once per process): what was built by then (modules,
    mappers, routes: some 250,000 objects) lives as long as the process, so the collector stops
    scanning it: a full collection over it stalls every request and stream for over 100 ms of
    CPU. And threads switch sooner."""
    configure_mappers()
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL_S)


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
        provider = MeteredTelephony(telephony or telephony_for(context.settings), context.metrics)
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
        settle_interpreter()
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
        # Nothing duecall takes over HTTP comes near this (webhooks are a few hundred bytes,
        # imports run from the CLI): a bigger body is refused with 413 before it is read.
        max_body_size=MAX_BODY_BYTES,
    )
    app.state.context = context
    app.state.telephony = provider
    app.add_middleware(RequestContext, metrics=context.metrics)
    if telephony is None and embedded_simulator(context.settings):
        simulator = mount_simulator(app, context)

    for outage in (DBAPIError, PoolTimeout):
        app.add_exception_handler(outage, database_unavailable)

    @app.exception_handler(DuecallError)
    async def _domain_error(_request: Request, exc: DuecallError) -> JSONResponse:
        code = next(
            (c for kind, c in _STATUS_FOR_ERROR if isinstance(exc, kind)),
            status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
        headers = {"Retry-After": "60"} if isinstance(exc, ShuttingDown) else None
        return JSONResponse({"detail": str(exc)}, status_code=code, headers=headers)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        responses={503: {"description": "Not ready; `checks` says what is not."}},
    )
    def readyz(ctx: ContextDep) -> JSONResponse:
        """Readiness: database reachable, schema at head, scheduler running if on, not draining."""
        ready, checks = readiness(ctx, scheduler)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        dependencies=[Depends(metrics_reader)],
        response_class=PlainTextResponse,
    )
    def metrics(ctx: ContextDep) -> Response:
        """Prometheus metrics of this process (DUECALL_METRICS_TOKEN or an admin token)."""
        return Response(ctx.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    app.include_router(crm.routes.router)
    app.include_router(analytics.routes.router)
    app.include_router(compliance.routes.router)
    app.include_router(dialer.routes.router)
    app.include_router(dialer.webhooks.router)
    agent.webhooks.install(app)
    app.include_router(agent.relay.router)
    web.app.install(app, context.settings)
    return app


def readiness(context: AppContext, scheduler: Scheduler | None) -> tuple[bool, dict[str, str]]:
    """Whether this replica should get traffic, and the state of each thing that decides it."""
    checks: dict[str, str] = {}
    try:
        revision = current_revision(context.engine)
    except SQLAlchemyError as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
    else:
        checks["database"] = "ok"
        head = head_revision()
        checks["migrations"] = "ok" if revision == head else f"at {revision}, code needs {head}"
    if scheduler is not None:
        checks["scheduler"] = "ok" if scheduler.running else "stopped"
    checks["drain"] = "draining" if context.drain.draining else "ok"
    return all(state == "ok" for state in checks.values()), checks


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
    app.mount(SIMULATOR_PATH, LoopbackOnly(simulator_app, prefix="/_sim/"))
    simulator: Simulator = simulator_app.state.simulator
    return simulator
