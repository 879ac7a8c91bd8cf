"""A small webhook server for the simulator tests: scripted TwiML, callbacks recorded, and
X-Twilio-Signature validated with the Twilio SDK's RequestValidator (403 when it is wrong)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response
from twilio.request_validator import RequestValidator

BASE_URL = "http://webhooks.test"
Script = Callable[[dict[str, str]], str]


@dataclass
class Hit:
    path: str
    method: str
    params: dict[str, str]
    valid: bool
    headers: dict[str, str]
    status_code: int = 200


@dataclass
class WebhookServer:
    token: str
    scripts: dict[str, Script | str] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    # Status codes to answer on a path, used up one per request (then the normal answer).
    failures: dict[str, list[int]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)

    def reset(self, token: str) -> None:
        self.token = token
        self.scripts.clear()
        self.hits.clear()
        self.failures.clear()
        self.delays.clear()
        self.content_types.clear()

    def on(self, name: str, script: Script | str) -> str:
        """Serve `script` (TwiML, or a function of the request's params) at /twiml/NAME."""
        self.scripts[name] = script
        return f"{BASE_URL}/twiml/{name}"

    def hits_on(self, prefix: str, call_sid: str | None = None) -> list[Hit]:
        return [
            h
            for h in self.hits
            if h.path.startswith(prefix)
            and (call_sid is None or h.params.get("CallSid") == call_sid)
        ]

    def app(self) -> FastAPI:
        app = FastAPI()

        async def handle(request: Request) -> Response:
            path = request.url.path
            if request.method == "POST":
                form = await request.form()
                params = {k: str(v) for k, v in form.items()}
            else:
                params = dict(request.query_params)
            # GET is signed over the full URL only; POST over the URL and its form fields.
            signed_params = params if request.method == "POST" else {}
            valid = RequestValidator(self.token).validate(
                str(request.url), signed_params, request.headers.get("X-Twilio-Signature", "")
            )
            hit = Hit(path, request.method, params, valid, dict(request.headers))
            self.hits.append(hit)
            if path in self.delays:
                await asyncio.sleep(self.delays[path])
            if not valid:
                hit.status_code = 403
                return Response("invalid signature", status_code=403)
            pending = self.failures.get(path)
            if pending:
                hit.status_code = pending.pop(0)
                return Response("failure", status_code=hit.status_code)
            if path.startswith("/twiml/"):
                script = self.scripts[path.removeprefix("/twiml/")]
                body = script if isinstance(script, str) else script(params)
                media_type = self.content_types.get(path, "application/xml")
                return Response(body, media_type=media_type)
            hit.status_code = 204
            return Response(status_code=204)

        app.add_api_route("/{path:path}", handle, methods=["GET", "POST"])
        return app
