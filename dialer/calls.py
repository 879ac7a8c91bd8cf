"""A call's life: placed with the provider, followed through its status callbacks, finished.

Status callbacks may come twice or out of order (Twilio retries and delivers concurrently): a
status never moves a call backwards, and a finished call stays as it finished. Finishing
releases the account's claim and tells the campaign's queue when to try again.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from compliance.policy import Policy
from crm.models import LIVE_STATUSES, Call
from dialer.models import Campaign
from dialer.queue import CLAIM_TTL, Claimed, park, release
from dialer.telephony import OutboundCall, Telephony
from duecall.clock import Clock
from duecall.db import transaction
from duecall.errors import ProviderError, ProviderTimeout
from duecall.logs import mask_phone

log = logging.getLogger(__name__)

# Twilio's call statuses by how far a call has got; terminal ones share the last rank.
STATUS_RANK = {
    "queued": 0,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "completed": 4,
    "busy": 4,
    "no-answer": 4,
    "failed": 4,
    "canceled": 4,
    "lost": 4,  # ours: no final status ever came
}
TERMINAL = frozenset(s for s, rank in STATUS_RANK.items() if rank == 4)
# What a call that ended without an outcome from the conversation counts as.
DISPOSITION_FOR_STATUS = {
    "busy": "BUSY",
    "no-answer": "RNR",
    "failed": "FAILED",
    "canceled": "FAILED",
}
MACHINE = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")
NEVER_PLACED_AFTER = timedelta(minutes=5)  # a queued call with no provider sid by then: lost


class Placement(enum.StrEnum):
    PLACED = "placed"
    FAILED = "failed"  # the provider refused or could not be reached: finished as FAILED
    UNCONFIRMED = "unconfirmed"  # no answer in time: its callbacks, or recover(), will tell


@dataclass(frozen=True, slots=True)
class WebhookUrls:
    answer: str  # the conversation agent
    bridge: str  # click-to-call: the tele-caller has answered, now dial the borrower
    status: str
    amd: str
    recording: str


def webhook_urls(public_base_url: str, call_id: str) -> WebhookUrls:
    base = f"{public_base_url}/twilio"
    return WebhookUrls(
        answer=f"{base}/voice/{call_id}",
        bridge=f"{base}/bridge/{call_id}",
        status=f"{base}/status/{call_id}",
        amd=f"{base}/amd/{call_id}",
        recording=f"{base}/recording/{call_id}",
    )


def place(
    sessions: sessionmaker[Session],
    telephony: Telephony,
    claimed: Claimed,
    *,
    clock: Clock,
    public_base_url: str,
    policy: Policy,
    zone: ZoneInfo,
    ring_first: str | None = None,
) -> Placement:
    """Place one claimed call at its slot; a provider error finishes it with the reason.

    With `ring_first` (a tele-caller's phone), that phone rings first and the borrower is
    dialled once the tele-caller answers (click-to-call).
    """
    clock.sleep_until(claimed.slot_at)
    with sessions() as session:
        if session.scalar(select(Call.status).where(Call.call_id == claimed.call_id)) in TERMINAL:
            # recover() ended it while this dialer was stalled: its account may be taken again.
            log.warning("call %s ended before it could be placed", claimed.call_id)
            return Placement.FAILED
    urls = webhook_urls(public_base_url, claimed.call_id)
    outbound = OutboundCall(
        call_id=claimed.call_id,
        to=ring_first or claimed.phone,
        answer_url=urls.bridge if ring_first else urls.answer,
        status_url=urls.status,
        amd_url=urls.amd,
        recording_url=urls.recording,
    )
    try:
        placed = telephony.place_call(outbound)
    except ProviderTimeout as exc:
        log.warning(
            "call %s to %s unconfirmed: %s", claimed.call_id, mask_phone(claimed.phone), exc
        )
        with transaction(sessions) as session:
            call = session.get(Call, claimed.call_id)
            assert call is not None
            # The provider may have created it: its callbacks will say so, or recover() ends it.
            call.failure_reason = str(exc)
        return Placement.UNCONFIRMED
    except ProviderError as exc:
        log.warning("call %s to %s not placed: %s", claimed.call_id, mask_phone(claimed.phone), exc)
        with transaction(sessions) as session:
            call = session.get(Call, claimed.call_id)
            assert call is not None
            finish(
                session,
                call,
                status="failed",
                now=clock.now(),
                policy=policy,
                zone=zone,
                reason=str(exc),
            )
        return Placement.FAILED
    with transaction(sessions) as session:
        call = session.get(Call, claimed.call_id)
        assert call is not None
        call.provider_call_sid = call.provider_call_sid or placed.provider_call_sid
        if STATUS_RANK.get(placed.status, 0) > STATUS_RANK[call.status]:
            call.status = placed.status
        elif call.status == "queued":
            call.status = "initiated"
    return Placement.PLACED


def apply_status(
    session: Session,
    call: Call,
    *,
    status: str,
    provider_call_sid: str,
    duration_s: int | None,
    answered_by: str | None,
    now: datetime,
    policy: Policy,
    zone: ZoneInfo,
) -> None:
    """Move `call` forward to `status`; duplicates and stale callbacks change nothing."""
    if call.provider_call_sid is None:
        call.provider_call_sid = provider_call_sid
    if answered_by and call.answered_by is None:
        call.answered_by = answered_by
    if status not in STATUS_RANK or STATUS_RANK[status] <= STATUS_RANK.get(call.status, 0):
        return
    if status == "in-progress" and call.answered_at is None:
        call.answered_at = now
    if status in TERMINAL:
        finish(
            session, call, status=status, now=now, duration_s=duration_s, policy=policy, zone=zone
        )
    else:
        call.status = status


def finish(
    session: Session,
    call: Call,
    *,
    status: str,
    now: datetime,
    policy: Policy,
    zone: ZoneInfo,
    duration_s: int | None = None,
    reason: str | None = None,
) -> None:
    """End `call` (once): its disposition, the claim released, the campaign's next try planned."""
    if call.status in TERMINAL:
        return
    call.status = status
    call.ended_at = now
    if duration_s is not None:
        call.duration_s = duration_s
    if reason:
        call.failure_reason = reason
    if call.disposition is None:
        call.disposition = _disposition(call, status)
    release(session, account_id=call.account_id, call_id=call.call_id)
    if call.campaign_id is not None:
        campaign = session.get(Campaign, call.campaign_id)
        if campaign is not None:
            until, why = next_try(session, call, campaign, now=now, policy=policy, zone=zone)
            park(
                session,
                campaign_id=campaign.id,
                account_id=call.account_id,
                until=until,
                reason=why,
            )


def _disposition(call: Call, status: str) -> str:
    if status in DISPOSITION_FOR_STATUS:
        return DISPOSITION_FOR_STATUS[status]
    if call.answered_by in MACHINE:
        return "VOICEMAIL"
    if call.answered_at is not None or (call.duration_s or 0) > 0:
        return "DROPPED"  # answered, but the conversation reached no outcome
    return "RNR" if status == "completed" else "FAILED"


def next_try(
    session: Session,
    call: Call,
    campaign: Campaign,
    *,
    now: datetime,
    policy: Policy,
    zone: ZoneInfo,
) -> tuple[datetime, str]:
    """When the campaign should try the account again after `call` (compliance decides at pick)."""
    disposition = call.disposition or "FAILED"
    tomorrow = datetime.combine(
        now.astimezone(zone).date() + timedelta(days=1), datetime.min.time(), zone
    )
    if disposition == "CALLBACK" and call.callback_at is not None:
        return call.callback_at - policy.callback_tolerance, "callback the borrower asked for"
    rule = campaign.retry_rules.get(disposition)
    if rule is None:
        return tomorrow, f"{disposition}: next day"
    start_of_today = tomorrow - timedelta(days=1)
    same_today = (
        session.scalar(
            select(func.count())
            .select_from(Call)
            .where(
                Call.account_id == call.account_id,
                Call.disposition == disposition,
                Call.started_at >= start_of_today,
            )
        )
        or 0
    )
    limit = rule.get("max_per_day")
    if limit is not None and same_today >= limit:
        return tomorrow, f"{disposition}: {same_today} today (at most {limit})"
    return now + timedelta(minutes=rule["after_minutes"]), f"{disposition}: retry"


def recover(
    session: Session,
    *,
    now: datetime,
    policy: Policy,
    zone: ZoneInfo,
    spare: Collection[str] = (),
) -> int:
    """Finish calls nobody will finish: never placed, or no final status from the provider.

    `spare`: calls without a provider sid that are left open until the claim lapses, because the
    provider could not be asked whether it has them (reconcile)."""
    never_placed = Call.provider_call_sid.is_(None) & (Call.started_at < now - NEVER_PLACED_AFTER)
    if spare:
        never_placed &= Call.call_id.not_in(list(spare))
    stuck = list(
        session.scalars(
            select(Call).where(
                Call.status.in_(LIVE_STATUSES),
                never_placed | (Call.started_at < now - CLAIM_TTL),
            )
        )
    )
    for call in stuck:
        reason = (
            "never placed: the dialer stopped, or the provider never confirmed the call"
            if call.provider_call_sid is None
            else "no final status from the provider"
        )
        finish(session, call, status="lost", now=now, policy=policy, zone=zone, reason=reason)
    return len(stuck)
