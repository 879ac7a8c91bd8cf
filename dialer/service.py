"""Starting a call on request (API, call screen): checks, claim, call record; then placing it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from compliance.engine import Decision, Reason
from compliance.policy import Policy
from compliance.screening import decide_for_phone, screen
from crm.models import Account, Agent, Call, Phone, PhoneStatus, Role
from dialer.calls import place
from dialer.queue import CLAIM_TTL, Claimed, new_call_id
from dialer.telephony import Telephony
from duecall.auth import Principal
from duecall.context import AppContext
from duecall.db import transaction
from duecall.errors import Forbidden, InvalidInput, NotFound, ShuttingDown


class Blocked(Exception):
    """The call may not be placed now; the reasons are what the compliance engine said."""

    # Not a frozen dataclass: raising through a `with` block sets __traceback__ on it.
    def __init__(self, decision: Decision) -> None:
        super().__init__("; ".join(f"{r.rule}: {r.detail}" for r in decision.reasons))
        self.decision = decision


def start_call(
    session: Session,
    *,
    account_id: str,
    mode: str,
    phone: str | None,
    principal: Principal,
    now: datetime,
    policy: Policy,
) -> Call:
    """Check and claim, and record the call as queued (the caller commits, then places it)."""
    account = session.scalar(
        select(Account).where(Account.account_id == account_id).with_for_update()
    )
    if account is None:
        raise NotFound(f"no account {account_id!r}")
    if principal.role is Role.AGENT and account.assigned_agent_id != principal.agent_id:
        raise Forbidden("this account is not allocated to you")
    agent_id = "BOT"
    if mode == "agent":
        if principal.agent_id is None:
            raise InvalidInput(
                "mode", "an agent-mode call needs a tele-caller (a user with an agent id)"
            )
        agent = session.get(Agent, principal.agent_id)
        if agent is None or not agent.phone:
            raise InvalidInput(
                "mode", f"tele-caller {principal.agent_id} has no phone to ring first"
            )
        agent_id = agent.agent_id
    if account.claimed_until is not None and account.claimed_until > now:
        raise Blocked(_in_progress(now, account.claimed_until, policy))
    if phone is not None:
        status = session.scalar(
            select(Phone.status).where(Phone.account_id == account_id, Phone.number == phone)
        )
        if status is None:
            raise InvalidInput("phone", f"{phone} is not one of the account's phones")
        if status is PhoneStatus.INVALID:
            raise InvalidInput("phone", f"{phone} is not a valid number")
        decision = decide_for_phone(session.connection(), account_id, phone, at=now, policy=policy)
        assert decision is not None
    else:
        screening = screen(session.connection(), [account_id], at=now, policy=policy)[account_id]
        phone, decision = screening.phone, screening.decision
    if not decision.allowed or phone is None:
        raise Blocked(decision)
    call_id = new_call_id()
    session.execute(
        update(Account)
        .where(
            Account.account_id == account_id,
            or_(Account.claimed_until.is_(None), Account.claimed_until < now),
        )
        .values(claimed_by=call_id, claimed_until=now + CLAIM_TTL)
    )
    call = Call(
        call_id=call_id,
        account_id=account_id,
        agent_id=agent_id,
        phone=phone,
        mode=mode,
        source="api",
        status="queued",
        started_at=now,
        compliance_receipt=decision.receipt(phone),
    )
    session.add(call)
    session.flush()
    return call


def call_now(
    context: AppContext,
    telephony: Telephony,
    *,
    account_id: str,
    mode: str,
    phone: str | None,
    principal: Principal,
) -> str:
    """Start and place a call on request; returns its call_id.

    Raises Blocked (with the compliance decision), NotFound, Forbidden, InvalidInput, or
    ShuttingDown while the server drains. In agent mode the tele-caller's own phone rings first
    and the borrower is dialled once they answer (click-to-call).
    """
    if context.drain.draining:
        raise ShuttingDown("this server is shutting down and places no new calls; try again")
    now = context.clock.now()
    try:
        with transaction(context.sessions) as session:
            call = start_call(
                session,
                account_id=account_id,
                mode=mode,
                phone=phone,
                principal=principal,
                now=now,
                policy=context.policy,
            )
            agent = session.get(Agent, call.agent_id) if mode == "agent" else None
            ring_first = agent.phone if agent is not None else None
            claimed = Claimed(call.call_id, call.account_id, call.phone or "", now)
    except Blocked as blocked:
        context.metrics.compliance_blocked(r.rule for r in blocked.decision.reasons)
        raise
    place(
        context.sessions,
        telephony,
        claimed,
        clock=context.clock,
        public_base_url=context.settings.public_base_url,
        policy=context.policy,
        zone=ZoneInfo(context.settings.default_timezone),
        ring_first=ring_first,
    )
    return claimed.call_id


def _in_progress(now: datetime, until: datetime, policy: Policy) -> Decision:
    return Decision(
        allowed=False,
        reasons=(Reason("in_progress", "a call to this account is being placed or is live"),),
        next_allowed_at=None,
        at=now,
        zones=policy.fallback_zones,
        callback=False,
        policy=policy.name,
        policy_version=policy.version,
    )
