"""LLM mode (issue 8): what the agent adds to a turn on top of the model, how soon a streamed
token is forwarded, and how many prompt tokens a turn costs.

`python -m benchmarks llm [--calls 20] [--rounds 3] [--model-ms 300] [--token-ms 40]
[--think 0.5] [--backends sqlite,postgresql] [--profile DIR]`

The model is the OpenAI-compatible stand-in (`agent.llm.standin`) in its own process: it waits
`--model-ms`, then says the line the agent proposed (the question again when it proposed none),
streamed a word every `--token-ms`. The server under test is the real app in its own uvicorn
process, on a fresh store with one account and call per conversation (a quarter in Hindi).
Every conversation: answer, identity, verification (scripted), then four turns the model works
on (an off-script question, a promise, a correction, the new date), then "yes" (scripted close).
Before the measured conversations, as many others at once, unmeasured: a server that has been
up a while has its connections (store, model, worker threads) open.

- Webhook turns (`DUECALL_LLM_TRANSPORT=gather`), `--calls` conversations at once, about
  `--think` s between a call's requests: per model turn, the client's latency minus the
  stand-in's own time on that request (its request log is matched to the call by the borrower's
  name in the prompt) is the agent's overhead. The same conversations in scripted mode, in the
  same run, give the scripted turn at the same positions.
- ConversationRelay (`relay`): the same conversations stream after verification, one WebSocket
  per call. Forwarding delay: from the stand-in writing a chunk to the client receiving the text
  that completes it (loopback, SDK, guards and WebSocket included). A token the guards hold back
  (the start of a number, say) waits for the next one.
- Where the times are taken: the client, the stand-in and the server are three processes on one
  machine, all on its one monotonic clock (`time.perf_counter`). The client stamps at its
  socket (a request when its bytes are handed to the socket, an answer or a WebSocket message
  in the protocol callback that received its last byte), not when its own task next runs; the
  stand-in stamps a request when it reaches the application and an answer or chunk when it has
  been handed to the transport. So neither the load generator's scheduling nor the stand-in's
  own HTTP work is counted as the agent's.
- The server's CPU time (user + system, from /proc) per conversation in each mode: less moved
  than wall time by other processes on the machine. `--profile DIR` runs the server under
  py-spy (collapsed stacks per mode in DIR); `DUECALL_BENCH_SERVER_TREE=DIR` runs the server
  from another checkout (`git archive REV | tar -x -C DIR`) for an A/B comparison.
- In process: the agent's own work on a model turn with no I/O (plan, prompt, guards), and the
  streaming guard's work per token.
- Prompt tokens per model turn, as the stand-in estimates them (UTF-8 bytes / 4), by task and
  language.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import string
import subprocess
import sys
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx
import websockets
from fastapi import FastAPI
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection
from websockets.frames import DATA_OPCODES, Frame

from agent.llm.standin import Exchange, estimate_tokens, follow_the_agent, turn_field
from benchmarks.common import fresh_database
from dialer.providers import SIMULATOR_AUTH_TOKEN
from duecall.db import make_engine, make_sessionmaker, upgrade
from duecall.live import free_socket

CLOCK = "2026-03-02T10:00:00+05:30"  # a Monday morning in Mumbai: inside the RBI window
TURNS = {
    "en": ("yes speaking", "0042", "can I pay through Paytm?", "I will pay on the 5th", "no",
           "on the 6th", "yes"),
    "hi": ("हाँ", "0042", "क्या मैं पेटीएम से भुगतान कर सकता हूँ?", "मैं 5 तारीख को दूँगा", "नहीं",
           "6 तारीख", "हाँ"),
}  # fmt: skip
VERIFIED_AFTER = 2  # borrower turns before the model is asked
MODEL_TURNS = 4  # turns 3..6


def app() -> FastAPI:
    """The server under test (uvicorn --factory)."""
    from server import create_app

    return create_app()


def _name(n: int) -> str:
    letters = "".join(string.ascii_lowercase[(n // 26**i) % 26] for i in range(3))
    return f"Priya Ka{letters}"


def _language(n: int) -> str:
    return "hi" if n % 4 == 3 else "en"


def _seed(url: str, calls: int) -> None:
    from crm.buckets import bucket_for_dpd
    from crm.models import Account, Borrower, Call, Phone, PhoneStatus

    upgrade(url)
    engine = make_engine(url)
    now = datetime.fromisoformat(CLOCK).astimezone(UTC)
    with make_sessionmaker(engine)() as session, session.begin():
        from sqlalchemy import text

        for table in ("llm_turns", "webhook_events", "transcript_turns", "promises", "calls",
                      "phones", "accounts", "borrowers"):  # fmt: skip
            session.execute(text(f"DELETE FROM {table}"))
        for n in range(calls + 1):
            account_id, phone = f"ACC{n:04d}0042", f"+9198{n:08d}"
            session.add(Borrower(borrower_id=f"B{n}", name=_name(n)))
            session.flush()
            session.add(
                Account(
                    account_id=account_id, borrower_id=f"B{n}", dpd=12, bucket=bucket_for_dpd(12),
                    overdue_amount=Decimal(5000), emi_amount=Decimal(5000),
                    principal_outstanding=Decimal(120000), updated_at=now, language=_language(n),
                )
            )  # fmt: skip
            session.flush()
            session.add(Phone(account_id=account_id, number=phone, status=PhoneStatus.OK))
            session.add(
                Call(
                    call_id=f"CALL{n}", account_id=account_id, agent_id="BOT", phone=phone,
                    mode="bot", source="dialer", status="ringing", started_at=now,
                    provider_call_sid=f"CA{n:032d}",
                )
            )  # fmt: skip
    engine.dispose()


@dataclass
class Timed:
    """One model turn as the client saw it."""

    call: int
    position: int  # 0..MODEL_TURNS-1
    sent: float
    received: float
    pieces: list[tuple[float, int]] = field(default_factory=list)  # (when, text length so far)


def _sign(url: str, params: dict[str, str]) -> str:
    return str(RequestValidator(SIMULATOR_AUTH_TOKEN).compute_signature(url, params))


class _Http(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection to the server under test, timed at the socket: when a
    request's bytes are handed to it, and when the last byte of the answer came out of it (not
    when the client's task next got to run, which on a loaded machine can be much later)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiter: asyncio.Future[tuple[float, bytes]] | None = None

    @classmethod
    async def open(cls, base: str) -> _Http:
        host, port = base.removeprefix("http://").split(":")
        _transport, protocol = await asyncio.get_running_loop().create_connection(
            cls, host, int(port)
        )
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        arrived = time.perf_counter()
        self.buffer += data
        head, separator, body = self.buffer.partition(b"\r\n\r\n")
        if not separator or self.waiter is None or self.waiter.done():
            return
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            None,
        )
        if length is None:
            self.waiter.set_exception(RuntimeError(f"no Content-Length: {head[:300]!r}"))
        elif len(body) >= length:
            self.waiter.set_result((arrived, self.buffer))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("the server closed the connection"))

    async def post(self, url: str, params: dict[str, str]) -> tuple[float, float, str]:
        """(sent, received, body) for a signed form POST to `url`."""
        assert self.transport is not None
        body = urlencode(params).encode()
        target = urlsplit(url)
        request = (
            f"POST {target.path}{'?' + target.query if target.query else ''} HTTP/1.1\r\n"
            f"Host: {target.netloc}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {_sign(url, params)}\r\n\r\n"
        ).encode() + body
        self.buffer = b""
        self.waiter = asyncio.get_running_loop().create_future()
        sent = time.perf_counter()
        self.transport.write(request)
        received, raw = await self.waiter
        head, _, text = raw.partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200":
            raise RuntimeError(f"{url}: HTTP {status.decode()} {text[:300]!r}")
        return sent, received, text.decode()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _webhook(http: _Http, url: str, said: str, sid: str) -> tuple[float, float, str]:
    params = {"CallSid": sid, "CallStatus": "in-progress"}
    if said:
        params |= {"SpeechResult": said, "Confidence": "0.9"}
    return await http.post(url, params)


class _StampedConnection(ClientConnection):
    """A WebSocket client connection that notes when each message came out of the socket."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrived = 0.0
        self.stamps: deque[float] = deque()

    def data_received(self, data: bytes) -> None:
        self.arrived = time.perf_counter()
        super().data_received(data)

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.opcode in DATA_OPCODES and event.fin:
            self.stamps.append(self.arrived)
        super().process_event(event)


