"""The one typed settings object. Nothing else in duecall reads the environment."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from duecall.errors import ConfigurationError

# Values people paste from examples; a secret equal to one of these is refused.
_PLACEHOLDER_SECRETS = {"changethis", "changeme", "secret", "password", "admin", "token"}


E164 = re.compile(r"\+[1-9]\d{6,14}")


def normalize_database_url(url: str) -> str:
    """Make bare PostgreSQL URLs use psycopg 3, the only PostgreSQL driver duecall ships."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """duecall configuration (see the Configuration table in README.md)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str = Field("sqlite:///duecall.db", validation_alias="DUECALL_DATABASE_URL")
    public_base_url: str = Field(
        "http://127.0.0.1:8000", validation_alias="DUECALL_PUBLIC_BASE_URL"
    )
    telephony: Literal["twilio", "simulator"] = Field(
        "simulator", validation_alias="DUECALL_TELEPHONY"
    )
    twilio_account_sid: str | None = Field(None, validation_alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr | None = Field(None, validation_alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(None, validation_alias="TWILIO_FROM_NUMBER")
    twilio_api_base_url: str = Field(
        "https://api.twilio.com", validation_alias="DUECALL_TWILIO_API_BASE_URL"
    )
    agent_mode: Literal["scripted", "llm"] = Field(
        "scripted", validation_alias="DUECALL_AGENT_MODE"
    )
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    llm_model: str | None = Field(None, validation_alias="DUECALL_LLM_MODEL")
    policy: str = Field("rbi", validation_alias="DUECALL_POLICY")
    clock: datetime | None = Field(None, validation_alias="DUECALL_CLOCK")
    admin_token: SecretStr | None = Field(None, validation_alias="DUECALL_ADMIN_TOKEN")
    scheduler: Literal["on", "off"] = Field("on", validation_alias="DUECALL_SCHEDULER")
    lender_name: str = Field("Demo Bank", validation_alias="DUECALL_LENDER_NAME")
    # Extensions beyond SPEC.
    default_timezone: str = Field(
        "Asia/Kolkata",
        validation_alias=AliasChoices("DUECALL_DEFAULT_TIMEZONE"),
        description="Lender's zone: naive timestamps in imports and report day boundaries.",
    )
    log_level: str = Field("INFO", validation_alias="DUECALL_LOG_LEVEL")
    agent_verification: Literal["none", "loan_last4"] = Field(
        "loan_last4",
        validation_alias="DUECALL_AGENT_VERIFICATION",
        description="What the bot asks after the borrower confirms their name, before the debt.",
    )
    lender_phone: str | None = Field(
        None,
        validation_alias="DUECALL_LENDER_PHONE",
        description="Number a third party or voicemail is asked to call back (default: caller ID).",
    )
    transfer_number: str | None = Field(
        None,
        validation_alias="DUECALL_TRANSFER_NUMBER",
        description="Tele-caller queue the bot transfers to when asked for a person (E.164).",
    )
    clock_rate: float = Field(
        1.0,
        gt=0,
        validation_alias="DUECALL_CLOCK_RATE",
        description="With DUECALL_CLOCK: how many times faster than real time the clock runs.",
    )
    clock_origin: float | None = Field(
        None,
        gt=0,
        validation_alias="DUECALL_CLOCK_ORIGIN",
        description="With DUECALL_CLOCK: the Unix time at which the clock read DUECALL_CLOCK "
        "(default: when the process starts); replicas given the same origin agree on the time.",
    )
    session_secret: SecretStr | None = Field(
        None,
        validation_alias="DUECALL_SESSION_SECRET",
        description="Signs the screens' login cookies; unset: a new one per process (dev only).",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        validation_alias="DUECALL_LOG_FORMAT",
        description="`json`: one JSON object per line (time, level, logger, message, ids).",
    )
    # DPDP Act 2023 s. 8(7): personal data is erased once its purpose is served; the lender
    # sets how long recordings and transcripts serve QA, complaints and disputes.
    retention_transcript_days: int = Field(
        180,
        gt=0,
        le=36_500,
        validation_alias="DUECALL_RETENTION_TRANSCRIPT_DAYS",
        description="Transcripts of calls that started longer ago than this are purged nightly.",
    )
    retention_recording_days: int = Field(
        180,
        gt=0,
        le=36_500,
        validation_alias="DUECALL_RETENTION_RECORDING_DAYS",
        description="Recordings (provider audio and links) older than this are purged nightly.",
    )
    drain_timeout: float = Field(
        300.0,
        ge=0,
        validation_alias="DUECALL_DRAIN_TIMEOUT",
        description="On SIGTERM, how long (s) to keep serving live calls before exiting.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        validation_alias="DUECALL_METRICS_TOKEN",
        description="Bearer token that may read /metrics (admins' tokens may too).",
    )
    llm_budget_s: float = Field(
        2.5,
        gt=0,
        le=30,
        validation_alias="DUECALL_LLM_BUDGET_S",
        description="Seconds an LLM turn may take before the scripted line answers instead.",
    )
    llm_transport: Literal["gather", "relay"] = Field(
        "gather",
        validation_alias="DUECALL_LLM_TRANSPORT",
        description="LLM mode after verification: a webhook per turn, or a ConversationRelay "
        "WebSocket with streamed replies.",
    )
    llm_max_tokens: int = Field(
        200,
        ge=16,
        le=4096,
        validation_alias="DUECALL_LLM_MAX_TOKENS",
        description="Most tokens one LLM reply may have.",
    )

    @field_validator("openai_base_url")
    @classmethod
    def _openai_base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("public_base_url", "twilio_api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("lender_phone", "transfer_number", "twilio_from_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not E164.fullmatch(value):
            raise ValueError("must be a phone number in E.164 form, e.g. +912240000000")
        return value

    @field_validator("clock")
    @classmethod
    def _clock(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(
                "must be an ISO-8601 instant with an offset, e.g. 2026-03-02T09:00+05:30"
            )
        return value

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator(
        "admin_token", "twilio_auth_token", "openai_api_key", "session_secret", "metrics_token"
    )
    @classmethod
    def _not_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in _PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder value; set a real secret")
        return value

    @field_validator("session_secret")
    @classmethod
    def _session_secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("admin_token", "metrics_token")
    @classmethod
    def _token_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log formatter to blank out wherever it appears."""
        secrets = [
            secret.get_secret_value()
            for secret in (
                self.admin_token,
                self.twilio_auth_token,
                self.openai_api_key,
                self.session_secret,
                self.metrics_token,
            )
            if secret is not None
        ]
        try:
            password = make_url(self.database_url).password
        except ArgumentError:  # not a URL: the engine refuses it before anything is logged
            password = None
        if password:
            secrets.append(str(password))
        return secrets


def load_settings() -> Settings:
    """Read the settings; a bad value raises ConfigurationError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigurationError(f"bad configuration: {problems}") from None
