"""Twilio's voice webhooks for the conversation agent: the answer, every turn, the voicemail.

Signed like every Twilio webhook (403 otherwise, see `dialer.webhooks.signed_params`). The
answer URL is `/twilio/voice/{call_id}`; each Gather posts the borrower's answer back to it
with `?turn=n`, which is what makes a retried request recognisable.

The answer and the turns are the agent's hot path (a turn every few seconds of every call in
progress), so they are plain Starlette routes matched before all others (`install`): the app's
middleware and exception handlers still apply (request ids, the latency metric, the body limit,
the polite close when the database is away), FastAPI's dependency solving and form parsing do
not. They check exactly what the dependencies would (`dialer.webhooks.verified_params`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from weakref import WeakKeyDictionary

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.routing import Match, Route
from starlette.types import Scope

from agent.conversation import Said
from agent.llm.responder import llm_turn
from agent.service import Turn, hang_up, leave_voicemail, take_turn, turns_at_once
from dialer.webhooks import TwilioParams, verified_params
from duecall.access import access_check
from duecall.context import AppContext

router = APIRouter(prefix="/twilio", tags=["twilio webhooks"], include_in_schema=False)
TWIML = "application/xml"

# Worker threads for turns at once: as many as the store takes turns at once (`take_turn`), so
# turns waiting for one hold no thread.
_limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, CapacityLimiter]] = (
    WeakKeyDictionary()
)


async def _in_turn(context: AppContext, work: Callable[[], str]) -> str:
    """Run a turn's store work in a worker thread, as many at a time as the store takes."""
    at_once = turns_at_once(context.engine)
    per_store = _limiters.setdefault(asyncio.get_running_loop(), {})
    limiter = per_store.get(at_once)
    if limiter is None:
        limiter = per_store[at_once] = CapacityLimiter(at_once)
    return await anyio.to_thread.run_sync(work, limiter=limiter)


async def _signed(request: Request) -> tuple[AppContext, dict[str, str]]:
    """The app's context and the request's verified Twilio parameters (403/400/415 as
    `dialer.webhooks.signed_params`)."""
    context: AppContext = request.app.state.context
    params = await verified_params(
        request, context.settings.public_base_url, request.app.state.telephony
    )
    return context, params


def _turn_number(request: Request) -> int:
    """`?turn=n`: 0 when absent; its shape was checked with the signature; 422 when negative,
    as FastAPI answers a query parameter declared `ge=0`."""
    value = request.query_params.get("turn")
    if value is None:
        return 0
    number = int(value)
    if number < 0:
        raise RequestValidationError(
            [
                {
                    "type": "greater_than_equal",
                    "loc": ("query", "turn"),
                    "msg": "Input should be greater than or equal to 0",
                    "input": value,
                    "ctx": {"ge": 0},
                }
            ]
        )
    return number


@access_check  # the X-Twilio-Signature check, in `_signed`
async def voice(request: Request) -> Response:
    """POST /twilio/voice/{call_id}[?turn=n]: the call was answered, or the borrower answered."""
    context, params = await _signed(request)
    call_id: str = request.path_params["call_id"]
    confidence = params.get("Confidence")
    said = Said(
        text=params.get("SpeechResult", ""),
        confidence=float(confidence) if confidence else None,
        digits=params.get("Digits") or None,
    )
    this_turn = Turn(
        call_id=call_id,
        provider_call_sid=params.get("CallSid", ""),
        number=_turn_number(request),
        said=said,
        answered_by=params.get("AnsweredBy"),
    )
    if context.llm is None or this_turn.number == 0:  # the answer is the script's
        twiml = await _in_turn(context, partial(take_turn, context, this_turn))
    else:
        # The model may take the turn's budget: its worker thread is not one of the turns'.
        twiml = await anyio.to_thread.run_sync(llm_turn, context, this_turn)
    return Response(twiml, media_type=TWIML)


@access_check  # the X-Twilio-Signature check, in `_signed`
async def voicemail(request: Request) -> Response:
    """POST /twilio/voicemail/{call_id}: an answering machine gets the limited-content message."""
    context, params = await _signed(request)
    call_id: str = request.path_params["call_id"]
    twiml = await _in_turn(
        context, partial(leave_voicemail, context, call_id, params.get("CallSid", ""))
    )
    return Response(twiml, media_type=TWIML)


class _Route(Route):
    """A Starlette route that names itself in the scope as FastAPI's routes do (the webhook
    latency metric is labelled with the route's path)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


ROUTES = (
    _Route("/twilio/voice/{call_id}", voice, methods=["POST"]),
    _Route("/twilio/voicemail/{call_id}", voicemail, methods=["POST"]),
)


def install(app: FastAPI) -> None:
    """Serve the agent's webhooks on `app`: the lean routes first, then the router's."""
    app.router.routes[0:0] = ROUTES
    app.include_router(router)


@router.post("/transferred/{call_id}")
def transferred(call_id: str, params: TwilioParams) -> Response:
    """The tele-caller leg of a transfer ended: the call ends with it."""
    return Response(hang_up(), media_type=TWIML)
