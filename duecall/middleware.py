"""ASGI middleware: request and call ids for log lines, webhook latency, the simulator's door;
and the answer given when the database cannot be reached."""

from __future__ import annotations

import logging
import re
import time
import uuid
from functools import cache
from ipaddress import ip_address

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from twilio.twiml.voice_response import VoiceResponse

from agent.script import LANGUAGES, script
from duecall import logs
from duecall.metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
# A request id a proxy or client sent is kept when it is this tame; anything else is replaced.
_SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_WEBHOOK = re.compile(r"/twilio/[^/]+/([^/?]+)")
# Twilio webhooks whose answer it ignores (status, machine detection, recording, relay ended):
# those get a 503 a retrying provider tries again; the others' TwiML is what the caller hears.
_CALLBACK = re.compile(r"/twilio/(?:(?:status|amd|recording)/[^/]+|relay/[^/]+/ended)/?")
log = logging.getLogger(__name__)


def database_outage(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached now (not that a statement is wrong)."""
    if isinstance(exc, OperationalError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@cache
def polite_close() -> str:
    """TwiML ending a call courteously: the apology in every script language, then hang up.

    The call's language is in the database that cannot be reached, so each is said in turn."""
    response = VoiceResponse()
    for language in LANGUAGES:
        lines = script(language)
        response.say(lines.line("close_outage"), language=lines.twilio_language)
    response.hangup()
    return str(response)


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """The answer when the database is away: a Twilio webhook that returns TwiML gets a polite
    close (a 500 would make Twilio play its application-error message, or leave the caller in
    silence); a callback and the API get 503 with Retry-After. Other database errors are bugs:
    they are raised on to the 500 handler."""
    if not database_outage(exc):
        raise exc
    metrics: Metrics = request.app.state.context.metrics
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    log.warning("database unreachable answering %s (%s)", path, type(exc).__name__)
    if path.startswith("/twilio/") and not _CALLBACK.fullmatch(path):
        metrics.database_unavailable.labels(kind="twiml").inc()
        return Response(polite_close(), media_type="application/xml")
    kind = "callback" if path.startswith("/twilio/") else "api"
    metrics.database_unavailable.labels(kind=kind).inc()
    return JSONResponse(
        {"detail": "the database is unavailable; try again shortly"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


class RequestContext:
    """Every request gets an id (kept from X-Request-ID when sane, returned in it); log lines
    written while serving it carry the id, and a Twilio webhook's call id. Webhook answers are
    timed into the metrics by route."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"")
        request_id = sent.decode() if _SAFE_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        path: str = scope["path"]
        webhook = _WEBHOOK.fullmatch(path)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        started = time.perf_counter()
        with logs.bound(request=request_id, call=webhook.group(1) if webhook else None):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                if webhook and scope["type"] == "http":
                    route = getattr(scope.get("route"), "path", None) or "unmatched"
                    self.metrics.webhook_duration.labels(route=route).observe(
                        time.perf_counter() - started
                    )


class LoopbackOnly:
    """Requests under `prefix` are answered only for clients on this machine (403 otherwise)."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].removeprefix(
            scope.get("root_path", "")
        ).startswith(self.prefix):
            client = scope.get("client")
            if not _loopback(client[0] if client else ""):
                await _forbidden(send, b"the simulator's control API answers local clients only")
                return
        await self.app(scope, receive, send)


def _loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host == "testclient"  # Starlette's TestClient, in this process


async def _forbidden(send: Send, detail: bytes) -> None:
    body = b'{"detail": "' + detail + b'"}'
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
