"""Starting a call on request (API, call screen): checks, claim, call record; then placing it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from compliance.engine import Decision, Reason
from compliance.policy import Policy
from compliance.screening import decide_for_phone, screen
from crm.models import Account, Agent, Call, Phone, PhoneStatus, Role
from dialer.queue import CLAIM_TTL, new_call_id
from duecall.auth import Principal
from duecall.errors import Forbidden, InvalidInput, NotFound


@dataclass(frozen=True, slots=True)
class Blocked(Exception):
    """The call may not be placed now; the reasons are what the compliance engine said."""

    decision: Decision


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
