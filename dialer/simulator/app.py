"""Builds the simulator's FastAPI app: Twilio's REST subset plus the `/_sim/` control API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dialer.simulator import control, rest
from dialer.simulator.config import SimulatorConfig
from dialer.simulator.engine import Simulator
from duecall.errors import SimulatorError


def create_simulator_app(config: SimulatorConfig) -> FastAPI:
    """A Twilio stand-in for `config`; its calls run on the app's event loop."""
    sim = Simulator(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await sim.startup()
        try:
            yield
        finally:
            await sim.shutdown()

    app = FastAPI(
        title="duecall Twilio stand-in",
        summary="Twilio's voice REST API subset, simulated borrowers, and a control API.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.simulator = sim

    @app.exception_handler(SimulatorError)
    async def _twilio_error(_request: Request, exc: SimulatorError) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if exc.status == 401 else None
        return JSONResponse(
            {
                "code": exc.code,
                "message": exc.message,
                "more_info": f"https://www.twilio.com/docs/errors/{exc.code}",
                "status": exc.status,
            },
            status_code=exc.status,
            headers=headers,
        )

    app.include_router(rest.router)
    app.include_router(control.router)
    return app
