"""Dialer API: campaigns (managers) and calls."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.models import Account, Call, Promise, Role
from crm.phones import parse_phone
from dialer.campaigns import (
    CampaignIn,
    CampaignPublic,
    CampaignUpdate,
    create_campaign,
    public,
    update_campaign,
)
from dialer.models import Campaign, DialQueueEntry
from dialer.queue import refresh
from dialer.service import Blocked, call_now
from dialer.webhooks import TelephonyDep
from duecall.auth import Principal
from duecall.db import transaction
from duecall.deps import AnyUser, ContextDep, Manager, RoleCheck, SessionDep

router = APIRouter(tags=["dialer"])
FIELD_REFERRAL_COLUMNS = [
    "agency", "account_id", "borrower_id", "borrower_name", "phone", "bucket", "dpd",
    "overdue_amount", "principal_outstanding", "product", "assigned_agent",
]  # fmt: skip
Caller = Annotated[Principal, Depends(RoleCheck(Role.ADMIN, Role.SUPERVISOR, Role.AGENT))]
# Campaign ids are the store's 32-bit integer keys: a bigger number is a 422, not a query.
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]


# --- calls ---------------------------------------------------------------------------------


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str
    mode: Literal["bot", "agent"]
    phone: str | None = None

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = parse_phone(value)  # ValueError names the problem
        if not value.startswith("+") or parsed.number != value:
            raise ValueError(f"{value!r} is not in E.164 form (e.g. +919812345678)")
        return parsed.number


class Ptp(BaseModel):
    amount: Decimal
    date: date


class Turn(BaseModel):
    speaker: str
    text: str


class CallPublic(BaseModel):
    call_id: str
    account_id: str
    phone: str | None
    mode: str
    status: str
    disposition: str | None
    ptp: Ptp | None
    callback_at: datetime | None
    transcript: list[Turn]
    recording_url: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: int | None
    agent_id: str | None
    campaign_id: int | None
    failure_reason: str | None
    compliance_receipt: dict[str, Any] | None


def call_public(call: Call, promise: Promise | None) -> CallPublic:
    return CallPublic(
        call_id=call.call_id,
        account_id=call.account_id,
        phone=call.phone,
        mode=call.mode,
        status=call.status,
        disposition=call.disposition,
        ptp=Ptp(amount=promise.amount, date=promise.promised_date) if promise else None,
        callback_at=call.callback_at,
        transcript=[Turn(speaker=t.speaker.value, text=t.text) for t in call.turns],
        recording_url=call.recording_url,
        started_at=call.started_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        duration_s=call.duration_s,
        agent_id=call.agent_id,
        campaign_id=call.campaign_id,
        failure_reason=call.failure_reason,
        compliance_receipt=call.compliance_receipt,
    )


@router.post("/api/calls", status_code=201, response_model=CallPublic)
def create_call(
    body: CallIn, context: ContextDep, telephony: TelephonyDep, principal: Caller
) -> Any:
    """Place a call now; 409 with every blocking reason when compliance does not allow it."""
    try:
        call_id = call_now(
            context,
            telephony,
            account_id=body.account_id,
            mode=body.mode,
            phone=body.phone,
            principal=principal,
        )
    except Blocked as blocked:
        decision = blocked.decision.as_json()
        detail = {"reasons": decision["reasons"], "next_allowed_at": decision["next_allowed_at"]}
        return JSONResponse({"detail": detail}, status_code=status.HTTP_409_CONFLICT)
    return read_call(call_id, context.sessions(), principal)


@router.get("/api/calls/{call_id}", response_model=CallPublic)
def get_call(call_id: str, session: SessionDep, principal: AnyUser) -> CallPublic:
    return read_call(call_id, session, principal)


def read_call(call_id: str, session: Any, principal: Principal) -> CallPublic:
    with session:
        call = session.scalar(
            select(Call).where(Call.call_id == call_id).options(selectinload(Call.turns))
        )
        if call is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_id!r}")
        if principal.role is Role.AGENT:
            assigned = session.scalar(
                select(Account.assigned_agent_id).where(Account.account_id == call.account_id)
            )
            if assigned != principal.agent_id and call.agent_id != principal.agent_id:
                raise HTTPException(status.HTTP_403_FORBIDDEN, "this call is not on your accounts")
        promise = session.scalar(select(Promise).where(Promise.call_id == call_id))
        return call_public(call, promise)


# --- campaigns -----------------------------------------------------------------------------


@router.get("/api/campaigns", response_model=list[CampaignPublic])
def list_campaigns(session: SessionDep, _user: Manager) -> list[CampaignPublic]:
    return [public(c) for c in session.scalars(select(Campaign).order_by(Campaign.id))]


@router.post("/api/campaigns", status_code=201, response_model=CampaignPublic)
def add_campaign(body: CampaignIn, context: ContextDep, _user: Manager) -> CampaignPublic:
    try:
        with transaction(context.sessions) as session:
            return public(create_campaign(session, body, now=context.clock.now()))
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def _campaign(session: Any, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign {campaign_id}")
    return campaign  # type: ignore[no-any-return]


@router.get("/api/campaigns/{campaign_id}", response_model=CampaignPublic)
def get_campaign(campaign_id: CampaignId, session: SessionDep, _user: Manager) -> CampaignPublic:
    return public(_campaign(session, campaign_id))


@router.patch("/api/campaigns/{campaign_id}", response_model=CampaignPublic)
def change_campaign(
    campaign_id: CampaignId, body: CampaignUpdate, context: ContextDep, _user: Manager
) -> CampaignPublic:
    try:
        with transaction(context.sessions) as session:
            campaign = update_campaign(
                session, _campaign(session, campaign_id), body, now=context.clock.now()
            )
            return public(campaign)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, exc.errors(include_url=False)
        ) from None


@router.post("/api/campaigns/{campaign_id}/refresh")
def refresh_campaign(
    campaign_id: CampaignId, context: ContextDep, _user: Manager
) -> dict[str, int]:
    """Rebuild the campaign's queue from the portfolio now."""
    now = context.clock.now()
    today = now.astimezone(ZoneInfo(context.settings.default_timezone)).date()
    with transaction(context.sessions) as session:
        queued = refresh(
            session, _campaign(session, campaign_id), now=now, today=today, policy=context.policy
        )
    return {"queued": queued}


