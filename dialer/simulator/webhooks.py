"""Requests to the server's webhooks, signed with X-Twilio-Signature exactly as Twilio does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

# Twilio error codes for a webhook that could not be used.
HTTP_RETRIEVAL_FAILURE = 11200
HTTP_CONNECTION_FAILURE = 11205
INVALID_CONTENT_TYPE = 12300
USER_AGENT = "TwilioProxy/1.1"


@dataclass(frozen=True)
class WebhookResult:
    url: str
    method: str
    status_code: int | None
    body: str
    content_type: str
    latency_ms: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        """Twilio retries a callback that timed out, could not connect, or got a 5xx."""
        return self.status_code is None or self.status_code >= 500

    @property
    def error_code(self) -> int:
        return HTTP_CONNECTION_FAILURE if self.status_code is None else HTTP_RETRIEVAL_FAILURE


def signed_request(
    validator: RequestValidator, url: str, method: str, params: Mapping[str, str]
) -> tuple[str, dict[str, str], dict[str, str] | None]:
    """The URL to request, the signature header and the form body of a webhook request.

    Twilio signs the full URL, followed for POST by each parameter name and value sorted by
    name; for GET the parameters are in the query string and so already in the URL.
    """
    if method == "GET":
        query = urlencode(params)
        full_url = f"{url}{'&' if '?' in url else '?'}{query}" if query else url
        return full_url, {"X-Twilio-Signature": validator.compute_signature(full_url, {})}, None
    signature = validator.compute_signature(url, dict(params))
    return url, {"X-Twilio-Signature": signature}, dict(params)


class WebhookClient:
    """Sends signed webhook requests; never raises for an HTTP failure, it reports it."""

    def __init__(self, client: httpx.AsyncClient, auth_token: str, timeout: float) -> None:
        self._client = client
        self._validator = RequestValidator(auth_token)
        self._timeout = timeout

    async def send(
        self,
        url: str,
        method: str,
        params: Mapping[str, str],
        *,
        idempotency_token: str | None = None,
    ) -> WebhookResult:
        full_url, headers, data = signed_request(self._validator, url, method, params)
        headers["User-Agent"] = USER_AGENT
        headers["Accept"] = "*/*"
        if idempotency_token:
            headers["I-Twilio-Idempotency-Token"] = idempotency_token
        started = time.perf_counter()
        try:
            # Twilio gives a webhook 15 s of real time, whatever the simulated clock's speed.
            async with asyncio.timeout(self._timeout):
                response = await self._client.request(
                    method, full_url, headers=headers, data=data, timeout=self._timeout
                )
        except TimeoutError:
            return self._failed(full_url, method, started, f"timed out after {self._timeout} s")
        except httpx.HTTPError as exc:
            return self._failed(full_url, method, started, f"{type(exc).__name__}: {exc}")
        return WebhookResult(
            url=full_url,
            method=method,
            status_code=response.status_code,
            body=response.text,
            content_type=response.headers.get("content-type", ""),
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    @staticmethod
    def _failed(url: str, method: str, started: float, error: str) -> WebhookResult:
        latency = round((time.perf_counter() - started) * 1000, 2)
        return WebhookResult(url, method, None, "", "", latency, error)
