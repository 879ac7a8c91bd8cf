"""One simulator per test session, served over HTTP by its runner; each test starts a new run.

The simulator reaches the test webhook server in-process (httpx.ASGITransport); the tests reach
the simulator over real HTTP with the official twilio SDK, pointed at it by its HTTP client.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from dialer.simulator import SimulatorConfig, SimulatorServer
from tests.dialer.simulator.webhook_server import BASE_URL, WebhookServer

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "test-auth-token-0123456789"
CALLER_ID = "+918045678901"
STATUS_URL = f"{BASE_URL}/status"
TEST_SPEED = 1000.0
TEST_SEED = 1
# Every test's run starts at the same simulated instant (a Monday, 10:00 in Mumbai): at 1,000×
# a simulated day passes in 86 real seconds, so a clock left running from the session's start
# would put midnight (and a new date for every fact drawn as days from today) inside some test.
TEST_START = "2026-03-02T10:00:00+05:30"
_numbers = itertools.count(1)


def new_number() -> str:
    """A valid Indian mobile number not used before in this session."""
    return f"+9198123{next(_numbers):05d}"


class SimulatorHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, sending what it would send to api.twilio.com to `base_url`."""

    def __init__(self, base_url: str, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> TwilioResponse:
        url = url.replace("https://api.twilio.com", self.base_url)
        return super().request(method, url, *args, **kwargs)


def twilio_client(
    base_url: str, *, token: str = AUTH_TOKEN, timeout: float | None = None
) -> Client:
    return Client(ACCOUNT_SID, token, http_client=SimulatorHttpClient(base_url, timeout))


@dataclass
class Harness:
    """The simulator under test, its webhook server, and helpers to place and await calls."""

    base_url: str
    client: Client
    webhooks: WebhookServer
    http: httpx.Client

    def reset(self, *, seed: int = TEST_SEED, speed: float = TEST_SPEED) -> None:
        run = {"seed": seed, "speed": speed, "start": TEST_START}
        response = self.http.post("/_sim/reset", json=run)
        response.raise_for_status()

    def register(self, number: str, **entry: Any) -> str:
        response = self.http.post("/_sim/directory", json=[{"number": number, **entry}])
        response.raise_for_status()
        return number

    def set_faults(self, **faults: Any) -> None:
        self.http.put("/_sim/faults", json=faults).raise_for_status()

    def place(self, to: str, twiml: str | None = None, **params: Any) -> str:
        """Create a call with the SDK; `twiml` is served as the call's Url document."""
        if twiml is not None:
            params.setdefault("url", self.webhooks.on(f"start-{to}", twiml))
        params.setdefault("status_callback", STATUS_URL)
        params.setdefault(
            "status_callback_event", ["initiated", "ringing", "answered", "completed"]
        )
        call = self.client.calls.create(to=to, from_=CALLER_ID, **params)
        sid: str = call.sid
        return sid

    def wait(self, sid: str, timeout: float = 20.0) -> dict[str, Any]:
        """The call's control view once it has ended and every callback was delivered."""
        deadline = time.monotonic() + timeout
        while True:
            view: dict[str, Any] = self.http.get(f"/_sim/calls/{sid}").json()
            if view["done"]:
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"call {sid} still {view['status']} after {timeout} s")
            time.sleep(0.02)

    def wait_status(self, sid: str, status: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.http.get(f"/_sim/calls/{sid}").json()["status"] != status:
            if time.monotonic() > deadline:
                raise AssertionError(f"call {sid} never reached {status}")
            time.sleep(0.005)

    def run(self, to: str, twiml: str, **params: Any) -> dict[str, Any]:
        return self.wait(self.place(to, twiml, **params))

    def statuses(self, sid: str) -> list[dict[str, str]]:
        """Status callbacks the webhook server received for `sid`, in arrival order."""
        return [h.params for h in self.webhooks.hits_on("/status", sid)]


@pytest.fixture(scope="session")
def webhook_server() -> WebhookServer:
    return WebhookServer(token=AUTH_TOKEN)


@pytest.fixture(scope="session")
def simulator_server(webhook_server: WebhookServer) -> Iterator[SimulatorServer]:
    config = SimulatorConfig(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        speed=TEST_SPEED,
        seed=TEST_SEED,
        webhook_timeout=5.0,
        transport=httpx.ASGITransport(app=webhook_server.app()),
    )
    with SimulatorServer(config) as server:
        yield server


@pytest.fixture
def sim(simulator_server: SimulatorServer, webhook_server: WebhookServer) -> Iterator[Harness]:
    """A fresh run: no calls, no directory, no faults, seed 1, speed 1000, from TEST_START."""
    with httpx.Client(base_url=simulator_server.base_url, timeout=30) as http:
        harness = Harness(
            simulator_server.base_url,
            twilio_client(simulator_server.base_url),
            webhook_server,
            http,
        )
        webhook_server.reset(AUTH_TOKEN)
        harness.reset()
        yield harness
        harness.reset()
