"""What the API shows of CRM records (stored models stay separate from these)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, PlainSerializer

from crm.buckets import AssetClass, Bucket, asset_class
from crm.models import Account, Call, PhoneStatus, PromiseStatus

Day = date  # the promise's field is named `date` (SPEC), which would shadow the type
HHMM = Annotated[time, PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)]


class PhonePublic(BaseModel):
    number: str
    status: PhoneStatus
    source: str


class HoldPublic(BaseModel):
    kind: str
    until: date | None
    reason: str | None
    created_at: datetime
    released_at: datetime | None


class PreferencePublic(BaseModel):
    kind: str
    phone: str | None
    days: list[str]
    start: HHMM | None
    end: HHMM | None
    note: str | None


class PromisePublic(BaseModel):
    amount: Decimal
    date: Day
    promised_on: Day
    status: PromiseStatus
    paid_amount: Decimal | None
    call_id: str | None


class CallSummary(BaseModel):
    call_id: str
    started_at: datetime
    agent_id: str | None
    phone: str | None
    mode: str
    status: str
    disposition: str | None


class AccountPublic(BaseModel):
    account_id: str
    borrower_id: str
    borrower_name: str
    language: str
    timezone: str | None
    product: str | None
    emi_amount: Decimal | None
    overdue_amount: Decimal
    principal_outstanding: Decimal | None
    due_date: date | None
    dpd: int
    disbursal_date: date | None
    channel: str | None
    agency: str | None
    assigned_agent: str | None
    flags: list[str]
    bucket: Bucket
    asset_class: AssetClass
    npa_since: date | None
    phones: list[PhonePublic]
    holds: list[HoldPublic]
    preferences: list[PreferencePublic]
    promises: list[PromisePublic]
    recent_calls: list[CallSummary]

    @classmethod
    def build(cls, account: Account, recent_calls: list[Call], today: date) -> AccountPublic:
        return cls(
            account_id=account.account_id,
            borrower_id=account.borrower_id,
            borrower_name=account.borrower.name,
            language=account.language,
            timezone=account.timezone,
            product=account.product,
            emi_amount=account.emi_amount,
            overdue_amount=account.overdue_amount,
            principal_outstanding=account.principal_outstanding,
            due_date=account.due_date,
            dpd=account.dpd,
            disbursal_date=account.disbursal_date,
            channel=account.channel,
            agency=account.agency_id,
            assigned_agent=account.assigned_agent_id,
            flags=[f.flag.value for f in account.flags],
            bucket=account.bucket,
            asset_class=asset_class(account.bucket, account.npa_since, today),
            npa_since=account.npa_since,
            phones=[PhonePublic.model_validate(p, from_attributes=True) for p in account.phones],
            holds=[HoldPublic.model_validate(h, from_attributes=True) for h in account.holds],
            preferences=[
                PreferencePublic.model_validate(p, from_attributes=True)
                for p in account.preferences
            ],
            promises=[
                PromisePublic(
                    amount=p.amount,
                    date=p.promised_date,
                    promised_on=p.promised_on,
                    status=p.status,
                    paid_amount=p.paid_amount,
                    call_id=p.call_id,
                )
                for p in account.promises
            ],
            recent_calls=[
                CallSummary.model_validate(c, from_attributes=True) for c in recent_calls
            ],
        )
