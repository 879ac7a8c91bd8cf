"""The directory: who answers a number, and what they know. Unregistered numbers are drawn."""

from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm.buckets import Bucket
from dialer.simulator.outcomes import AnsweredBy
from dialer.simulator.personas import (
    BorrowerFacts,
    Gender,
    Language,
    PersonaKind,
    draw_facts,
    draw_persona,
)


class DirectoryEntry(BaseModel):
    """A registered number. Omitted fields are drawn from the run's seed."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(description="E.164, e.g. +919812345678")
    persona: PersonaKind | None = Field(None, description="Drawn from `bucket` when omitted.")
    bucket: Bucket | None = Field(None, description="Bucket whose persona shares to draw from.")
    name: str | None = Field(None, min_length=1)
    gender: Gender | None = None
    language: Language | None = None
    year_of_birth: int | None = Field(None, ge=1900, le=2100)
    loan_last4: str | None = Field(None, pattern=r"^\d{4}$")
    promise_amount: Decimal | None = Field(None, gt=0, description="Rupees.")
    promise_date: date | None = None
    paid_on: date | None = None
    after_salary: bool | None = None
    callback_hour: int | None = Field(None, ge=0, le=23)
    answered_by: AnsweredBy | None = Field(
        None, description="Forces what machine detection reports for this number."
    )

    @field_validator("number")
    @classmethod
    def _e164(cls, value: str) -> str:
        try:
            parsed = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"not an E.164 phone number: {exc}") from None
        if not phonenumbers.is_valid_number(parsed):
            raise ValueError("not a valid phone number")
        return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def persona_for(
    entry: DirectoryEntry | None, *, seed: int, number: str, default_bucket: Bucket
) -> PersonaKind:
    """The registered persona, else one drawn for this number (the same all run long)."""
    if entry is not None and entry.persona is not None:
        return entry.persona
    bucket = entry.bucket if entry is not None and entry.bucket else default_bucket
    return draw_persona(bucket, random.Random(f"{seed}|persona|{number}"))


def facts_for(
    entry: DirectoryEntry | None, *, seed: int, number: str, today: date
) -> BorrowerFacts:
    """The registered facts, with whatever is missing drawn for this number."""
    drawn = draw_facts(random.Random(f"{seed}|facts|{number}"), today)
    if entry is None:
        return drawn
    amount = (
        drawn.promise_amount
        if entry.promise_amount is None
        else int(entry.promise_amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    )
    return BorrowerFacts(
        name=entry.name or drawn.name,
        gender=entry.gender or drawn.gender,
        language=entry.language or drawn.language,
        year_of_birth=entry.year_of_birth or drawn.year_of_birth,
        loan_last4=entry.loan_last4 or drawn.loan_last4,
        promise_amount=amount,
        promise_date=entry.promise_date or drawn.promise_date,
        paid_on=entry.paid_on or drawn.paid_on,
        callback_hour=drawn.callback_hour if entry.callback_hour is None else entry.callback_hour,
        after_salary=drawn.after_salary if entry.after_salary is None else entry.after_salary,
    )