async def _gather_call(base: str, n: int, think: float, timed: list[Timed]) -> None:
    rng, sid, url = random.Random(n), f"CA{n:032d}", f"{base}/twilio/voice/CALL{n}"
    http = await _Http.open(base)
    try:
        for turn, said in enumerate(("", *TURNS[_language(n)])):
            if think:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
            target = url if turn == 0 else f"{url}?turn={turn}"
            sent, received, _twiml = await _webhook(http, target, said, sid)
            position = turn - VERIFIED_AFTER - 1
            if 0 <= position < MODEL_TURNS:
                timed.append(Timed(n, position, sent, received))
    finally:
        http.close()


async def _relay_call(base: str, n: int, think: float, timed: list[Timed]) -> None:
    rng, sid, url = random.Random(n), f"CA{n:032d}", f"{base}/twilio/voice/CALL{n}"
    turns = TURNS[_language(n)]
    http = await _Http.open(base)
    try:
        for turn, said in enumerate(("", *turns[:VERIFIED_AFTER])):
            target = url if turn == 0 else f"{url}?turn={turn}"
            *_times, twiml = await _webhook(http, target, said, sid)
    finally:
        http.close()
    if "ConversationRelay" not in twiml:
        raise RuntimeError(f"call {n} did not hand over to the relay: {twiml[:300]}")
    ws_url = base.replace("http://", "ws://") + f"/twilio/relay/CALL{n}"
    async with websockets.connect(
        ws_url,
        additional_headers={"X-Twilio-Signature": _sign(ws_url, {})},
        create_connection=_StampedConnection,
    ) as ws:
        assert isinstance(ws, _StampedConnection)
        await ws.send(json.dumps({"type": "setup", "sessionId": f"VX{n}", "callSid": sid}))
        for position, said in enumerate(turns[VERIFIED_AFTER:]):
            if think:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
            prompt = json.dumps(
                {"type": "prompt", "voicePrompt": said, "lang": "en-IN", "last": True}
            )
            record = Timed(n, position, time.perf_counter(), 0.0)
            await ws.send(prompt)
            length = 0
            while True:
                message = json.loads(await ws.recv())
                arrived = ws.stamps.popleft()
                if message["type"] == "end" or message.get("last"):
                    record.received = arrived
                    break
                length += len(message["token"])
                record.pieces.append((arrived, length))
            if position < MODEL_TURNS:
                timed.append(record)


