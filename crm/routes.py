"""CRM API routes: accounts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, status

from crm import service
from crm.models import Role
from crm.schemas import AccountPublic
from duecall.deps import AnyUser, ClockDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/accounts", tags=["accounts"])


@router.get("/{account_id}", response_model=AccountPublic)
def read_account(
    account_id: str,
    session: SessionDep,
    principal: AnyUser,
    clock: ClockDep,
    settings: SettingsDep,
) -> AccountPublic:
    account = service.get_account(session, account_id=account_id)
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no account {account_id!r}")
    # Tele-callers work only the accounts allocated to them (the bank's allocation policy).
    if principal.role is Role.AGENT and account.assigned_agent_id != principal.agent_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this account is not allocated to you")
    today = clock.now().astimezone(ZoneInfo(account.timezone or settings.default_timezone)).date()
    calls = service.recent_calls(session, account_id=account_id)
    return AccountPublic.build(account, calls, today)
