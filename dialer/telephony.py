"""Telephony providers behind one small interface; Twilio (or its stand-in) is the adapter.

The simulator speaks Twilio's protocol, so `DUECALL_TELEPHONY=simulator` uses this same adapter
pointed at the stand-in: production code never knows which one answers. `FakeTelephony` is
the in-memory provider tests and simulations inject (it ships, like httpx's MockTransport).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from duecall.errors import ProviderError, ProviderTimeout

# Twilio's call progress events, asked for on every call.
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Twilio error codes for a number that cannot be dialled.
INVALID_NUMBER_CODES = {21211, 21214, 21215, 21217, 21219, 13224}


@dataclass(frozen=True, slots=True)
class OutboundCall:
    call_id: str
    to: str
    answer_url: str  # Twilio asks it for TwiML when the call is answered
    status_url: str
    amd_url: str
    recording_url: str
    ring_timeout_s: int = 30


@dataclass(frozen=True, slots=True)
class PlacedCall:
    provider_call_sid: str
    status: str


class Telephony(Protocol):
    def place_call(self, call: OutboundCall) -> PlacedCall:
        """Ask the provider to dial; raises ProviderError (retryable or not)."""
        ...

    def end_call(self, provider_call_sid: str) -> None: ...

    def redirect_call(self, provider_call_sid: str, url: str) -> None: ...

    def fetch_recording(self, url: str) -> bytes: ...

    def delete_recording(self, provider_recording_sid: str) -> None:
        """Erase a recording at the provider; one that is already gone counts as deleted."""
        ...

    def signature_valid(
        self, url: str, params: Mapping[str, str | list[str]], signature: str
    ) -> bool:
        """Whether `signature` is the provider's for `url` and `params` (repeated keys as lists)."""
        ...


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """A call as the provider has it (its REST API is the record when callbacks were missed)."""

    provider_call_sid: str
    status: str
    duration_s: int | None = None
    answered_by: str | None = None
    ended_at: datetime | None = None


@runtime_checkable
class CallLookup(Protocol):
    """A provider that can say what became of its calls (Twilio, FakeTelephony)."""

    def fetch_call(self, provider_call_sid: str) -> ProviderCall:
        """The call; raises ProviderError when it cannot say."""
        ...

    def calls_to(self, number: str) -> list[ProviderCall]:
        """The latest calls to `number`, newest first; raises ProviderError."""
        ...


