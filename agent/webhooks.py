"""Twilio's voice webhooks for the conversation agent: the answer, every turn, the voicemail.

Signed like every Twilio webhook (403 otherwise, see `dialer.webhooks.signed_params`). The
answer URL is `/twilio/voice/{call_id}`; each Gather posts the borrower's answer back to it
with `?turn=n`, which is what makes a retried request recognisable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from weakref import WeakKeyDictionary

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import APIRouter, Query, Response

from agent.conversation import Said
from agent.llm.responder import prepare
from agent.service import Turn, hang_up, leave_voicemail, take_turn
from dialer.webhooks import TwilioParams
from duecall.context import AppContext
from duecall.db import is_sqlite
from duecall.deps import ContextDep

router = APIRouter(prefix="/twilio", tags=["twilio webhooks"], include_in_schema=False)
TWIML = "application/xml"

# Turns stored at once. A turn is a few milliseconds of Python and a short transaction; more of
# them in flight only contend for the GIL and the store and make every one slower. SQLite has a
# single writer anyway (a turn waiting for its lock would poll with growing sleeps).
TURNS_AT_ONCE_SQLITE = 1
TURNS_AT_ONCE = 4
_limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[bool, CapacityLimiter]] = (
    WeakKeyDictionary()
)


async def _in_turn(context: AppContext, work: Callable[[], str]) -> str:
    """Run a turn's store work in a worker thread, at most TURNS_AT_ONCE at a time."""
    sqlite = is_sqlite(context.engine)
    per_store = _limiters.setdefault(asyncio.get_running_loop(), {})
    limiter = per_store.get(sqlite)
    if limiter is None:
        limiter = per_store[sqlite] = CapacityLimiter(
            TURNS_AT_ONCE_SQLITE if sqlite else TURNS_AT_ONCE
        )
    return await anyio.to_thread.run_sync(work, limiter=limiter)


@router.post("/voice/{call_id}")
async def voice(
    call_id: str, params: TwilioParams, context: ContextDep, turn: int = Query(0, ge=0)
) -> Response:
    confidence = params.get("Confidence")
    said = Said(
        text=params.get("SpeechResult", ""),
        confidence=float(confidence) if confidence else None,
        digits=params.get("Digits") or None,
    )
    this_turn = Turn(
        call_id=call_id,
        provider_call_sid=params.get("CallSid", ""),
        number=turn,
        said=said,
        answered_by=params.get("AnsweredBy"),
    )
    # LLM mode asks the model first, outside the turn's limit (it may take the turn's budget).
    prepared = (
        await anyio.to_thread.run_sync(prepare, context, this_turn)
        if context.llm is not None
        else None
    )
    twiml = await _in_turn(
        context,
        partial(take_turn, context, this_turn, prepared, prepared.keep if prepared else None),
    )
    return Response(twiml, media_type=TWIML)


@router.post("/voicemail/{call_id}")
async def voicemail(call_id: str, params: TwilioParams, context: ContextDep) -> Response:
    twiml = await _in_turn(
        context, partial(leave_voicemail, context, call_id, params.get("CallSid", ""))
    )
    return Response(twiml, media_type=TWIML)


@router.post("/transferred/{call_id}")
def transferred(call_id: str, params: TwilioParams) -> Response:
    """The tele-caller leg of a transfer ended: the call ends with it."""
    return Response(hang_up(), media_type=TWIML)
