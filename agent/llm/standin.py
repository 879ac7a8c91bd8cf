"""An OpenAI-compatible chat-completions server that tests and benchmarks script answer by answer.

The LLM's counterpart of the Twilio simulator (`dialer/simulator`): the agent talks to it through
the real adapter and the `openai` SDK, as to any endpoint named by `OPENAI_BASE_URL`, and cannot
tell the difference. Each request takes the next queued `Answer`, or, when none is queued, what
`default` makes of the request (by default `follow_the_agent`: the line the agent proposed, or
its question again). An answer is a reply, tool calls, streamed chunks with delays, an HTTP
error, a stall or garbage.
Every request is kept in `exchanges` with its timings (`time.perf_counter()`, which on Linux is
the system-wide monotonic clock, so other processes on the machine can compare against it).

Token counts are estimated: a quarter of the UTF-8 bytes of the request's messages and tools
(about right for English with OpenAI's tokenizers; Devanagari costs more in real ones).

`python -m agent.llm.standin --port 8100` serves one for trying `DUECALL_AGENT_MODE=llm` by hand
(`OPENAI_BASE_URL=http://127.0.0.1:8100/v1`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from duecall.live import free_socket, serving

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """One scripted answer. `tool_calls` are (name, arguments): a dict is sent as JSON, a str as
    it is (so a test can send arguments that do not parse)."""

    text: str = ""
    tool_calls: tuple[tuple[str, JsonObject | str], ...] = ()
    chunks: tuple[str, ...] | None = None  # streamed pieces; default: the text word by word
    delay_s: float = 0.0  # before anything is sent: the model thinking
    chunk_delay_s: float = 0.0  # between streamed pieces
    status: int = 200
    body: str | None = None  # sent instead of a completion (an error, or garbage)
    content_type: str = "application/json"


def reply(text: str, **options: Any) -> Answer:
    return Answer(text=text, **options)


def tool(name: str, arguments: JsonObject | str, *, text: str = "", **options: Any) -> Answer:
    return Answer(text=text, tool_calls=((name, arguments),), **options)


def error(status: int = 500, message: str = "the model is overloaded") -> Answer:
    body = json.dumps({"error": {"message": message, "type": "server_error", "code": None}})
    return Answer(status=status, body=body)


def garbage(body: str = "<html>502 Bad Gateway</html> not json", **options: Any) -> Answer:
    return Answer(body=body, **options)


def stall(seconds: float) -> Answer:
    """An answer that starts only after `seconds`: longer than any budget, it is a timeout."""
    return Answer(text="Sorry for the delay.", delay_s=seconds)


@dataclass
class Exchange:
    """One request as received, and when its answer went out: `started` when the request
    reached the application (its headers parsed), each chunk's time and `finished` when it was
    handed to the server's transport, so that a benchmark counts the stand-in's own HTTP work
    as the model's time rather than the agent's."""

    body: JsonObject
    started: float
    first_byte: float | None = None
    finished: float | None = None
    chunk_times: list[float] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[JsonObject]:
        messages: list[JsonObject] = self.body.get("messages", [])
        return messages

    @property
    def prompt(self) -> str:
        """Every message's content, one after another: what the model was told."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


def turn_field(body: JsonObject, field: str) -> str | None:
    """A field of the agent's last user message (a JSON object: `agent_line`, `question`...)."""
    for message in reversed(body.get("messages", [])):
        if message.get("role") != "user":
            continue
        try:
            data = json.loads(message.get("content", ""))
        except (TypeError, ValueError):
            return None
        value = data.get(field) if isinstance(data, dict) else None
        return value if isinstance(value, str) else None
    return None


def follow_the_agent(body: JsonObject) -> Answer:
    """A well-behaved model: it says the line the agent proposed, or asks its question again."""
    line = turn_field(body, "agent_line") or turn_field(body, "question")
    return Answer(text=line or "Sorry, could you say that again?")


