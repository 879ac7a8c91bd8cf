"""Runs the simulator with uvicorn on a free local port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from dialer.simulator.app import create_simulator_app
from dialer.simulator.config import SimulatorConfig

STARTUP_SECONDS = 10.0


class SimulatorServer:
    """`with SimulatorServer(config) as sim:` serves at `sim.base_url` until the block ends."""

    def __init__(self, config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_simulator_app(config)
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self) -> str:
        """Start serving; returns the base URL, e.g. `http://127.0.0.1:54321`."""
        if self._thread is not None:
            return self.base_url
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        host, port = sock.getsockname()[:2]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="twilio-simulator", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(STARTUP_SECONDS)
                sock.close()
                raise RuntimeError("the Twilio simulator did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    def stop(self) -> None:
        """Stop serving: every simulated call is cancelled, then the thread ends."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(STARTUP_SECONDS + 5)
        self._server = self._thread = None

    def __enter__(self) -> SimulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_simulator(
    config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 0
) -> SimulatorServer:
    """Start a simulator in a background thread; call `.stop()` (or use it in `with`) to end it."""
    server = SimulatorServer(config, host=host, port=port)
    server.start()
    return server
