"""ASGI middleware: request and call ids for log lines, webhook latency, the simulator's door."""

from __future__ import annotations

import re
import time
import uuid
from ipaddress import ip_address

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from duecall import logs
from duecall.metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
# A request id a proxy or client sent is kept when it is this tame; anything else is replaced.
_SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_WEBHOOK = re.compile(r"/twilio/[^/]+/([^/?]+)")


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
