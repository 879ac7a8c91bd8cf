"""Two small proxies for the load and fault tests, each on its own event loop in a thread.

`RoundRobinProxy` is an HTTP/1.1 reverse proxy sending each request to the next of several
`duecall serve` replicas (a load balancer's round robin; a replica that refuses the connection
is skipped). `TcpProxy` forwards TCP to one address (PostgreSQL) and can be cut: open
connections are dropped and new ones closed at once, as when the database host goes away,
until it is restored. Run the HTTP one in its own process with
`python -m benchmarks.proxies PORT UPSTREAM_URL...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import sys
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from urllib.parse import urlsplit

STARTUP_SECONDS = 10.0
MAX_HEAD = 64 * 1024
BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: 21\r\n"
    b"connection: close\r\n\r\nno replica answered\r\n"
)


class _LoopThread:
    """An asyncio server on a free local port (or `port`), served from a daemon thread."""

    def __init__(self, port: int = 0) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port: int = self._sock.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

        async def listen() -> asyncio.Server:
            return await asyncio.start_server(self.handle, sock=self._sock, backlog=1024)

        self._server = asyncio.run_coroutine_threadsafe(listen(), self.loop).result(STARTUP_SECONDS)

    def call(self, work: Callable[[], Awaitable[None]]) -> None:
        asyncio.run_coroutine_threadsafe(work(), self.loop).result(STARTUP_SECONDS)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            self.call(close)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(STARTUP_SECONDS)
            self.loop.close()
        self._sock.close()

    def __enter__(self) -> _LoopThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class TcpProxy(_LoopThread):
    """Forwards every connection to `target`; `cut()` drops them all until `restore()`."""

    def __init__(self, target: tuple[str, int]) -> None:
        super().__init__()
        self.target = target
        self.cut_off = False
        self._open: set[asyncio.StreamWriter] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._open.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._open.difference_update((writer, up_writer))
            for end in (writer, up_writer):
                end.close()

    def cut(self) -> None:
        """The database host is gone: open connections drop, new ones are closed at once."""

        async def cut() -> None:
            self.cut_off = True
            for writer in list(self._open):
                writer.transport.abort()

        self.call(cut)

    def restore(self) -> None:
        self.cut_off = False


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


class RoundRobinProxy(_LoopThread):
    """HTTP/1.1 reverse proxy: request n goes to upstream n mod len(upstreams).

    Enough HTTP for webhooks and the API: bodies with Content-Length, responses with
    Content-Length or chunked; connections to the upstreams are kept and reused.
    """

    def __init__(self, upstreams: list[str], port: int = 0) -> None:
        super().__init__(port)
        self.upstreams = [(urlsplit(u).hostname or "", urlsplit(u).port or 80) for u in upstreams]
        self._next = itertools.cycle(range(len(self.upstreams)))
        self._idle: dict[int, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {
            n: [] for n in range(len(self.upstreams))
        }
        self.requests = [0] * len(self.upstreams)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                    return
                length = _content_length(head)
                body = await reader.readexactly(length) if length else b""
                if not await self._forward(head + body, writer):
                    writer.write(BAD_GATEWAY)
                    await writer.drain()
                    return
                if b"\r\nconnection: close" in head.lower():
                    return
        except (OSError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def _forward(self, request: bytes, client: asyncio.StreamWriter) -> bool:
        """Send to the next upstream that takes it; False when none does."""
        for _ in range(len(self.upstreams)):
            n = next(self._next)
            for fresh in (False, True):
                connection = await self._connection(n, fresh)
                if connection is None:
                    break  # refused: the replica is down, try the next one
                up_reader, up_writer = connection
                try:
                    up_writer.write(request)
                    await up_writer.drain()
                    head = await up_reader.readuntil(b"\r\n\r\n")
                except (OSError, asyncio.IncompleteReadError):
                    up_writer.close()
                    continue  # a kept connection the upstream had closed: once more, fresh
                self.requests[n] += 1
                client.write(head)
                await _relay_body(head, up_reader, client)
                await client.drain()
                if b"\r\nconnection: close" in head.lower():
                    up_writer.close()
                else:
                    self._idle[n].append((up_reader, up_writer))
                return True
        return False

    async def _connection(
        self, n: int, fresh: bool
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        idle = self._idle[n]
        if not fresh and idle:
            return idle.pop()
        try:
            return await asyncio.open_connection(*self.upstreams[n], limit=MAX_HEAD)
        except OSError:
            return None


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


async def _relay_body(
    head: bytes, reader: asyncio.StreamReader, client: asyncio.StreamWriter
) -> None:
    if b"transfer-encoding: chunked" not in head.lower():
        length = _content_length(head)
        if length:
            client.write(await reader.readexactly(length))
        return
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0].strip(), 16)
        client.write(size_line + await reader.readexactly(size + 2))
        if size == 0:
            return


def main() -> None:
    port, *upstreams = sys.argv[1:]
    proxy = RoundRobinProxy(upstreams, int(port))
    proxy.start()
    print(f"round robin on {proxy.base_url} over {', '.join(upstreams)}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
