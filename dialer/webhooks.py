"""Twilio's webhooks: call status, answering-machine detection, recordings.

Every request must carry a valid X-Twilio-Signature for the URL Twilio called, which is
DUECALL_PUBLIC_BASE_URL plus the path (what Twilio signed, even behind a proxy); anything
else gets 403. Callbacks are recorded as they are applied, so a retried one changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from agent.service import conversation_open
from crm.models import Call, Recording
from dialer.calls import DISPOSITION_FOR_STATUS, MACHINE, apply_status, webhook_urls
from dialer.models import WebhookEvent
from dialer.telephony import Telephony
from duecall.access import access_check
from duecall.db import read_session, transaction
from duecall.deps import ContextDep
from duecall.errors import ProviderError

log = logging.getLogger(__name__)
router = APIRouter(prefix="/twilio", tags=["twilio webhooks"], include_in_schema=False)


async def get_telephony(request: Request) -> Telephony:
    telephony: Telephony = request.app.state.telephony
    return telephony


TelephonyDep = Annotated[Telephony, Depends(get_telephony)]


def _matches(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda value: compiled.fullmatch(value) is not None


def _confidence(value: str) -> bool:
    try:
        return 0.0 <= float(value) <= 1.0 and len(value) <= 32
    except ValueError:
        return False


_SID = _matches(r"[A-Z]{2}[0-9a-fA-F]{32}")
_WORD = _matches(r"[a-z][a-z_-]{0,31}")
_COUNT = _matches(r"-?[0-9]{1,9}")
# The shape of every Twilio parameter duecall reads (and of our own `turn`): a request that is
# signed but carries anything else is refused with 400 naming the parameter, before it could
# reach a column or a number conversion.
PARAMETER_SHAPES: dict[str, Callable[[str], bool]] = {
    "AccountSid": _SID,
    "CallSid": _SID,
    "DialCallSid": _SID,
    "ParentCallSid": _SID,
    "RecordingSid": _SID,
    "CallStatus": _WORD,
    "DialCallStatus": _WORD,
    "RecordingStatus": _WORD,
    "AnsweredBy": _WORD,
    "CallDuration": _COUNT,
    "Duration": _COUNT,
    "DialCallDuration": _COUNT,
    "RecordingDuration": _COUNT,
    "MachineDetectionDuration": _COUNT,
    "SequenceNumber": _COUNT,
    "Confidence": _confidence,
}
QUERY_SHAPES: dict[str, Callable[[str], bool]] = {"turn": _COUNT}
FORM = "application/x-www-form-urlencoded"


# As Starlette's form parser: at most this many fields (400 beyond).
MAX_FORM_FIELDS = 1000


@access_check
async def signed_params(
    request: Request, context: ContextDep, telephony: TelephonyDep
) -> dict[str, str]:
    """The request's form parameters, once its X-Twilio-Signature is verified (403 if not).

    The signature is checked against DUECALL_PUBLIC_BASE_URL plus the path and query, never
    the Host or X-Forwarded-* headers. A body that is not a form gets 415; a signed request
    with a parameter of the wrong shape gets 400.
    """
    return await verified_params(request, context.settings.public_base_url, telephony)


async def verified_params(request: Request, base_url: str, telephony: Telephony) -> dict[str, str]:
    """`signed_params` for any handler that has the request (the voice webhooks' lean path)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("", FORM):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"Twilio webhooks are posted as {FORM}"
        )
    repeated: dict[str, list[str]] = {}
    if content_type == FORM:
        for key, value in parse_form(await request.body()):
            repeated.setdefault(key, []).append(value)
    params: dict[str, str | list[str]] = dict(repeated)
    url = base_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not telephony.signature_valid(url, params, signature):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid or missing X-Twilio-Signature")
    single = {key: values[-1] for key, values in repeated.items()}
    query = dict(request.query_params)
    for given, shapes in ((single, PARAMETER_SHAPES), (query, QUERY_SHAPES)):
        for name, valid in shapes.items():
            if name in given and not valid(given[name]):
                raise HTTPException(
                    status.HTTP_400_BAD_REQUEST, f"{name}: not a value Twilio sends"
                )
    return single


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """An x-www-form-urlencoded body's fields, in order, read as Starlette's form parser reads
    them: split on "&", empty pieces skipped, a piece without "=" a name with an empty value,
    bytes as Latin-1 and %-escapes as UTF-8; 400 beyond MAX_FORM_FIELDS."""
    fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
    if len(fields) > MAX_FORM_FIELDS:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"Too many fields. Maximum number of fields is {MAX_FORM_FIELDS}.",
        )
    return fields


TwilioParams = Annotated[dict[str, str], Depends(signed_params)]


