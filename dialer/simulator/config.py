"""How a simulator run is configured: credentials, clock speed, seed, faults, the webhook client."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from crm.buckets import Bucket

ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")


class Faults(BaseModel):
    """Misbehaviour to inject, each a share of the requests or calls it applies to."""

    model_config = ConfigDict(extra="forbid")

    rest_429: float = Field(0.0, ge=0, le=1, description="Calls.json answered 429 (code 20429).")
    rest_500: float = Field(0.0, ge=0, le=1, description="Calls.json answered 500 (code 20500).")
    rest_timeout: float = Field(
        0.0, ge=0, le=1, description="Calls.json answered only after `rest_timeout_seconds`."
    )
    rest_timeout_seconds: float = Field(
        20.0, gt=0, le=600, description="Real seconds a delayed Calls.json answer waits."
    )
    rest_timeout_places_call: bool = Field(
        True, description="Whether a delayed Calls.json still places the call, as Twilio may."
    )
    duplicate_callbacks: float = Field(0.0, ge=0, le=1, description="Status callbacks sent twice.")
    reorder_callbacks: float = Field(
        0.0, ge=0, le=1, description="Status callbacks held back and sent after the next one."
    )
    callback_retries: int = Field(
        0, ge=0, le=5, description="Retries of a status callback answered 5xx or timed out."
    )
    drop_calls: float = Field(0.0, ge=0, le=1, description="Answered calls whose line drops.")
    failed_calls: float = Field(0.0, ge=0, le=1, description="Calls that fail to connect.")


class SimulatorConfig(BaseModel):
    """A simulator run. `speed` 60 makes one simulated minute pass in one real second."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    account_sid: str = "AC" + "0" * 32
    auth_token: SecretStr = SecretStr("simulator-auth-token")
    speed: float = Field(1.0, gt=0, le=100_000)
    seed: int = 0
    faults: Faults = Field(default_factory=Faults)
    start: datetime | None = Field(
        None, description="Simulated instant the run starts at (default: now)."
    )
    default_bucket: Bucket = Field(
        Bucket.SMA_1, description="Bucket whose persona shares unregistered numbers get."
    )
    webhook_timeout: float = Field(
        15.0, gt=0, description="Real seconds a webhook may take, like Twilio's 15 s limit."
    )
    http_client: httpx.AsyncClient | None = Field(
        None, description="Client for the server's webhooks (the caller closes it)."
    )
    transport: httpx.AsyncBaseTransport | None = Field(
        None, description="Transport for a client the simulator makes (when no http_client)."
    )

    @field_validator("account_sid")
    @classmethod
    def _account_sid(cls, value: str) -> str:
        if not ACCOUNT_SID.match(value):
            raise ValueError("must be 'AC' followed by 32 lowercase hex digits")
        return value

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must be timezone-aware")
        return value