@router.get("/api/campaigns/{campaign_id}/queue")
def campaign_queue(
    campaign_id: CampaignId,
    session: SessionDep,
    _user: Manager,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    """The head of the queue in priority order, with when each account is next due and why."""
    _campaign(session, campaign_id)
    rows = session.scalars(
        select(DialQueueEntry)
        .where(DialQueueEntry.campaign_id == campaign_id)
        .order_by(DialQueueEntry.tier, DialQueueEntry.score.desc(), DialQueueEntry.account_id)
        .limit(limit)
    )
    return [
        {
            "account_id": r.account_id,
            "channel": r.channel,
            "tier": r.tier,
            "score": round(r.score, 2),
            "due_at": r.due_at.isoformat(),
            "reason": r.reason,
        }
        for r in rows
    ]


@router.get("/api/campaigns/{campaign_id}/field-referrals", response_class=Response)
def field_referrals(
    campaign_id: CampaignId, session: SessionDep, _user: Manager, agency: str | None = None
) -> Response:
    """The campaign's accounts for field visits, as CSV, for one agency or all."""
    campaign = _campaign(session, campaign_id)
    if not campaign.field_referral:
        raise HTTPException(status.HTTP_409_CONFLICT, "this campaign makes no field referrals")
    query = (
        select(Account)
        .join(DialQueueEntry, DialQueueEntry.account_id == Account.account_id)
        .where(DialQueueEntry.campaign_id == campaign_id)
        .options(selectinload(Account.borrower), selectinload(Account.phones))
        .order_by(Account.agency_id, Account.dpd.desc(), Account.account_id)
    )
    if agency is not None:
        query = query.where(Account.agency_id == agency)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELD_REFERRAL_COLUMNS)
    for account in session.scalars(query):
        phone = next((p.number for p in account.phones if p.status.value == "ok"), "")
        writer.writerow(
            [
                account.agency_id or "",
                account.account_id,
                account.borrower_id,
                account.borrower.name,
                phone,
                account.bucket.value,
                account.dpd,
                account.overdue_amount,
                account.principal_outstanding or "",
                account.product or "",
                account.assigned_agent_id or "",
            ]
        )
    name = f"field-referrals-{campaign_id}-{agency or 'all'}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