class TwilioTelephony:
    """Twilio's REST API through the official SDK, at `api_base_url`."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base_url: str,
        timeout_s: float = 10.0,
    ) -> None:
        self._client = Client(
            account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout_s)
        )
        self._client.api.base_url = api_base_url
        self._auth = (account_sid, auth_token)
        self._from = from_number
        self._timeout = timeout_s
        self._validator = RequestValidator(auth_token)

    def place_call(self, call: OutboundCall) -> PlacedCall:
        try:
            created = self._client.calls.create(
                to=call.to,
                from_=self._from,
                url=call.answer_url,
                method="POST",
                status_callback=call.status_url,
                status_callback_event=STATUS_EVENTS,
                status_callback_method="POST",
                record=True,
                recording_status_callback=call.recording_url,
                recording_status_callback_event=["completed"],
                recording_status_callback_method="POST",
                machine_detection="DetectMessageEnd",
                async_amd="true",
                async_amd_status_callback=call.amd_url,
                async_amd_status_callback_method="POST",
                timeout=call.ring_timeout_s,
            )
        except TwilioRestException as exc:
            raise _translate(exc) from None
        except requests.Timeout:
            # The provider may or may not have created the call: its callbacks will tell.
            raise ProviderTimeout("the provider did not answer in time") from None
        except requests.RequestException as exc:
            raise ProviderError(
                f"the provider could not be reached ({exc})", retryable=True
            ) from None
        return PlacedCall(provider_call_sid=str(created.sid), status=str(created.status))

    def end_call(self, provider_call_sid: str) -> None:
        self._update(provider_call_sid, status="completed")

    def fetch_call(self, provider_call_sid: str) -> ProviderCall:
        try:
            return _provider_call(self._client.calls(provider_call_sid).fetch())
        except TwilioRestException as exc:
            raise _translate(exc) from None
        except requests.RequestException as exc:
            raise ProviderError(
                f"the provider could not be reached ({exc})", retryable=True
            ) from None

    def calls_to(self, number: str) -> list[ProviderCall]:
        try:
            return [_provider_call(c) for c in self._client.calls.list(to=number, limit=20)]
        except TwilioRestException as exc:
            raise _translate(exc) from None
        except requests.RequestException as exc:
            raise ProviderError(
                f"the provider could not be reached ({exc})", retryable=True
            ) from None

    def redirect_call(self, provider_call_sid: str, url: str) -> None:
        self._update(provider_call_sid, url=url, method="POST")

    def _update(self, provider_call_sid: str, **fields: str) -> None:
        try:
            self._client.calls(provider_call_sid).update(**fields)
        except TwilioRestException as exc:
            raise _translate(exc) from None
        except requests.RequestException as exc:
            raise ProviderError(
                f"the provider could not be reached ({exc})", retryable=True
            ) from None

    def fetch_recording(self, url: str) -> bytes:
        """A recording's audio, fetched with the account's credentials (never the browser's)."""
        try:
            response = requests.get(url, auth=self._auth, timeout=self._timeout)
        except requests.RequestException as exc:
            raise ProviderError(
                f"the recording could not be fetched ({exc})", retryable=True
            ) from None
        if response.status_code != 200:
            raise ProviderError(f"the recording could not be fetched (HTTP {response.status_code})")
        return response.content

    def delete_recording(self, provider_recording_sid: str) -> None:
        try:
            self._client.recordings(provider_recording_sid).delete()
        except TwilioRestException as exc:
            if exc.status == 404:
                return
            raise _translate(exc) from None
        except requests.RequestException as exc:
            raise ProviderError(
                f"the provider could not be reached ({exc})", retryable=True
            ) from None

    def signature_valid(
        self, url: str, params: Mapping[str, str | list[str]], signature: str
    ) -> bool:
        return twilio_signature_valid(self._validator, url, params, signature)


def _provider_call(resource: Any) -> ProviderCall:
    duration = resource.duration
    return ProviderCall(
        provider_call_sid=str(resource.sid),
        status=str(resource.status),
        duration_s=int(duration) if duration not in (None, "") else None,
        answered_by=resource.answered_by or None,
        ended_at=resource.end_time,
    )


class _RepeatedParams(dict[str, list[str]]):
    """Form parameters with repeated keys, as RequestValidator reads them (`getall`)."""

    def getall(self, key: str) -> list[str]:
        return self[key]


def twilio_signature_valid(
    validator: RequestValidator, url: str, params: Mapping[str, str | list[str]], signature: str
) -> bool:
    """Whether `signature` is Twilio's X-Twilio-Signature for `url` and the form `params`."""
    repeated = _RepeatedParams(
        (key, value if isinstance(value, list) else [value]) for key, value in params.items()
    )
    return bool(validator.validate(url, repeated, signature))


def _translate(exc: TwilioRestException) -> ProviderError:
    code = f" (Twilio {exc.code})" if exc.code else ""
    if exc.status == 429:
        return ProviderError(f"rate limited by the provider{code}", retryable=True)
    if exc.status >= 500:
        return ProviderError(f"provider error HTTP {exc.status}{code}", retryable=True)
    if exc.status in (401, 403):
        return ProviderError(f"the provider refused our credentials{code}")
    if exc.code in INVALID_NUMBER_CODES:
        return ProviderError(f"invalid number{code}: {exc.msg}")
    return ProviderError(f"the provider refused the call{code}: {exc.msg}")


@dataclass
class FakeCall:
    """A call the fake provider was asked to place."""

    outbound: OutboundCall
    provider_call_sid: str
    ended: bool = False
    redirected_to: list[str] = field(default_factory=list)


class FakeTelephony:
    """A provider in memory: records what it is asked, fails as told, signs as Twilio does.

    It places nothing and sends no callbacks: whoever drives it delivers them (signed with
    `sign` when they go through the webhooks). Safe to share between threads.
    """

    def __init__(self, *, auth_token: str = "fake-telephony-auth-token") -> None:
        self.calls: list[FakeCall] = []
        self.recordings: dict[str, bytes] = {}
        self.deleted_recordings: list[str] = []
        self.outcomes: dict[str, ProviderCall] = {}  # what fetch_call says, by provider sid
        self._failures: list[ProviderError] = []
        self._deletion_failures: list[ProviderError] = []
        self._validator = RequestValidator(auth_token)
        self._lock = threading.Lock()

    def fail_next(self, *errors: ProviderError) -> None:
        """The next `place_call`s raise these, one each, in order."""
        with self._lock:
            self._failures.extend(errors)

    def call_for(self, call_id: str) -> FakeCall:
        """The placed call with duecall's `call_id` (KeyError when there is none)."""
        with self._lock:
            return next(c for c in self.calls if c.outbound.call_id == call_id)

    def place_call(self, call: OutboundCall) -> PlacedCall:
        with self._lock:
            if self._failures:
                raise self._failures.pop(0)
            placed = FakeCall(call, "CA" + uuid.uuid4().hex)
            self.calls.append(placed)
        return PlacedCall(provider_call_sid=placed.provider_call_sid, status="queued")

    def end_call(self, provider_call_sid: str) -> None:
        self._find(provider_call_sid).ended = True

    def fetch_call(self, provider_call_sid: str) -> ProviderCall:
        """As placed, unless whoever drives the fake set `outcomes[sid]`."""
        call = self._find(provider_call_sid)
        return self.outcomes.get(call.provider_call_sid) or ProviderCall(
            call.provider_call_sid, "completed" if call.ended else "queued"
        )

    def calls_to(self, number: str) -> list[ProviderCall]:
        with self._lock:
            sids = [c.provider_call_sid for c in reversed(self.calls) if c.outbound.to == number]
        return [self.fetch_call(sid) for sid in sids]

    def redirect_call(self, provider_call_sid: str, url: str) -> None:
        self._find(provider_call_sid).redirected_to.append(url)

    def fetch_recording(self, url: str) -> bytes:
        try:
            return self.recordings[url]
        except KeyError:
            raise ProviderError("the recording could not be fetched (HTTP 404)") from None

    def delete_recording(self, provider_recording_sid: str) -> None:
        with self._lock:
            if self._deletion_failures:
                raise self._deletion_failures.pop(0)
            self.deleted_recordings.append(provider_recording_sid)

    def fail_next_deletions(self, *errors: ProviderError) -> None:
        """The next `delete_recording`s raise these, one each, in order."""
        with self._lock:
            self._deletion_failures.extend(errors)

    def signature_valid(
        self, url: str, params: Mapping[str, str | list[str]], signature: str
    ) -> bool:
        return twilio_signature_valid(self._validator, url, params, signature)

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """The X-Twilio-Signature the provider would send with `params` to `url`."""
        return str(self._validator.compute_signature(url, dict(params)))

    def _find(self, provider_call_sid: str) -> FakeCall:
        with self._lock:
            for call in self.calls:
                if call.provider_call_sid == provider_call_sid:
                    return call
        raise ProviderError(f"no call {provider_call_sid} (Twilio 20404)")
