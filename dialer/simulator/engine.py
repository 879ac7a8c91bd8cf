"""The simulator's state for one run: directory, faults, calls and the tasks that play them."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import httpx

from dialer.simulator.calls import CallOptions, SimCall
from dialer.simulator.clock import SimClock
from dialer.simulator.config import Faults, SimulatorConfig
from dialer.simulator.directory import DirectoryEntry, facts_for, persona_for
from dialer.simulator.lifecycle import CallRunner, Source
from dialer.simulator.personas import Borrower
from dialer.simulator.tasks import TaskSet
from dialer.simulator.webhooks import WebhookClient
from duecall.errors import SimulatorError

RestFault = Literal["429", "500", "timeout"]
NOT_FOUND = 20404
# Simulated borrowers live in India: "today" for their promise dates is the Indian date.
BORROWER_ZONE = ZoneInfo("Asia/Kolkata")


class Simulator:
    """Everything a simulator app serves; one instance per app, used from its event loop only."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.account_sid = config.account_sid
        self.auth_token = config.auth_token.get_secret_value()
        self.faults = config.faults.model_copy()
        self.directory: dict[str, DirectoryEntry] = {}
        self.calls: dict[str, SimCall] = {}
        self._runners: dict[str, CallRunner] = {}
        self._tasks = TaskSet()
        self._http = config.http_client
        self._owns_http = False
        self._webhooks: WebhookClient | None = None
        self._new_run(seed=config.seed, speed=config.speed, start=config.start)

    def _new_run(self, *, seed: int, speed: float, start: datetime | None) -> None:
        self.seed = seed
        self.clock = SimClock(speed, start)
        self._attempts: Counter[str] = Counter()
        self._rest_rng = random.Random(f"{seed}|rest")

    async def startup(self) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(transport=self.config.transport)
            self._owns_http = True
        self._webhooks = WebhookClient(self._http, self.auth_token, self.config.webhook_timeout)

    async def shutdown(self) -> None:
        await self._tasks.cancel_all()
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def reset(
        self, *, seed: int | None = None, speed: float | None = None, start: datetime | None = None
    ) -> None:
        """Cancel every call and forget calls, directory and faults; start a new run."""
        await self._tasks.cancel_all()
        self.calls.clear()
        self._runners.clear()
        self.directory.clear()
        self.faults = self.config.faults.model_copy()
        self._new_run(
            seed=self.config.seed if seed is None else seed,
            speed=self.config.speed if speed is None else speed,
            start=start,
        )

    @property
    def active_calls(self) -> int:
        return sum(1 for call in self.calls.values() if not call.done)

    def draw_rest_fault(self) -> RestFault | None:
        """Whether this Calls.json request is answered with an injected fault."""
        roll = self._rest_rng.random()
        faults = self.faults
        shares: tuple[tuple[RestFault, float], ...] = (
            ("429", faults.rest_429),
            ("500", faults.rest_500),
            ("timeout", faults.rest_timeout),
        )
        for fault, share in shares:
            if roll < share:
                return fault
            roll -= share
        return None

    def create_call(self, options: CallOptions, *, api_base_url: str) -> SimCall:
        """Queue a call and start playing it."""
        assert self._webhooks is not None, "startup() has not run"
        number = options.to
        attempt = self._attempts[number]
        self._attempts[number] += 1
        entry = self.directory.get(number)
        persona = persona_for(
            entry, seed=self.seed, number=number, default_bucket=self.config.default_bucket
        )
        now = self.clock.now()
        facts = facts_for(
            entry, seed=self.seed, number=number, today=now.astimezone(BORROWER_ZONE).date()
        )
        call_seed = f"{self.seed}|{number}|{attempt}"
        call = SimCall(
            sid=f"CA{random.Random(f'{call_seed}|sid').getrandbits(128):032x}",
            account_sid=self.account_sid,
            options=options,
            persona=persona,
            borrower=Borrower.meet(persona, facts, random.Random(f"{call_seed}|borrower")),
            created_at=now,
            api_base_url=api_base_url,
            forced_answered_by=entry.answered_by if entry is not None else None,
        )
        call.record(now, "status", status=str(call.status))
        runner = CallRunner(
            call,
            clock=self.clock,
            webhooks=self._webhooks,
            tasks=self._tasks,
            faults=self.faults.model_copy(),
            seed=call_seed,
        )
        self.calls[call.sid] = call
        self._runners[call.sid] = runner
        self._tasks.spawn(runner.run())
        return call

    def call(self, sid: str) -> SimCall:
        call = self.calls.get(sid)
        if call is None or call.account_sid != self.account_sid:
            raise SimulatorError(
                NOT_FOUND, f"The requested resource Calls/{sid}.json was not found", status=404
            )
        return call

    def hang_up(self, sid: str) -> SimCall:
        self.call(sid)
        self._runners[sid].hang_up()
        return self.calls[sid]

    def redirect(self, sid: str, source: Source) -> SimCall:
        self.call(sid)
        self._runners[sid].redirect(source)
        return self.calls[sid]

    def recording_call(self, recording_sid: str) -> SimCall:
        for call in self.calls.values():
            if call.recording is not None and call.recording.sid == recording_sid:
                return call
        raise SimulatorError(
            NOT_FOUND,
            f"The requested resource Recordings/{recording_sid} was not found",
            status=404,
        )

    def delete_recording(self, recording_sid: str) -> None:
        """Deletes a recording as Twilio does: its resource and media are gone (404 after)."""
        self.recording_call(recording_sid).recording = None

    def register(self, entries: list[DirectoryEntry]) -> None:
        for entry in entries:
            self.directory[entry.number] = entry

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults.model_copy()