def first_time(session: Session, *, sid: str, kind: str, key: str, now: datetime) -> bool:
    """Record a callback; False when the same one was applied before (a retry or duplicate)."""
    try:
        with session.begin_nested():
            session.add(WebhookEvent(provider_call_sid=sid, kind=kind, key=key, received_at=now))
    except IntegrityError:
        return False
    return True


@router.post("/status/{call_id}", status_code=204)
def call_status(call_id: str, params: TwilioParams, context: ContextDep) -> Response:
    now = context.clock.now()
    sid, call_status = params.get("CallSid", ""), params.get("CallStatus", "")
    with transaction(context.sessions) as session:
        call = session.get(Call, call_id)
        if call is None or not sid or not call_status:
            log.warning("status callback for unknown call %s ignored", call_id)
            return Response(status_code=204)
        if first_time(
            session,
            sid=sid,
            kind="status",
            key=f"{call_status}:{params.get('SequenceNumber', '')}",
            now=now,
        ):
            duration = params.get("CallDuration") or params.get("Duration")
            apply_status(
                session, call, status=call_status, provider_call_sid=sid,
                duration_s=int(duration) if duration and duration.isdigit() else None,
                answered_by=params.get("AnsweredBy"), now=now, policy=context.policy,
                zone=ZoneInfo(context.settings.default_timezone),
            )  # fmt: skip
    return Response(status_code=204)


@router.post("/amd/{call_id}", status_code=204)
def machine_detection(
    call_id: str, params: TwilioParams, context: ContextDep, telephony: TelephonyDep
) -> Response:
    """Asynchronous answering-machine detection: a machine gets the voicemail message."""
    answered_by, sid = params.get("AnsweredBy", ""), params.get("CallSid", "")
    with transaction(context.sessions) as session:
        call = session.get(Call, call_id)
        if call is None or not answered_by:
            return Response(status_code=204)
        call.answered_by = answered_by
        redirect = answered_by in MACHINE and sid and conversation_open(session, call_id)
    if redirect:
        # The greeting so far said nothing about the debt; the machine hears only the
        # limited-content message (SPEC; Reg F §1006.2(j)).
        url = f"{context.settings.public_base_url}/twilio/voicemail/{call_id}"
        try:
            telephony.redirect_call(sid, url)
        except ProviderError as exc:
            log.warning("call %s: could not switch to the voicemail message: %s", call_id, exc)
    return Response(status_code=204)


@router.post("/recording/{call_id}", status_code=204)
def recording(call_id: str, params: TwilioParams, context: ContextDep) -> Response:
    sid, url = params.get("RecordingSid"), params.get("RecordingUrl")
    if not sid or not url or params.get("RecordingStatus", "completed") != "completed":
        return Response(status_code=204)
    now = context.clock.now()
    with transaction(context.sessions) as session:
        call = session.get(Call, call_id)
        if call is None or not first_time(session, sid=sid, kind="recording", key=sid, now=now):
            return Response(status_code=204)
        duration = params.get("RecordingDuration", "")
        session.add(
            Recording(
                call_id=call_id, provider_recording_sid=sid, url=url, created_at=now,
                duration_s=int(duration) if duration.isdigit() else None,
            )
        )  # fmt: skip
        call.recording_url = url
    return Response(status_code=204)


@router.post("/bridge/{call_id}")
def bridge(call_id: str, params: TwilioParams, context: ContextDep) -> Response:
    """Click-to-call: the tele-caller has answered their phone; now dial the borrower."""
    with read_session(context.sessions) as session:
        call = session.get(Call, call_id)
        response = VoiceResponse()
        if call is None or not call.phone:
            response.say("This call cannot be connected. Goodbye.")
            response.hangup()
        else:
            response.say(f"Connecting you to account {call.account_id}.", voice="alice")
            dial = response.dial(
                record="record-from-answer-dual",
                recording_status_callback=webhook_urls(
                    context.settings.public_base_url, call_id
                ).recording,
                action=f"{context.settings.public_base_url}/twilio/bridged/{call_id}",
            )
            dial.number(call.phone)
    return Response(str(response), media_type="application/xml")


@router.post("/bridged/{call_id}")
def bridged(call_id: str, params: TwilioParams, context: ContextDep) -> Response:
    """The borrower's leg of a click-to-call ended: a leg that never connected is an outcome."""
    leg = params.get("DialCallStatus", "")
    with transaction(context.sessions) as session:
        call = session.get(Call, call_id)
        if call is not None and call.disposition is None and leg in DISPOSITION_FOR_STATUS:
            call.disposition = DISPOSITION_FOR_STATUS[leg]
        if call is not None and leg == "completed" and call.answered_at is None:
            call.answered_at = context.clock.now()
    response = VoiceResponse()
    response.hangup()
    return Response(str(response), media_type="application/xml")