class StandIn:
    """The answers to give, in order, and the exchanges seen; safe to script from any thread."""

    def __init__(self, default: Callable[[JsonObject], Answer] = follow_the_agent) -> None:
        self.default = default
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.app = create_app(self)

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._answers.extend(answers)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
            self.exchanges.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._answers)

    def _next(
        self, body: JsonObject, started: float, headers: dict[str, str]
    ) -> tuple[Answer, Exchange]:
        exchange = Exchange(body, started, headers=headers)
        with self._lock:
            answer = self._answers.popleft() if self._answers else None
            self.exchanges.append(exchange)
        return (answer or self.default(body)), exchange

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on a free local port; yields the base URL for `OPENAI_BASE_URL`."""
        sock = free_socket()
        with serving(self.app, sock):
            yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def estimate_tokens(value: object) -> int:
    return math.ceil(len(json.dumps(value, ensure_ascii=False).encode()) / 4)


class _Stamped:
    """ASGI middleware: when a request reaches the application, and when the last of its
    answer has been handed to the transport (`Exchange.finished`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["arrived"] = time.perf_counter()

        async def stamped(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                exchange = state.get("exchange")
                if isinstance(exchange, Exchange):
                    exchange.finished = time.perf_counter()

        await self.app(scope, receive, stamped)


def create_app(standin: StandIn) -> FastAPI:
    app = FastAPI(title="OpenAI-compatible stand-in", docs_url=None, redoc_url=None)
    app.add_middleware(_Stamped)

    @app.get("/_standin/exchanges")
    def exchanges() -> list[JsonObject]:
        """The requests seen, with their timings: for a benchmark in another process."""
        return [
            {"body": e.body, "started": e.started, "first_byte": e.first_byte,
             "finished": e.finished, "chunk_times": e.chunk_times}
            for e in list(standin.exchanges)
        ]  # fmt: skip

    @app.post("/_standin/clear", status_code=204)
    def clear() -> Response:
        standin.clear()
        return Response(status_code=204)

    @app.get("/v1/models")
    def models() -> JsonObject:
        return {"object": "list", "data": [{"id": "standin", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        body = await request.json()
        answer, exchange = standin._next(body, request.state.arrived, dict(request.headers))
        request.state.exchange = exchange
        if answer.delay_s and not await _thinking(request, answer.delay_s):
            return Response(status_code=499)  # the client gave up waiting
        if answer.body is not None:
            exchange.first_byte = time.perf_counter()
            return Response(answer.body, answer.status, media_type=answer.content_type)
        prompt_tokens = estimate_tokens([body.get("messages"), body.get("tools")])
        model = str(body.get("model", "standin"))
        if body.get("stream"):
            return StreamingResponse(
                _stream(answer, exchange, model, prompt_tokens), media_type="text/event-stream"
            )
        exchange.first_byte = time.perf_counter()
        return JSONResponse(_completion(answer, model, prompt_tokens), answer.status)

    return app


async def _thinking(request: Request, seconds: float) -> bool:
    """Wait `seconds`; False as soon as the client hangs up (it timed out)."""
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > 0:
        await asyncio.sleep(min(left, 0.02))
        if await request.is_disconnected():
            return False
    return True


def _calls(answer: Answer) -> list[JsonObject]:
    return [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {
                "name": name,
                "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
            },
        }
        for i, (name, arguments) in enumerate(answer.tool_calls)
    ]


def _usage(answer: Answer, prompt_tokens: int) -> JsonObject:
    completion = estimate_tokens([answer.text, answer.tool_calls])
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }


def _completion(answer: Answer, model: str, prompt_tokens: int) -> JsonObject:
    message: JsonObject = {"role": "assistant", "content": answer.text or None}
    if answer.tool_calls:
        message["tool_calls"] = _calls(answer)
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if answer.tool_calls else "stop",
            }
        ],
        "usage": _usage(answer, prompt_tokens),
    }


def _pieces(text: str) -> list[str]:
    """The text as a model streams it: each word with the space before it."""
    words = text.split(" ")
    return [words[0]] + [" " + w for w in words[1:]] if text else []


async def _stream(
    answer: Answer, exchange: Exchange, model: str, prompt_tokens: int
) -> AsyncIterator[str]:
    def event(delta: JsonObject, finish: str | None = None) -> str:
        chunk = {
            "id": "chatcmpl-standin",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(chunk)}\n\n"

    pieces = list(answer.chunks) if answer.chunks is not None else _pieces(answer.text)
    for i, piece in enumerate(pieces):
        if i and answer.chunk_delay_s:
            await asyncio.sleep(answer.chunk_delay_s)
        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        yield event(delta)
        # Resumed once the server has handed the chunk to its transport.
        now = time.perf_counter()
        exchange.first_byte = exchange.first_byte or now
        exchange.chunk_times.append(now)
    for i, call in enumerate(_calls(answer)):
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        head = {"index": i, "id": call["id"], "type": "function"}
        first = {"name": call["function"]["name"], "arguments": arguments[:half]}
        yield event({"tool_calls": [{**head, "function": first}]})
        yield event({"tool_calls": [{"index": i, "function": {"arguments": arguments[half:]}}]})
    finish = "tool_calls" if answer.tool_calls else "stop"
    yield event({}, finish)
    usage = {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": _usage(answer, prompt_tokens),
    }
    yield f"data: {json.dumps(usage)}\n\n"
    yield "data: [DONE]\n\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m agent.llm.standin")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--model-ms", type=float, default=0, help="wait before answering")
    parser.add_argument("--token-ms", type=float, default=0, help="between streamed words")
    args = parser.parse_args()

    def answer(body: JsonObject) -> Answer:
        said = follow_the_agent(body)
        return Answer(
            text=said.text, delay_s=args.model_ms / 1000, chunk_delay_s=args.token_ms / 1000
        )

    uvicorn.run(
        StandIn(default=answer).app, host=args.host, port=args.port, log_level="warning",
        access_log=False,
    )  # fmt: skip


if __name__ == "__main__":
    main()
