"""Simulated calls: the create request as Twilio validates it, the call's state, its JSON."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from dialer.simulator.outcomes import AnsweredBy
from dialer.simulator.personas import Borrower, PersonaKind
from duecall.errors import SimulatorError

API_VERSION = "2010-04-01"
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
RECORDING_EVENTS = ("in-progress", "completed", "absent")
MACHINE_DETECTION = ("Enable", "DetectMessageEnd")
# Twilio REST error codes (https://www.twilio.com/docs/api/errors).
INVALID_PARAMETER = 21200
NO_TO = 21201
INVALID_URL = 21205
INVALID_TO = 21211
INVALID_FROM = 21212
NO_FROM = 21213
NOT_IN_PROGRESS = 21220


class CallStatus(enum.StrEnum):
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
        CallStatus.FAILED,
        CallStatus.CANCELED,
    }
)


@dataclass(frozen=True)
class CallOptions:
    """The parameters of `POST .../Calls.json`, validated."""

    to: str
    from_: str
    url: str | None
    method: str = "POST"
    twiml: str | None = None
    status_callback: str | None = None
    status_callback_events: frozenset[str] = frozenset({"completed"})
    status_callback_method: str = "POST"
    record: bool = False
    recording_channels: int = 1
    recording_status_callback: str | None = None
    recording_status_callback_method: str = "POST"
    recording_status_callback_events: frozenset[str] = frozenset({"completed"})
    machine_detection: str | None = None
    machine_detection_timeout: int = 30
    async_amd: bool = False
    async_amd_status_callback: str | None = None
    async_amd_status_callback_method: str = "POST"
    timeout: int = 60
    time_limit: int = 14400


def parse_call_options(form: Mapping[str, Sequence[str]]) -> CallOptions:
    """Validate a create-call form as Twilio does; raises SimulatorError with Twilio's code."""

    def one(name: str) -> str | None:
        values = form.get(name) or []
        return values[-1].strip() if values else None

    to, from_ = one("To"), one("From")
    if not to:
        raise SimulatorError(NO_TO, "No 'To' number is specified")
    if not _valid_number(to):
        raise SimulatorError(INVALID_TO, f"Invalid 'To' Phone Number: {to}")
    if not from_:
        raise SimulatorError(NO_FROM, "No 'From' number is specified")
    if not _valid_number(from_):
        raise SimulatorError(INVALID_FROM, f"Invalid 'From' Phone Number: {from_}")
    url, twiml = one("Url"), one("Twiml")
    if not url and not twiml:
        raise SimulatorError(INVALID_URL, "Url parameter is required.")
    if url:
        parse_url("Url", url)
    machine_detection = one("MachineDetection")
    if machine_detection and machine_detection not in MACHINE_DETECTION:
        raise SimulatorError(
            INVALID_PARAMETER,
            f"MachineDetection must be one of {', '.join(MACHINE_DETECTION)}",
        )
    channels = (one("RecordingChannels") or "mono").lower()
    if channels not in {"mono", "dual"}:
        raise SimulatorError(INVALID_PARAMETER, "RecordingChannels must be mono or dual")
    return CallOptions(
        to=to,
        from_=from_,
        url=url,
        method=parse_method("Method", one("Method")),
        twiml=twiml,
        status_callback=_optional_url("StatusCallback", one("StatusCallback")),
        status_callback_events=_events(
            "StatusCallbackEvent", form.get("StatusCallbackEvent"), STATUS_EVENTS
        ),
        status_callback_method=parse_method("StatusCallbackMethod", one("StatusCallbackMethod")),
        record=_bool("Record", one("Record")),
        recording_channels=2 if channels == "dual" else 1,
        recording_status_callback=_optional_url(
            "RecordingStatusCallback", one("RecordingStatusCallback")
        ),
        recording_status_callback_method=parse_method(
            "RecordingStatusCallbackMethod", one("RecordingStatusCallbackMethod")
        ),
        recording_status_callback_events=_events(
            "RecordingStatusCallbackEvent",
            form.get("RecordingStatusCallbackEvent"),
            RECORDING_EVENTS,
        ),
        machine_detection=machine_detection or None,
        machine_detection_timeout=_int(
            "MachineDetectionTimeout", one("MachineDetectionTimeout"), 30, 3, 59
        ),
        async_amd=_bool("AsyncAmd", one("AsyncAmd")),
        async_amd_status_callback=_optional_url(
            "AsyncAmdStatusCallback", one("AsyncAmdStatusCallback")
        ),
        async_amd_status_callback_method=parse_method(
            "AsyncAmdStatusCallbackMethod", one("AsyncAmdStatusCallbackMethod")
        ),
        # Twilio clamps Timeout to 5..600 seconds rather than refusing it.
        timeout=min(600, max(5, _int("Timeout", one("Timeout"), 60, 0, 10**6))),
        time_limit=_int("TimeLimit", one("TimeLimit"), 14400, 1, 86400),
    )


def _valid_number(number: str) -> bool:
    if not number.startswith("+"):
        return False
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def parse_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SimulatorError(INVALID_URL, f"{name} is not a valid URL: {value}")
    return value


def _optional_url(name: str, value: str | None) -> str | None:
    return parse_url(name, value) if value else None


