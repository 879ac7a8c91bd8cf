"""The simulator's control API under `/_sim/` (not Twilio's): directory, faults, calls, reset."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from dialer.simulator.calls import SimCall
from dialer.simulator.config import Faults
from dialer.simulator.directory import DirectoryEntry
from dialer.simulator.engine import Simulator
from dialer.simulator.rest import simulator

SimulatorDep = Annotated[Simulator, Depends(simulator)]
router = APIRouter(prefix="/_sim", tags=["simulator control"])


class TurnView(BaseModel):
    speaker: str
    text: str
    at: datetime
    language: str | None
    confidence: float | None
    input: str
    intents: list[str]


class EventView(BaseModel):
    at: datetime
    type: str
    detail: dict[str, Any]


class BorrowerView(BaseModel):
    name: str
    gender: str
    language: str
    year_of_birth: int
    loan_last4: str
    promise_amount: int
    promise_date: str
    after_salary: bool


class CallView(BaseModel):
    sid: str
    to: str
    from_: str = Field(serialization_alias="from")
    status: str
    done: bool
    persona: str
    borrower: BorrowerView
    answered_by: str | None
    created_at: datetime
    start_time: datetime | None
    answered_at: datetime | None
    end_time: datetime | None
    duration: int | None
    error: dict[str, Any] | None
    recording_sid: str | None
    transcript: list[TurnView]
    events: list[EventView]

    @classmethod
    def of(cls, call: SimCall) -> CallView:
        facts = call.borrower.facts
        return cls(
            sid=call.sid,
            to=call.options.to,
            from_=call.options.from_,
            status=str(call.status),
            done=call.done,
            persona=str(call.persona),
            borrower=BorrowerView(
                name=facts.name,
                gender=facts.gender,
                language=facts.language,
                year_of_birth=facts.year_of_birth,
                loan_last4=facts.loan_last4,
                promise_amount=facts.promise_amount,
                promise_date=facts.promise_date.isoformat(),
                after_salary=facts.after_salary,
            ),
            answered_by=call.answered_by,
            created_at=call.created_at,
            start_time=call.start_time,
            answered_at=call.answered_at,
            end_time=call.end_time,
            duration=call.duration,
            error=(
                None
                if call.error_code is None
                else {"code": call.error_code, "message": call.error_message}
            ),
            recording_sid=call.recording.sid if call.recording else None,
            transcript=[TurnView(**vars(turn)) for turn in call.transcript],
            events=[EventView(**vars(event)) for event in call.events],
        )


class StatusView(BaseModel):
    seed: int
    speed: float
    now: datetime
    calls: int
    active_calls: int
    idle: bool


class ResetRequest(BaseModel):
    seed: int | None = None
    speed: float | None = Field(None, gt=0, le=100_000)
    start: datetime | None = None


@router.get("/status")
async def status(sim: SimulatorDep) -> StatusView:
    """The run: seed, speed, simulated now, and whether any call is still going on."""
    active = sim.active_calls
    return StatusView(
        seed=sim.seed,
        speed=sim.clock.speed,
        now=sim.clock.now(),
        calls=len(sim.calls),
        active_calls=active,
        idle=active == 0,
    )


@router.get("/directory")
async def list_directory(sim: SimulatorDep) -> list[DirectoryEntry]:
    return list(sim.directory.values())


@router.post("/directory")
async def register(entries: list[DirectoryEntry], sim: SimulatorDep) -> dict[str, int]:
    """Register numbers (number → persona and facts); a number registered again is replaced."""
    sim.register(entries)
    return {"registered": len(entries), "directory": len(sim.directory)}


@router.get("/faults")
async def get_faults(sim: SimulatorDep) -> Faults:
    return sim.faults


@router.put("/faults")
async def set_faults(faults: Faults, sim: SimulatorDep) -> Faults:
    """Faults for calls created from now on."""
    sim.set_faults(faults)
    return sim.faults


@router.get("/calls", response_model_by_alias=True)
async def list_calls(sim: SimulatorDep, to: str | None = None) -> list[CallView]:
    """Every call of the run, oldest first, with transcript and events."""
    return [CallView.of(c) for c in sim.calls.values() if to is None or c.options.to == to]


@router.get("/calls/{call_sid}", response_model_by_alias=True)
async def get_call(call_sid: str, sim: SimulatorDep) -> CallView:
    return CallView.of(sim.call(call_sid))


@router.post("/reset")
async def reset(sim: SimulatorDep, request: ResetRequest | None = None) -> StatusView:
    """End every call and forget calls, directory and faults; optionally a new seed or speed."""
    request = request or ResetRequest()
    await sim.reset(seed=request.seed, speed=request.speed, start=request.start)
    return await status(sim)
