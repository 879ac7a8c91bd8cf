"""The subset of Twilio's REST API (2010-04-01) that duecall uses, with Basic auth like Twilio's."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData

from dialer.simulator.calls import (
    API_VERSION,
    INVALID_PARAMETER,
    parse_call_options,
    parse_method,
    parse_url,
)
from dialer.simulator.engine import NOT_FOUND, Simulator
from dialer.simulator.lifecycle import Source
from dialer.simulator.media import mp3_bytes, wav_bytes
from duecall.errors import SimulatorError

AUTHENTICATE = 20003
TOO_MANY_REQUESTS = 20429
INTERNAL_SERVER_ERROR = 20500
# Recording media is a short sample whatever the call's length, to stay small.
MEDIA_SECONDS = 2.0


def simulator(request: Request) -> Simulator:
    sim: Simulator = request.app.state.simulator
    return sim


def authenticated(
    request: Request, account_sid: str, sim: Annotated[Simulator, Depends(simulator)]
) -> Simulator:
    """HTTP Basic auth with AccountSid:AuthToken; another account's resources are not found."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    user = password = b""
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(encoded, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            user = password = b""
    valid = hmac.compare_digest(user, sim.account_sid.encode()) & hmac.compare_digest(
        password, sim.auth_token.encode()
    )
    if not valid:
        raise SimulatorError(AUTHENTICATE, "Authenticate", status=401)
    if account_sid != sim.account_sid:
        raise SimulatorError(
            NOT_FOUND, f"The requested resource {request.url.path} was not found", status=404
        )
    return sim


AuthedSimulator = Annotated[Simulator, Depends(authenticated)]
router = APIRouter(prefix=f"/{API_VERSION}/Accounts/{{account_sid}}", tags=["Twilio REST API"])


def _fields(form: FormData) -> dict[str, list[str]]:
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}


@router.post("/Calls.json", status_code=201)
async def create_call(request: Request, sim: AuthedSimulator) -> JSONResponse:
    """Place an outbound call, as `client.calls.create(...)` does."""
    fault = sim.draw_rest_fault()
    if fault == "429":
        raise SimulatorError(TOO_MANY_REQUESTS, "Too Many Requests", status=429)
    if fault == "500":
        raise SimulatorError(INTERNAL_SERVER_ERROR, "Internal Server Error", status=500)
    options = parse_call_options(_fields(await request.form()))
    base_url = str(request.base_url).rstrip("/")
    if fault == "timeout":
        # Answered after the client gave up; Twilio may or may not have placed the call.
        placed = (
            sim.create_call(options, api_base_url=base_url)
            if sim.faults.rest_timeout_places_call
            else None
        )
        await asyncio.sleep(sim.faults.rest_timeout_seconds)
        if placed is None:
            raise SimulatorError(INTERNAL_SERVER_ERROR, "Internal Server Error", status=500)
        return JSONResponse(placed.resource(), status_code=201)
    call = sim.create_call(options, api_base_url=base_url)
    return JSONResponse(call.resource(), status_code=201)


@router.get("/Calls.json")
async def list_calls(
    request: Request,
    sim: AuthedSimulator,
    to: Annotated[str | None, Query(alias="To")] = None,
    from_: Annotated[str | None, Query(alias="From")] = None,
    status: Annotated[str | None, Query(alias="Status")] = None,
    page_size: Annotated[int, Query(alias="PageSize", ge=1, le=1000)] = 50,
) -> JSONResponse:
    """The account's calls, newest first, in one page."""
    calls = [
        call.resource()
        for call in reversed(sim.calls.values())
        if (to is None or call.options.to == to)
        and (from_ is None or call.options.from_ == from_)
        and (status is None or call.status == status)
    ][:page_size]
    uri = request.url.path
    return JSONResponse(
        {
            "calls": calls,
            "start": 0,
            "end": max(0, len(calls) - 1),
            "page": 0,
            "page_size": page_size,
            "uri": uri,
            "first_page_uri": uri,
            "next_page_uri": None,
            "previous_page_uri": None,
        }
    )


@router.get("/Calls/{call_sid}.json")
async def fetch_call(call_sid: str, sim: AuthedSimulator) -> JSONResponse:
    return JSONResponse(sim.call(call_sid).resource())


@router.post("/Calls/{call_sid}.json")
async def update_call(call_sid: str, request: Request, sim: AuthedSimulator) -> JSONResponse:
    """`Status=completed|canceled` hangs up; `Url=` or `Twiml=` redirects a live call."""
    sim.call(call_sid)
    form = _fields(await request.form())

    def one(name: str) -> str | None:
        values = form.get(name) or []
        return values[-1] if values else None

    status, url, twiml = one("Status"), one("Url"), one("Twiml")
    if status is not None and status not in {"completed", "canceled"}:
        raise SimulatorError(INVALID_PARAMETER, "Status must be 'completed' or 'canceled'")
    if url or twiml:
        method = parse_method("Method", one("Method"))
        source = Source(
            "api_redirect", url=parse_url("Url", url) if url else None, method=method, twiml=twiml
        )
        sim.redirect(call_sid, source)
    elif status is not None:
        sim.hang_up(call_sid)
    return JSONResponse(sim.call(call_sid).resource())


@router.get("/Recordings/{name}")
async def fetch_recording(name: str, sim: AuthedSimulator) -> Response:
    """A recording's JSON (`RE….json`) or its audio (`RE…`, `RE….wav`, `RE….mp3`)."""
    sid, _, extension = name.partition(".")
    call = sim.recording_call(sid)
    recording = call.recording
    assert recording is not None
    if extension == "json":
        return JSONResponse(call.recording_resource())
    if extension in {"", "wav"}:
        seconds = min(MEDIA_SECONDS, max(0.1, float(recording.duration)))
        return Response(wav_bytes(seconds, recording.channels), media_type="audio/x-wav")
    if extension == "mp3":
        return Response(mp3_bytes(), media_type="audio/mpeg")
    raise SimulatorError(
        NOT_FOUND, f"The requested resource Recordings/{name} was not found", status=404
    )


@router.delete("/Recordings/{name}", status_code=204)
async def delete_recording(name: str, sim: AuthedSimulator) -> Response:
    """Delete a recording (`RE….json` or `RE…`), as `client.recordings(sid).delete()` does."""
    sim.delete_recording(name.partition(".")[0])
    return Response(status_code=204)