def parse_method(name: str, value: str | None) -> str:
    method = (value or "POST").upper()
    if method not in {"GET", "POST"}:
        raise SimulatorError(INVALID_PARAMETER, f"{name} must be GET or POST, not {value!r}")
    return method


def _bool(name: str, value: str | None) -> bool:
    raw = (value or "false").lower()
    if raw not in {"true", "false"}:
        raise SimulatorError(INVALID_PARAMETER, f"{name} must be true or false, not {value!r}")
    return raw == "true"


def _int(name: str, value: str | None, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise SimulatorError(
            INVALID_PARAMETER, f"{name} must be an integer, not {value!r}"
        ) from None
    if not low <= number <= high:
        raise SimulatorError(INVALID_PARAMETER, f"{name} must be between {low} and {high}")
    return number


def _events(name: str, values: Sequence[str] | None, allowed: Sequence[str]) -> frozenset[str]:
    # The SDK sends a list as repeated parameters; people also send "initiated ringing".
    events = frozenset(e for v in values or [] for e in v.replace(",", " ").split())
    unknown = events - set(allowed)
    if unknown:
        raise SimulatorError(
            INVALID_PARAMETER,
            f"{name} has unknown events {sorted(unknown)}; allowed: {', '.join(allowed)}",
        )
    return events or frozenset({"completed"})


@dataclass
class TranscriptTurn:
    speaker: str  # "agent" or "borrower"
    text: str
    at: datetime
    language: str | None = None
    confidence: float | None = None
    input: str = "speech"  # "speech" or "dtmf"
    intents: tuple[str, ...] = ()  # what a simulated borrower meant (for tests and analysis)


@dataclass
class Event:
    at: datetime
    type: str
    detail: dict[str, Any]


@dataclass
class Recording:
    sid: str
    call_sid: str
    started_at: datetime
    duration: int
    channels: int
    status: str = "completed"


@dataclass
class SimCall:
    """One simulated call and everything that happened on it."""

    sid: str
    account_sid: str
    options: CallOptions
    persona: PersonaKind
    borrower: Borrower
    created_at: datetime
    api_base_url: str  # where this call's REST resources (and recordings) are served
    forced_answered_by: AnsweredBy | None = None  # the directory's machine-detection result
    status: CallStatus = CallStatus.QUEUED
    updated_at: datetime | None = None
    start_time: datetime | None = None  # dialling began
    answered_at: datetime | None = None
    end_time: datetime | None = None
    answered_by: AnsweredBy | None = None
    error_code: int | None = None
    error_message: str | None = None
    recording: Recording | None = None
    transcript: list[TranscriptTurn] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    done: bool = False  # the lifecycle and every callback have finished

    @property
    def duration(self) -> int | None:
        """Seconds from answer to hang-up; None until a call ends, 0 when nobody answered."""
        if self.end_time is None:
            return None
        if self.answered_at is None:
            return 0
        return max(0, round((self.end_time - self.answered_at).total_seconds()))

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    def record(self, at: datetime, type_: str, **detail: Any) -> None:
        self.events.append(Event(at=at, type=type_, detail=detail))

    def resource(self) -> dict[str, Any]:
        """The call as Twilio's REST API shows it."""
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}"
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "annotation": None,
            "answered_by": self.answered_by,
            "caller_name": None,
            "date_created": rfc2822(self.created_at),
            "date_updated": rfc2822(self.updated_at or self.created_at),
            "direction": "outbound-api",
            "duration": None if self.duration is None else str(self.duration),
            "end_time": rfc2822(self.end_time),
            "forwarded_from": None,
            "from": self.options.from_,
            "from_formatted": self.options.from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "start_time": rfc2822(self.start_time),
            "status": str(self.status),
            "subresource_uris": {
                "recordings": f"{base}/Recordings.json",
                "notifications": f"{base}/Notifications.json",
                "events": f"{base}/Events.json",
            },
            "to": self.options.to,
            "to_formatted": self.options.to,
            "trunk_sid": None,
            "uri": self.uri,
        }

    def recording_resource(self) -> dict[str, Any]:
        recording = self.recording
        assert recording is not None
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{recording.sid}"
        return {
            "sid": recording.sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "call_sid": self.sid,
            "conference_sid": None,
            "channels": recording.channels,
            "date_created": rfc2822(recording.started_at),
            "date_updated": rfc2822(recording.started_at),
            "start_time": rfc2822(recording.started_at),
            "duration": str(recording.duration),
            "price": None,
            "price_unit": "USD",
            "source": "OutboundAPI",
            "status": recording.status,
            "error_code": None,
            "encryption_details": None,
            "track": "both",
            "uri": f"{uri}.json",
            "media_url": f"{self.api_base_url}{uri}",
            "subresource_uris": {"transcriptions": f"{uri}/Transcriptions.json"},
        }

    def recording_url(self) -> str:
        assert self.recording is not None
        return (
            f"{self.api_base_url}/{API_VERSION}/Accounts/{self.account_sid}"
            f"/Recordings/{self.recording.sid}"
        )


def rfc2822(at: datetime | None) -> str | None:
    """Twilio's date format: `Tue, 03 Mar 2026 04:30:00 +0000`."""
    return None if at is None else format_datetime(at.astimezone(UTC))


def billed_minutes(seconds: int) -> int:
    return math.ceil(seconds / 60)
