"""Twilio's voice webhooks for the conversation agent: the answer, every turn, the voicemail.

Signed like every Twilio webhook (403 otherwise, see `dialer.webhooks.signed_params`). The
answer URL is `/twilio/voice/{call_id}`; each Gather posts the borrower's answer back to it
with `?turn=n`, which is what makes a retried request recognisable.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from agent.conversation import Said
from agent.llm.responder import prepare
from agent.service import Turn, hang_up, leave_voicemail, take_turn
from dialer.webhooks import TwilioParams
from duecall.deps import ContextDep

router = APIRouter(prefix="/twilio", tags=["twilio webhooks"], include_in_schema=False)
TWIML = "application/xml"


@router.post("/voice/{call_id}")
def voice(
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
    prepared = prepare(context, this_turn)
    twiml = take_turn(
        context, this_turn, responder=prepared, also=prepared.keep if prepared else None
    )
    return Response(twiml, media_type=TWIML)


@router.post("/voicemail/{call_id}")
def voicemail(call_id: str, params: TwilioParams, context: ContextDep) -> Response:
    return Response(leave_voicemail(context, call_id, params.get("CallSid", "")), media_type=TWIML)


@router.post("/transferred/{call_id}")
def transferred(call_id: str, params: TwilioParams) -> Response:
    """The tele-caller leg of a transfer ended: the call ends with it."""
    return Response(hang_up(), media_type=TWIML)
