"""One call's life: ringing, answer, the TwiML conversation, hang-up, and every callback.

The call runs as one task. Each interruptible stretch (ringing, machine detection, one TwiML
document) runs as a child task, so a hang-up or redirect through the REST API, a dropped line
or the time limit cancels just that stretch and the call goes on to end the way Twilio would.
Status callbacks leave through a per-call queue, asynchronously from the conversation, as
Twilio sends them; duplicated, reordered and retried callbacks are injected there.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import random
import uuid
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urljoin

import phonenumbers

from dialer.simulator import twiml
from dialer.simulator.calls import (
    API_VERSION,
    NOT_IN_PROGRESS,
    CallStatus,
    Recording,
    SimCall,
    TranscriptTurn,
    billed_minutes,
    rfc2822,
)
from dialer.simulator.clock import SimClock
from dialer.simulator.config import Faults
from dialer.simulator.outcomes import CallPlan, plan_call, plan_dial_leg, speaking_seconds
from dialer.simulator.personas import PersonaKind, Reply
from dialer.simulator.tasks import TaskSet
from dialer.simulator.webhooks import INVALID_CONTENT_TYPE, WebhookClient, WebhookResult
from duecall.errors import SimulatorError
from duecall.logs import mask_phone

T = TypeVar("T")
logger = logging.getLogger(__name__)

APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
INVALID_URL_FORMAT = 11100
# Content types Twilio accepts for a TwiML document.
TWIML_CONTENT_TYPES = ("text/xml", "application/xml", "text/html")
PLAY_SECONDS = 5.0  # the simulator does not fetch audio; a <Play> lasts this long
MAX_BODY_IN_EVENTS = 4000


@dataclass(frozen=True)
class Source:
    """Where the next TwiML document comes from, and what to send when fetching it."""

    purpose: str  # url, redirect, gather_action, dial_action, api_redirect
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


class Interrupt(enum.Enum):
    CANCEL = "canceled via the REST API"
    HANGUP = "hung up via the REST API"
    DROP = "line dropped"
    TIME_LIMIT = "time limit reached"


class _Step(enum.Enum):
    NEXT = "next"  # go on with the next verb
    END = "end"  # the call ends


class _Interrupted(enum.Enum):
    INTERRUPTED = "interrupted"


INTERRUPTED = _Interrupted.INTERRUPTED


@dataclass(frozen=True)
class _Callback:
    kind: str  # status, recording, amd
    event: str
    url: str
    method: str
    params: dict[str, str]
    token: str
    duplicate: bool = False  # fault: delivered twice


class CallRunner:
    """Plays one call against the server's webhooks."""

    def __init__(
        self,
        call: SimCall,
        *,
        clock: SimClock,
        webhooks: WebhookClient,
        tasks: TaskSet,
        faults: Faults,
        seed: str,
    ) -> None:
        self.call = call
        self._clock = clock
        self._webhooks = webhooks
        self._tasks = tasks
        self._faults = faults
        self._rng = random.Random(f"{seed}|call")
        self._fault_rng = random.Random(f"{seed}|faults")
        options = call.options
        self._next = Source("url", url=options.url, method=options.method, twiml=options.twiml)
        self._phase: asyncio.Task[Any] | None = None
        self._interrupt: Interrupt | Source | None = None
        self._side_tasks: list[asyncio.Task[None]] = []
        self._callbacks: asyncio.Queue[_Callback | None] = asyncio.Queue()
        self._held: _Callback | None = None
        self._sequence = 0
        self._heard: list[str] = []
        self._ended_by = "twiml"
        self._countries = {
            "FromCountry": _country(options.from_),
            "ToCountry": _country(options.to),
        }

    # --- control from the REST API -------------------------------------------------------

    def hang_up(self) -> None:
        """`Status=completed` (or `canceled`): end a live call, cancel one not yet answered."""
        status = self.call.status
        if status.terminal:
            return
        self._interrupt_with(
            Interrupt.HANGUP if status is CallStatus.IN_PROGRESS else Interrupt.CANCEL
        )

    def redirect(self, source: Source) -> None:
        """`Url=` or `Twiml=`: a live call leaves its document; one not answered yet uses it."""
        if self.call.status.terminal:
            raise SimulatorError(NOT_IN_PROGRESS, "Call is not in-progress. Cannot redirect.")
        if self.call.status is CallStatus.IN_PROGRESS:
            self._interrupt_with(source)
        else:
            self._next = source

    def _interrupt_with(self, what: Interrupt | Source) -> None:
        self._interrupt = what
        if self._phase is not None:
            self._phase.cancel()

    # --- the life of the call --------------------------------------------------------------

    async def run(self) -> None:
        sender = self._tasks.spawn(self._send_callbacks())
        try:
            await self._live()
        except Exception:
            # The per-call job boundary: a bug in one simulated call must not stop the others.
            logger.exception("simulated call %s failed", self.call.sid)
            self._error(0, "the simulator failed on this call; see its log")
            if not self.call.status.terminal:
                self._finish(CallStatus.FAILED, by="simulator")
        for task in self._side_tasks:
            task.cancel()
        if self._held is not None:
            self._callbacks.put_nowait(self._held)
            self._held = None
        self._callbacks.put_nowait(None)
        await sender
        self.call.done = True
        logger.debug(
            "simulated call %s to %s: %s after %ss (%s)",
            self.call.sid,
            mask_phone(self.call.options.to),
            self.call.status,
            self.call.duration,
            self.call.persona,
        )

    async def _live(self) -> None:
        call, options = self.call, self.call.options
        plan = plan_call(
            call.persona,
            self._rng,
            timeout=options.timeout,
            machine_detection=options.machine_detection,
            detection_timeout=options.machine_detection_timeout,
            fails=self._fault_rng.random() < self._faults.failed_calls,
            answered_by=call.forced_answered_by,
        )
        if await self._phase_run(self._ring(plan)) is INTERRUPTED:
            self._take_interrupt()
            self._finish(CallStatus.CANCELED, by="api")
            return
        if plan.outcome != "answered":
            self._finish(CallStatus(plan.outcome), by="callee")
            return
        await self._answered(plan)
        self._finish(CallStatus.COMPLETED, by=self._ended_by)

    async def _ring(self, plan: CallPlan) -> None:
        await self._clock.sleep(plan.queue_seconds)
        self.call.start_time = self._clock.now()
        self._set_status(CallStatus.INITIATED)
        self._status_callback("initiated")
        await self._clock.sleep(plan.setup_seconds)
        self._set_status(CallStatus.RINGING)
        self._status_callback("ringing")
        await self._clock.sleep(plan.ring_seconds)

    async def _answered(self, plan: CallPlan) -> None:
        call, options = self.call, self.call.options
        call.answered_at = self._clock.now()
        self._set_status(CallStatus.IN_PROGRESS)
        if call.persona is PersonaKind.VOICEMAIL:
            self._record("voicemail_greeting", detail="the answering machine plays its greeting")
        if options.record:
            self._start_recording()
        drop_roll = self._fault_rng.random()
        if drop_roll < self._faults.drop_calls:
            self._after(self._fault_rng.uniform(3.0, 45.0), Interrupt.DROP)
        self._after(float(options.time_limit), Interrupt.TIME_LIMIT)

        if options.machine_detection and not options.async_amd:
            # Synchronous detection: Twilio fetches the Url only once it knows who answered.
            detection = await self._phase_run(self._clock.sleep(plan.detection_seconds))
            self._detected(plan)
            self._status_callback("answered")
            if detection is INTERRUPTED and not self._redirected():
                return
        else:
            self._status_callback("answered")
            if options.machine_detection:
                self._side_tasks.append(self._tasks.spawn(self._async_detection(plan)))
        await self._converse()

    def _redirected(self) -> bool:
        """Take a pending interrupt: a redirect becomes the next document; others end the call."""
        interrupt = self._take_interrupt()
        if isinstance(interrupt, Source):
            self._record("redirect", purpose=interrupt.purpose, url=interrupt.url)
            self._next = interrupt
            return True
        if interrupt is not None:
            self._ended_by = interrupt.name.lower()
            self._record("interrupted", reason=interrupt.value)
        return False

    async def _converse(self) -> None:
        source: Source | None = self._next
        while source is not None:
            result = await self._phase_run(self._run_source(source))
            if result is INTERRUPTED:
                if not self._redirected():
                    return
                source = self._next
            else:
                source = result

    async def _phase_run(self, work: Coroutine[Any, Any, T]) -> T | _Interrupted:
        """Run `work` as the call's interruptible stretch; INTERRUPTED if something cut it."""
        if self._interrupt is not None:
            work.close()
            return INTERRUPTED
        task = self._tasks.spawn(work)
        self._phase = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the simulator is shutting down
            return INTERRUPTED
        finally:
            self._phase = None

    def _take_interrupt(self) -> Interrupt | Source | None:
        interrupt, self._interrupt = self._interrupt, None
        return interrupt

    def _after(self, simulated: float, interrupt: Interrupt) -> None:
        async def later() -> None:
            await self._clock.sleep(simulated)
            if self.call.status is CallStatus.IN_PROGRESS:
                self._interrupt_with(interrupt)

        self._side_tasks.append(self._tasks.spawn(later()))

    def _detected(self, plan: CallPlan) -> None:
        self.call.answered_by = plan.answered_by
        self._record(
            "amd",
            answered_by=plan.answered_by,
            detection_ms=round(plan.detection_seconds * 1000),
        )

    async def _async_detection(self, plan: CallPlan) -> None:
        await self._clock.sleep(plan.detection_seconds)
        if self.call.status is not CallStatus.IN_PROGRESS:
            return
        self._detected(plan)
        options = self.call.options
        if options.async_amd_status_callback:
            params = {
                "CallSid": self.call.sid,
                "AccountSid": self.call.account_sid,
                "AnsweredBy": str(plan.answered_by),
                "MachineDetectionDuration": str(round(plan.detection_seconds * 1000)),
            }
            self._enqueue(
                "amd",
                "amd",
                options.async_amd_status_callback,
                options.async_amd_status_callback_method,
                params,
            )

    # --- TwiML -----------------------------------------------------------------------------

    async def _run_source(self, source: Source) -> Source | None:
        try:
            document, document_url = await self._fetch(source)
            return await self._execute(document, document_url)
        except SimulatorError as exc:
            self._error(exc.code, exc.message)
            self._say_to_borrower(APPLICATION_ERROR, "en-US")
            await self._clock.sleep(speaking_seconds(APPLICATION_ERROR))
            self._ended_by = "application_error"
            return None

    async def _fetch(self, source: Source) -> tuple[twiml.Document, str]:
        if source.twiml is not None:
            self._record("twiml", purpose=source.purpose, twiml=source.twiml[:MAX_BODY_IN_EVENTS])
            return twiml.parse_twiml(source.twiml), self.call.options.url or ""
        assert source.url is not None
        params = {**self._call_params(), **source.params}
        if self.call.answered_by and not self.call.options.async_amd:
            params["AnsweredBy"] = self.call.answered_by
        result = await self._webhooks.send(source.url, source.method, params)
        self._record_webhook(source.purpose, result, params)
        if not result.ok:
            raise SimulatorError(
                result.error_code,
                f"HTTP retrieval failure: {result.status_code or result.error} from {result.url}",
            )
        content_type = result.content_type.split(";")[0].strip().lower()
        if content_type not in TWIML_CONTENT_TYPES:
            raise SimulatorError(
                INVALID_CONTENT_TYPE, f"Invalid Content-Type {content_type!r} for TwiML"
            )
        return twiml.parse_twiml(result.body), source.url

    async def _execute(self, document: twiml.Document, document_url: str) -> Source | None:
        for verb in document.verbs:
            self._record("verb", verb=type(verb).__name__)
            step = await self._verb(verb, document_url)
            if step is _Step.NEXT:
                continue
            if step is _Step.END:
                return None
            return step
        self._ended_by = "twiml"
        return None

    async def _verb(self, verb: twiml.Verb, document_url: str) -> Source | _Step:
        match verb:
            case twiml.Say() | twiml.Play() | twiml.Pause():
                await self._prompt(verb)
                return _Step.NEXT
            case twiml.Gather():
                return await self._gather(verb, document_url)
            case twiml.Redirect(url=url, method=method):
                return Source("redirect", url=_resolve(document_url, url), method=method)
            case twiml.Dial():
                return await self._dial(verb, document_url)
            case twiml.Hangup():
                self._ended_by = "twiml"
                return _Step.END
            case twiml.Reject(reason=reason):
                self._record("rejected", reason=reason)
                self._ended_by = "twiml"
                return _Step.END
        raise AssertionError(f"unhandled verb {verb!r}")

    async def _prompt(self, prompt: twiml.Prompt) -> None:
        match prompt:
            case twiml.Say(text=text, language=language, loop=loop):
                self._say_to_borrower(text, language)
                self._heard.append(text)
                await self._clock.sleep(speaking_seconds(text) * loop)
            case twiml.Play(url=url, loop=loop):
                self._record("play", url=url, loop=loop)
                await self._clock.sleep(PLAY_SECONDS * loop)
            case twiml.Pause(length=length):
                await self._clock.sleep(float(length))

    async def _gather(self, gather: twiml.Gather, document_url: str) -> Source | _Step:
        for prompt in gather.prompts:
            await self._prompt(prompt)
        heard, self._heard = " ".join(self._heard), []
        reply = self.call.borrower.respond(heard, gather_language=gather.language, rng=self._rng)
        params: dict[str, str] | None = None
        await self._clock.sleep(self._rng.uniform(0.4, 1.5))  # the borrower thinks
        if reply.speech is not None:
            self._transcribe(reply.speech, gather.language, reply, "speech")
            await self._clock.sleep(speaking_seconds(reply.speech))
            if "speech" in gather.inputs:
                params = {"SpeechResult": reply.speech, "Confidence": f"{reply.confidence:.8f}"}
                await self._clock.sleep(gather.speech_timeout or 1.0)
        if params is None and reply.digits is not None and "dtmf" in gather.inputs:
            digits = reply.digits[: gather.num_digits] if gather.num_digits else reply.digits
            self._transcribe(digits, gather.language, reply, "dtmf")
            await self._clock.sleep(0.3 * len(digits))
            params = {"Digits": digits}
            if gather.num_digits is None or len(digits) < gather.num_digits:
                params["FinishedOnKey"] = gather.finish_on_key
        if reply.hang_up:
            self._ended_by = "borrower"
            self._record("borrower_hung_up", persona=str(self.call.persona))
            return _Step.END
        if params is None:
            await self._clock.sleep(float(gather.timeout))
            if not gather.action_on_empty_result:
                return _Step.NEXT  # Twilio falls through to the next verb
            params = {}
        # Without an action Twilio posts the result to the document's own URL.
        url = _resolve(document_url, gather.action or document_url)
        return Source("gather_action", url=url, method=gather.method, params=params)

    async def _dial(self, dial: twiml.Dial, document_url: str) -> Source | _Step:
        leg = plan_dial_leg(dial.timeout, self._rng)
        dial_sid = "CA" + _hex(self._rng)
        self._record("dial", targets=list(dial.targets), status=leg.status, dial_call_sid=dial_sid)
        await self._clock.sleep(leg.ring_seconds + leg.talk_seconds)
        if not dial.action:
            return _Step.NEXT
        params = {
            "DialCallStatus": leg.status,
            "DialCallSid": dial_sid,
            "DialBridged": "true" if leg.status == "completed" else "false",
        }
        if leg.status == "completed":
            params["DialCallDuration"] = str(round(leg.talk_seconds))
        return Source(
            "dial_action",
            url=_resolve(document_url, dial.action),
            method=dial.method,
            params=params,
        )

    # --- state, transcript and events -------------------------------------------------------

    def _set_status(self, status: CallStatus) -> None:
        now = self._clock.now()
        self.call.status = status
        self.call.updated_at = now
        self._record("status", status=str(status))

    def _finish(self, status: CallStatus, *, by: str) -> None:
        call = self.call
        call.end_time = self._clock.now()
        self._set_status(status)
        self._record("ended", status=str(status), by=by, duration=call.duration)
        if call.recording is not None:
            call.recording.duration = call.duration or 0
            call.recording.status = "completed" if call.recording.duration > 0 else "absent"
            self._recording_callback(call.recording.status)
        self._status_callback("completed")

    def _record(self, type_: str, **detail: Any) -> None:
        self.call.record(self._clock.now(), type_, **detail)

    def _error(self, code: int, message: str) -> None:
        self.call.error_code, self.call.error_message = code, message
        self._record("error", code=code, message=message)
        logger.warning("simulated call %s: Twilio error %s: %s", self.call.sid, code, message)

    def _say_to_borrower(self, text: str, language: str) -> None:
        turn = TranscriptTurn("agent", text, self._clock.now(), language=language)
        self.call.transcript.append(turn)

    def _transcribe(self, text: str, language: str, reply: Reply, kind: str) -> None:
        turn = TranscriptTurn(
            "borrower",
            text,
            self._clock.now(),
            language,
            confidence=reply.confidence if kind == "speech" else None,
            input=kind,
            intents=tuple(str(i) for i in reply.intents),
        )
        self.call.transcript.append(turn)

    def _record_webhook(
        self, purpose: str, result: WebhookResult, params: Mapping[str, str]
    ) -> None:
        self._record(
            "webhook",
            purpose=purpose,
            url=result.url,
            method=result.method,
            params=dict(params),
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            response=result.body[:MAX_BODY_IN_EVENTS],
        )

    def _call_params(self) -> dict[str, str]:
        call = self.call
        return {
            "CallSid": call.sid,
            "AccountSid": call.account_sid,
            "From": call.options.from_,
            "To": call.options.to,
            "Caller": call.options.from_,
            "Called": call.options.to,
            "CallStatus": str(call.status),
            "Direction": "outbound-api",
            "ApiVersion": API_VERSION,
            **self._countries,
        }

    # --- recording ---------------------------------------------------------------------------

    def _start_recording(self) -> None:
        call = self.call
        call.recording = Recording(
            sid="RE" + _hex(self._rng),
            call_sid=call.sid,
            started_at=self._clock.now(),
            duration=0,
            channels=call.options.recording_channels,
            status="in-progress",
        )
        self._record("recording", sid=call.recording.sid, status="in-progress")
        self._recording_callback("in-progress")

    def _recording_callback(self, status: str) -> None:
        call, options = self.call, self.call.options
        recording = call.recording
        if (
            recording is None
            or not options.recording_status_callback
            or status not in options.recording_status_callback_events
        ):
            return
        params = {
            "AccountSid": call.account_sid,
            "CallSid": call.sid,
            "RecordingSid": recording.sid,
            "RecordingUrl": call.recording_url(),
            "RecordingStatus": status,
            "RecordingDuration": str(recording.duration) if status != "in-progress" else "-1",
            "RecordingChannels": str(recording.channels),
            "RecordingStartTime": rfc2822(recording.started_at) or "",
            "RecordingSource": "OutboundAPI",
            "RecordingTrack": "both",
            "ErrorCode": "0",
        }
        self._enqueue(
            "recording",
            status,
            options.recording_status_callback,
            options.recording_status_callback_method,
            params,
        )

    # --- status callbacks --------------------------------------------------------------------

    def _status_callback(self, event: str) -> None:
        call, options = self.call, self.call.options
        if not options.status_callback or event not in options.status_callback_events:
            return
        params = {
            **self._call_params(),
            "Timestamp": rfc2822(self._clock.now()) or "",
            "SequenceNumber": str(self._sequence),
            "CallbackSource": "call-progress-events",
        }
        self._sequence += 1
        if event == "completed":
            seconds = call.duration or 0
            params["CallDuration"] = str(seconds)
            params["Duration"] = str(billed_minutes(seconds))
            if call.recording is not None:
                params["RecordingUrl"] = call.recording_url()
                params["RecordingSid"] = call.recording.sid
                params["RecordingDuration"] = str(call.recording.duration)
        if options.machine_detection and call.answered_by:
            params["AnsweredBy"] = call.answered_by
        self._enqueue(
            "status", event, options.status_callback, options.status_callback_method, params
        )

    def _enqueue(
        self, kind: str, event: str, url: str, method: str, params: dict[str, str]
    ) -> None:
        digest = hashlib.sha256(f"{self.call.sid}|{kind}|{event}".encode()).hexdigest()
        token = str(uuid.UUID(digest[:32]))
        # Fault draws happen here, in the call's own order, so a seed replays them exactly.
        duplicate = kind == "status" and self._fault_rng.random() < self._faults.duplicate_callbacks
        callback = _Callback(kind, event, url, method, params, token, duplicate)
        if kind == "status":
            # Fault: hold this callback back and deliver it after the next one.
            held_back = self._fault_rng.random() < self._faults.reorder_callbacks
            if held_back and self._held is None and event != "completed":
                self._held = callback
                self._record("callback_held", event=event, sequence=params["SequenceNumber"])
                return
        self._callbacks.put_nowait(callback)
        if kind == "status" and self._held is not None:
            self._callbacks.put_nowait(self._held)
            self._held = None

    async def _send_callbacks(self) -> None:
        while (callback := await self._callbacks.get()) is not None:
            await self._deliver(callback, duplicate=False)
            if callback.duplicate:
                await self._deliver(callback, duplicate=True)

    async def _deliver(self, callback: _Callback, *, duplicate: bool) -> None:
        attempts = 1 + self._faults.callback_retries
        for attempt in range(1, attempts + 1):
            result = await self._webhooks.send(
                callback.url, callback.method, callback.params, idempotency_token=callback.token
            )
            self._record(
                f"{callback.kind}_callback",
                event=callback.event,
                sequence=callback.params.get("SequenceNumber"),
                url=result.url,
                method=result.method,
                params=callback.params,
                status_code=result.status_code,
                latency_ms=result.latency_ms,
                error=result.error,
                attempt=attempt,
                duplicate=duplicate,
            )
            if result.ok or not result.retryable or attempt == attempts:
                return
            await self._clock.sleep(2.0 ** (attempt - 1))  # Twilio backs off between retries


def _resolve(document_url: str, url: str) -> str:
    resolved = urljoin(document_url, url) if document_url else url
    if not resolved.startswith(("http://", "https://")):
        raise SimulatorError(INVALID_URL_FORMAT, f"Invalid URL format: {url!r}")
    return resolved


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _country(number: str) -> str:
    try:
        return str(phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or "")
    except phonenumbers.NumberParseException:
        return ""