def _server(env: dict[str, str], port: int, profile: Path | None) -> subprocess.Popen[bytes]:
    """The server under test; with `profile`, run under py-spy (its parent: sampling another
    process's children needs no privilege), which writes collapsed stacks there on exit."""
    command = [
        sys.executable, "-m", "uvicorn", "benchmarks.bench_llm:app", "--factory", "--host",
        "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    if profile is not None:
        py_spy = Path(sys.executable).with_name("py-spy")
        command = [
            str(py_spy), "record", "--format", "raw", "--rate", "1000", "--nonblocking",
            "--output", str(profile), "--", *command,
        ]  # fmt: skip
    tree = env.get("DUECALL_BENCH_SERVER_TREE")
    if tree:  # an A/B comparison: the server from another checkout, measured the same way
        env = {**env, "PYTHONPATH": tree}
    return subprocess.Popen(command, env=env, cwd=tree or None)


def _server_pid(process: subprocess.Popen[bytes], profiled: bool) -> int:
    """The uvicorn process itself (py-spy's child when profiled)."""
    if not profiled:
        return process.pid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise RuntimeError("py-spy did not start the server")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds used by process `pid` so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_up(base: str) -> None:
    deadline = time.monotonic() + 120  # starting takes a while on a loaded machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def _by_call(exchanges: Sequence[Exchange], calls: int) -> dict[int, list[Exchange]]:
    names = {_name(n): n for n in range(calls + 1)}
    found: dict[int, list[Exchange]] = defaultdict(list)
    for exchange in exchanges:
        system = exchange.messages[0].get("content", "") if exchange.messages else ""
        for name, n in names.items():
            if f"with {name}." in system:
                found[n].append(exchange)
                break
    return found


def _pct(values: Sequence[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


@dataclass
class Round:
    overheads: list[float]  # ms, model turns, webhook
    model_calls: list[float]  # ms, the agent's wait for the model beyond the model's own time
    scripted: list[float]  # ms, the same turn positions in scripted mode
    first_token: list[float]  # ms
    every_token: list[float]  # ms
    tokens: dict[tuple[str, str], list[int]]  # (task, language) -> prompt tokens
    cpu_ms: dict[str, float]  # server CPU per conversation, by mode-transport
    held: int  # first tokens not forwarded on their own


def _exchanges(standin_url: str) -> list[Exchange]:
    base = standin_url.removesuffix("/v1")
    return [
        Exchange(e["body"], e["started"], e["first_byte"], e["finished"], e["chunk_times"])
        for e in httpx.get(f"{base}/_standin/exchanges", timeout=60).json()
    ]


def _run_round(
    backend: str, url: str, calls: int, args: argparse.Namespace, standin_url: str
) -> Round:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ, "DUECALL_DATABASE_URL": url, "DUECALL_PUBLIC_BASE_URL": base,
        "DUECALL_SCHEDULER": "off", "DUECALL_CLOCK": CLOCK, "DUECALL_LOG_LEVEL": "WARNING",
        "DUECALL_TELEPHONY": "simulator", "OPENAI_BASE_URL": standin_url,
        "DUECALL_LLM_MODEL": "bench-model", "DUECALL_LLM_BUDGET_S": "10",
    }  # fmt: skip
    results: dict[str, list[Timed]] = {}
    exchanges: dict[str, list[Exchange]] = {}
    waited: dict[tuple[int, int], float] = {}
    cpu: dict[str, float] = {}
    for mode, transport in (("llm", "gather"), ("scripted", "gather"), ("llm", "relay")):
        _seed(url, 2 * calls)
        httpx.post(standin_url.removesuffix("/v1") + "/_standin/clear", timeout=10)
        name = f"{mode}-{transport}"
        profile = None if args.profile is None else args.profile / f"{backend}-{name}.txt"
        server = _server(
            {**env, "DUECALL_AGENT_MODE": mode, "DUECALL_LLM_TRANSPORT": transport}, port, profile
        )
        timed: list[Timed] = []
        pid = server.pid
        try:
            pid = _server_pid(server, profile is not None)
            _wait_up(base)

            async def load(
                transport: str = transport, timed: list[Timed] = timed, pid: int = pid
            ) -> float:
                call = _relay_call if transport == "relay" else _gather_call
                # Warm-up, unmeasured: as many conversations at once as measured, so that the
                # connections they need (the store's pool, the SDK's, worker threads) are open.
                await asyncio.gather(*(call(base, n, 0.0, []) for n in range(calls, 2 * calls)))
                before = _cpu_s(pid)
                await asyncio.gather(*(call(base, n, args.think, timed) for n in range(calls)))
                return _cpu_s(pid) - before

            cpu[name] = asyncio.run(load())
        finally:
            # py-spy writes its profile when the server it runs exits.
            os.kill(pid, signal.SIGTERM)
            server.wait(30)
        results[name] = timed
        exchanges[name] = _exchanges(standin_url)
        if (mode, transport) == ("llm", "gather"):
            waited = _model_waits(url)

    overheads: list[float] = []
    model_calls: list[float] = []
    gather = _by_call(exchanges["llm-gather"], calls)
    for t in results["llm-gather"]:
        served = gather[t.call][t.position]
        assert served.finished is not None
        overheads.append((t.received - t.sent - (served.finished - served.started)) * 1000)
        wait = waited.get((t.call, t.position + VERIFIED_AFTER + 1))
        if wait is not None:
            model_calls.append(wait - (served.finished - served.started) * 1000)
    scripted = [(t.received - t.sent) * 1000 for t in results["scripted-gather"]]
    first, every = [], []
    held = 0  # first tokens the guards kept for the next one: sent together with it
    relay = _by_call(exchanges["llm-relay"], calls)
    for t in results["llm-relay"]:
        served = relay[t.call][t.position]
        if not served.chunk_times or not t.pieces:
            continue
        first.append((t.pieces[0][0] - served.chunk_times[0]) * 1000)
        text = served.body["messages"] and _streamed_text(served)
        ends = _chunk_ends(text, len(served.chunk_times))
        held += t.pieces[0][1] > ends[0]
        for chunk_time, end in zip(served.chunk_times, ends, strict=True):
            arrival = next((when for when, length in t.pieces if length >= end), None)
            if arrival is not None:
                every.append((arrival - chunk_time) * 1000)
    tokens: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n, served_list in gather.items():
        for served in served_list:
            task = turn_field(served.body, "task") or "?"
            tokens[(task, _language(n))].append(
                estimate_tokens([served.body.get("messages"), served.body.get("tools")])
            )
    cpu_ms = {name: seconds * 1000 / calls for name, seconds in cpu.items()}
    return Round(overheads, model_calls, scripted, first, every, tokens, cpu_ms, held)


def _model_waits(url: str) -> dict[tuple[int, int], float]:
    """(call, turn) -> how long the agent waited for the model (llm_turns.latency_ms)."""
    from sqlalchemy import text

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT call_id, turn, latency_ms FROM llm_turns")).all()
    engine.dispose()
    return {(int(c.removeprefix("CALL")), t): ms for c, t, ms in rows if ms is not None}


def _streamed_text(served: Exchange) -> str:
    return follow_the_agent(served.body).text


def _chunk_ends(text: str, count: int) -> list[int]:
    """The length of the text through each streamed chunk (the stand-in streams word by word)."""
    words = text.split(" ")
    pieces = [words[0]] + [" " + w for w in words[1:]]
    ends, total = [], 0
    for piece in pieces[:count]:
        total += len(piece)
        ends.append(total)
    return ends


def in_process(rounds: int = 200) -> list[str]:
    """The agent's own work on a model turn, and the streaming guard's per token: no I/O."""
    from agent.conversation import CallFacts, Said, open_call, respond
    from agent.guards import StreamGuard, check
    from agent.llm.turns import TurnInput, allowed_for, plan, request_for

    zone = ZoneInfo("Asia/Kolkata")
    now = datetime.fromisoformat(CLOCK)
    facts = CallFacts(
        lender="Demo Bank", borrower_name="Priya Sharma", language="en", account_last4="0042",
        overdue=Decimal(5000), emi=Decimal(5000), due_date=None, total_outstanding=Decimal(125000),
        bucket="SMA-0", promise_horizon_days=30, zone=zone, callback_number="+912240000000",
        verification="0042",
    )  # fmt: skip
    turn_ms: list[float] = []
    token_ms: list[float] = []
    for _ in range(rounds):
        state, reply = open_call(facts)
        history: list[tuple[str, str]] = []
        for said in TURNS["en"][:VERIFIED_AFTER]:
            state, reply = respond(state, facts, Said(said), now=now)
        history.append(("agent", reply.text))
        for said in TURNS["en"][VERIFIED_AFTER : VERIFIED_AFTER + MODEL_TURNS]:
            turn = TurnInput("C", state.turn + 1, state, facts, Said(said), now, tuple(history))
            started = time.perf_counter()
            planned = plan(turn)
            request_for(turn, planned, max_tokens=200)
            verdict = check(planned.reply.text, allowed_for(turn, planned))
            turn_ms.append((time.perf_counter() - started) * 1000)
            assert not verdict, verdict
            guard = StreamGuard(allowed_for(turn, planned))
            words = planned.reply.text.split(" ")
            for piece in [words[0]] + [" " + w for w in words[1:]]:
                started = time.perf_counter()
                guard.feed(piece)
                token_ms.append((time.perf_counter() - started) * 1000)
            history += [("borrower", said), ("agent", planned.reply.text)]
            state = planned.state
    return [
        "| agent work, no I/O | turns | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
        f"| a model turn: plan, prompt, guards | {len(turn_ms):,} | {_pct(turn_ms, 0.5):.2f} | {_pct(turn_ms, 0.99):.2f} |",
        f"| the streaming guard, per token | {len(token_ms):,} | {_pct(token_ms, 0.5):.3f} | {_pct(token_ms, 0.99):.3f} |",
    ]


def run(backend: str, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    standin_url = f"http://127.0.0.1:{port}/v1"
    standin = subprocess.Popen(
        [sys.executable, "-m", "agent.llm.standin", "--port", str(port), "--model-ms",
         str(args.model_ms), "--token-ms", str(args.token_ms)],
    )  # fmt: skip
    best: Round | None = None
    try:
        _wait_up_standin(standin_url)
        with (
            TemporaryDirectory(prefix="duecall-bench-llm-") as tmp,
            fresh_database(backend, Path(tmp)) as url,
        ):
            for _ in range(args.rounds):
                round_ = _run_round(backend, url, args.calls, args, standin_url)
                if best is None or _pct(round_.overheads, 0.99) < _pct(best.overheads, 0.99):
                    best = round_
    finally:
        standin.terminate()
        standin.wait(10)
    assert best is not None
    rows = [
        f"| {backend} | model turn, webhook: overhead on top of the model | {len(best.overheads):,} | {_pct(best.overheads, 0.5):.1f} | {_pct(best.overheads, 0.99):.1f} | ≤ 15 |",
        f"| {backend} | of which the model call beyond the model (SDK, HTTP) | {len(best.model_calls):,} | {_pct(best.model_calls, 0.5):.1f} | {_pct(best.model_calls, 0.99):.1f} | |",
        f"| {backend} | the same turns, scripted mode (whole turn) | {len(best.scripted):,} | {_pct(best.scripted, 0.5):.1f} | {_pct(best.scripted, 0.99):.1f} | |",
        f"| {backend} | relay: first token, stand-in → client | {len(best.first_token):,} | {_pct(best.first_token, 0.5):.1f} | {_pct(best.first_token, 0.99):.1f} | ≤ 5 |",
        f"| {backend} | relay: every token, stand-in → client | {len(best.every_token):,} | {_pct(best.every_token, 0.5):.1f} | {_pct(best.every_token, 0.99):.1f} | |",
    ]
    cpu = best.cpu_ms
    added = (cpu["llm-gather"] - cpu["scripted-gather"]) / MODEL_TURNS
    note = [
        f"{backend}: server CPU per conversation: {cpu['llm-gather']:.1f} ms LLM mode, "
        f"{cpu['scripted-gather']:.1f} ms scripted, {cpu['llm-relay']:.1f} ms relay; "
        f"LLM mode adds {added:.1f} ms of CPU per model turn.",
        f"{backend}: {len(best.first_token) - best.held} of {len(best.first_token)} first "
        "tokens forwarded on their own (the rest held by the guards for the next token).",
    ]
    token_rows = [
        f"| {backend} | {task} | {language} | {len(values):,} | {statistics.mean(values):,.0f} | {max(values):,} |"
        for (task, language), values in sorted(best.tokens.items())
    ]
    return rows + note, token_rows


def _wait_up_standin(standin_url: str) -> None:
    deadline = time.monotonic() + 120  # starting takes a while on a loaded machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{standin_url}/models", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the stand-in did not start")


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks llm")
    parser.add_argument("--calls", type=int, default=20, help="concurrent conversations")
    parser.add_argument("--rounds", type=int, default=3, help="best p99 overhead of this many runs")
    parser.add_argument("--model-ms", type=float, default=300, help="the stand-in model's latency")
    parser.add_argument("--token-ms", type=float, default=40, help="between streamed tokens")
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds between turns")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--profile", type=Path, help="profile the server with py-spy: collapsed stacks go here"
    )
    args = parser.parse_args(argv)
    lines = [
        f"{args.calls} concurrent conversations ({MODEL_TURNS} model turns each, a quarter in "
        f"Hindi), one uvicorn worker, stand-in model {args.model_ms:g} ms to its first token and "
        f"{args.token_ms:g} ms between tokens, about {args.think:g} s between a call's turns; best "
        f"p99 overhead of {args.rounds} runs.",
        "",
        "| store | measure | samples | p50 ms | p99 ms | goal ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    notes: list[str] = []
    tokens = [
        "",
        "Prompt tokens per model turn (stand-in estimate: UTF-8 bytes / 4):",
        "",
        "| store | task | language | turns | mean | max |",
        "|---|---|---|---:|---:|---:|",
    ]
    for backend in args.backends.split(","):
        rows, token_rows = run(backend, args)
        lines += [r for r in rows if r.startswith("|")]
        notes += [r for r in rows if not r.startswith("|")]
        tokens += token_rows
    return [*lines, "", *notes, *tokens, "", *in_process()]
