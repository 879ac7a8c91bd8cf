"""The tele-caller's screens: my queue, the account screen, click-to-call, the disposition, and
the call screen's assistant (suggestions, a summary proposing the disposition)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.screening import screen
from crm import service
from crm.dispositions import DISPOSITIONS
from crm.models import Account, Agent, Call, Promise, Role
from crm.outcomes import Outcome, promise_problems, record_outcome
from dialer.service import Blocked, call_now
from dialer.webhooks import TelephonyDep
from duecall.auth import Principal
from duecall.context import AppContext
from duecall.db import read_session, transaction
from duecall.deps import ContextDep, SessionDep
from duecall.errors import Forbidden, InvalidInput
from web.assist import (
    Suggestion,
    call_view,
    keep_proposal,
    propose,
    settle_summary,
    suggest,
)
from web.models import CallSummary
from web.queue import QueueRow, Status, attempts_today, my_queue, next_account
from web.scripts import Script, script_for
from web.session import CsrfChecked, ScreenAgent, ScreenForbidden, screen_role
from web.templating import render

router = APIRouter(tags=["screens"], include_in_schema=False)

# Supervisors and admins may look at any account and call; tele-callers only at their own.
AccountViewer = Annotated[Principal, Depends(screen_role(Role.AGENT, Role.SUPERVISOR, Role.ADMIN))]


def _zone(account: Account, context: AppContext) -> ZoneInfo:
    return ZoneInfo(account.timezone or context.settings.default_timezone)


def _allowed_account(session: Session, user: Principal, account_id: str) -> Account:
    account = service.get_account(session, account_id=account_id)
    # Tele-callers work only the accounts allocated to them (the bank's allocation policy).
    if account is None or (user.role is Role.AGENT and account.assigned_agent_id != user.agent_id):
        # The same answer for "not yours" and "does not exist": ids are not to be probed.
        raise ScreenForbidden("this account is not allocated to you")
    return account


def _status(session: Session, context: AppContext, account: Account) -> Status:
    decision = screen(
        session.connection(), [account.account_id], at=context.clock.now(), policy=context.policy
    )[account.account_id].decision
    return Status.of(decision, _zone(account, context))


def _banner(session: Session, context: AppContext, account: Account) -> dict[str, Any]:
    zone = _zone(account, context)
    state = _status(session, context, account)
    window = context.policy.window(overdue=account.dpd >= 1, callback=False)
    return {
        "allowed": state.allowed,
        "summary": state.summary,
        "reasons": list(state.reasons),
        "until": state.until.isoformat() if state.until else None,
        "window": f"{window} {zone.key}",
        "local_time": f"{context.clock.now().astimezone(zone):%H:%M}",
        "attempts_today": attempts_today(
            session, account_id=account.account_id, now=context.clock.now(), zone=zone
        ),
        "daily_attempts": context.policy.daily_attempts,
    }


def _rupees(value: Decimal | None) -> str:
    return "—" if value is None else f"₹{value:,.2f}"


def _queue_of(user: Principal, context: AppContext, session: Session) -> list[QueueRow]:
    assert user.agent_id is not None
    return my_queue(
        session,
        agent_id=user.agent_id,
        now=context.clock.now(),
        policy=context.policy,
        zone=ZoneInfo(context.settings.default_timezone),
    )


@router.get("/queue")
def queue_page(
    request: Request, user: ScreenAgent, context: ContextDep, session: SessionDep
) -> Response:
    rows = _queue_of(user, context, session)
    return render(
        request,
        "caller/queue.html",
        user,
        rows=rows,
        rupees=_rupees,
        flash=request.query_params.get("flash"),
    )


@router.get("/next")
def next_page(
    user: ScreenAgent, context: ContextDep, session: SessionDep, after: str | None = None
) -> Response:
    rows = _queue_of(user, context, session)
    target = next_account(rows, after)
    if target is None:
        return RedirectResponse(
            "/queue?flash=No+account+can+be+called+now", status.HTTP_303_SEE_OTHER
        )
    return RedirectResponse(f"/accounts/{target}", status.HTTP_303_SEE_OTHER)


def _script(
    session: Session, user: Principal, context: AppContext, account: Account
) -> Script | None:
    """The tele-caller script for the account's stage and language, filled in."""
    agent_name = user.name
    if user.agent_id:
        agent = session.get(Agent, user.agent_id)
        agent_name = agent.name if agent else user.name
    return script_for(
        str(account.bucket),
        account.language,
        borrower=account.borrower.name,
        lender=context.settings.lender_name,
        agent=agent_name,
        overdue=_rupees(account.overdue_amount),
        emi=_rupees(account.emi_amount),
        due_date=f"{account.due_date:%d %b %Y}" if account.due_date else "the due date",
    )


def _account_page(
    request: Request,
    user: Principal,
    context: AppContext,
    session: Session,
    account: Account,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    zone = _zone(account, context)
    calls = service.recent_calls(session, account_id=account.account_id)
    script = _script(session, user, context, account)
    today = context.clock.now().astimezone(zone).date()
    return render(
        request,
        "caller/account.html",
        user,
        status_code=status_code,
        account=account,
        calls=calls,
        banner=_banner(session, context, account),
        script=script,
        zone=zone,
        today=today,
        error=error,
        rupees=_rupees,
        active_holds=[
            h
            for h in account.holds
            if h.released_at is None and (h.until is None or h.until >= today)
        ],
    )


@router.get("/accounts/{account_id}")
def account_page(
    account_id: str, request: Request, user: AccountViewer, context: ContextDep, session: SessionDep
) -> Response:
    account = _allowed_account(session, user, account_id)
    return _account_page(request, user, context, session, account)


@router.get("/accounts/{account_id}/compliance")
def account_compliance(
    account_id: str, user: AccountViewer, context: ContextDep, session: SessionDep
) -> JSONResponse:
    """The live compliance banner's data (the account screen refreshes it)."""
    account = _allowed_account(session, user, account_id)
    return JSONResponse(_banner(session, context, account))


@router.post("/accounts/{account_id}/call", dependencies=[CsrfChecked])
def click_to_call(
    account_id: str,
    request: Request,
    user: ScreenAgent,
    context: ContextDep,
    telephony: TelephonyDep,
    phone: Annotated[str, Form()] = "",
) -> Response:
    """Ring the tele-caller's phone, then bridge the borrower (refused when compliance blocks)."""
    with context.sessions() as session:
        _allowed_account(session, user, account_id)
    try:
        call_id = call_now(
            context,
            telephony,
            account_id=account_id,
            mode="agent",
            phone=phone or None,
            principal=user,
        )
    except Blocked as blocked:
        reasons = "; ".join(f"{r.rule}: {r.detail}" for r in blocked.decision.reasons)
        with context.sessions() as session:
            account = _allowed_account(session, user, account_id)
            return _account_page(
                request,
                user,
                context,
                session,
                account,
                status_code=status.HTTP_409_CONFLICT,
                error=f"Call refused by compliance — {reasons}",
            )
    except (InvalidInput, Forbidden) as exc:
        with context.sessions() as session:
            account = _allowed_account(session, user, account_id)
            return _account_page(
                request,
                user,
                context,
                session,
                account,
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                error=f"Call not placed — {exc}",
            )
    return RedirectResponse(f"/calls/{call_id}", status.HTTP_303_SEE_OTHER)


def _own_call(session: Session, user: Principal, call_id: str) -> Call:
    call = session.get(Call, call_id)
    if call is None or (user.role is Role.AGENT and call.agent_id != user.agent_id):
        raise ScreenForbidden("this call is not yours")
    return call


def _call_page(
    request: Request,
    user: Principal,
    context: AppContext,
    session: Session,
    call: Call,
    *,
    status_code: int = 200,
    errors: list[str] | None = None,
    form: dict[str, str] | None = None,
    suggestion: Suggestion | None = None,
) -> Response:
    account = _allowed_account(session, user, call.account_id)
    zone = _zone(account, context)
    promise = session.scalar(select(Promise).where(Promise.call_id == call.call_id))
    proposal = session.get(CallSummary, call.call_id)
    return render(
        request,
        "caller/call.html",
        user,
        status_code=status_code,
        call=call,
        account=account,
        promise=promise,
        zone=zone,
        dispositions=DISPOSITIONS,
        errors=errors or [],
        form=form or {},
        rupees=_rupees,
        horizon=context.policy.promise_horizon(account.bucket),
        today=context.clock.now().astimezone(zone).date(),
        saved=request.query_params.get("saved") == "1",
        suggestion=suggestion,
        proposal=proposal,
        proposal_form=_proposal_form(proposal, zone),
        no_proposal=request.query_params.get("summary") == "none",
    )


def _proposal_form(proposal: CallSummary | None, zone: ZoneInfo) -> dict[str, str]:
    """The disposition form filled in with a proposal not yet decided on."""
    if proposal is None or proposal.decision is not None:
        return {}
    return {
        "disposition": proposal.disposition,
        "ptp_amount": "" if proposal.ptp_amount is None else f"{proposal.ptp_amount:.2f}",
        "ptp_date": proposal.ptp_date.isoformat() if proposal.ptp_date else "",
        "callback_at": proposal.callback_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        if proposal.callback_at
        else "",
        "note": proposal.summary,
    }


@router.post("/calls/{call_id}/suggestions", dependencies=[CsrfChecked])
def call_suggestions(
    call_id: str,
    request: Request,
    user: AccountViewer,
    context: ContextDep,
    heard: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """What to say next to what the borrower just said (typed by the tele-caller)."""
    with read_session(context.sessions) as session:
        call = _own_call(session, user, call_id)
        account = _allowed_account(session, user, call.account_id)
        view = call_view(context, session, call, _script(session, user, context, account))
    suggestion = suggest(context, view, heard.strip())  # no store held while the model thinks
    with context.sessions() as session:
        call = _own_call(session, user, call_id)
        return _call_page(request, user, context, session, call, suggestion=suggestion)


@router.post("/calls/{call_id}/summary", dependencies=[CsrfChecked])
def call_summary(
    call_id: str,
    user: AccountViewer,
    context: ContextDep,
    notes: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Summarise the call and propose its disposition, for the tele-caller to confirm or correct."""
    with read_session(context.sessions) as session:
        call = _own_call(session, user, call_id)
        account = _allowed_account(session, user, call.account_id)
        view = call_view(context, session, call, _script(session, user, context, account))
    proposal = propose(context, view, notes)
    if proposal is None:
        return RedirectResponse(f"/calls/{call_id}?summary=none", status.HTTP_303_SEE_OTHER)
    with transaction(context.sessions) as session:
        keep_proposal(session, call_id, proposal, notes, now=context.clock.now())
    return RedirectResponse(f"/calls/{call_id}#proposal", status.HTTP_303_SEE_OTHER)


@router.get("/calls/{call_id}")
def call_page(
    call_id: str, request: Request, user: AccountViewer, context: ContextDep, session: SessionDep
) -> Response:
    return _call_page(request, user, context, session, _own_call(session, user, call_id))


def parse_disposition_form(
    form: dict[str, str], *, zone: ZoneInfo, now: datetime
) -> tuple[Outcome | None, list[str]]:
    """The outcome a disposition form describes, or what is wrong with it (field: problem)."""
    problems: list[str] = []
    code = form.get("disposition", "").upper()
    if code not in {d.code for d in DISPOSITIONS}:
        return None, ["disposition: choose one"]
    amount: Decimal | None = None
    when: date | None = None
    callback_at: datetime | None = None
    if code == "PTP":
        try:
            amount = Decimal(form.get("ptp_amount", "").replace(",", "").strip())
            if not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.append("ptp_amount: enter the promised amount in rupees")
        try:
            when = date.fromisoformat(form.get("ptp_date", ""))
        except ValueError:
            problems.append("ptp_date: enter the date promised")
    if code == "CALLBACK" or form.get("callback_at"):
        try:
            local = datetime.fromisoformat(form.get("callback_at", ""))
            callback_at = local if local.tzinfo else local.replace(tzinfo=zone)
            if callback_at <= now:
                problems.append("callback_at: the callback time has passed")
        except ValueError:
            problems.append("callback_at: enter the date and time the borrower asked for")
    if problems:
        return None, problems
    note = form.get("note", "").strip() or None
    return Outcome(code, ptp_amount=amount, ptp_date=when, callback_at=callback_at, note=note), []


@router.post("/calls/{call_id}/disposition", dependencies=[CsrfChecked])
def save_disposition(
    call_id: str,
    request: Request,
    user: AccountViewer,
    context: ContextDep,
    disposition: Annotated[str, Form()] = "",
    ptp_amount: Annotated[str, Form(max_length=32)] = "",
    ptp_date: Annotated[str, Form(max_length=32)] = "",
    callback_at: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record the call's outcome; a bad PTP or callback re-shows the form with what is wrong."""
    form = {
        "disposition": disposition,
        "ptp_amount": ptp_amount,
        "ptp_date": ptp_date,
        "callback_at": callback_at,
        "note": note,
    }
    now = context.clock.now()
    with context.sessions() as session:
        call = _own_call(session, user, call_id)
        account = _allowed_account(session, user, call.account_id)
        zone = _zone(account, context)
        today = now.astimezone(zone).date()
        outcome, problems = parse_disposition_form(form, zone=zone, now=now)
        if outcome is not None and outcome.disposition == "PTP":
            problems = [
                f"ptp: {p}"
                for p in promise_problems(
                    account,
                    outcome.ptp_amount,
                    outcome.ptp_date,
                    today=today,
                    policy=context.policy,
                )
            ]
        if outcome is None or problems:
            return _call_page(
                request,
                user,
                context,
                session,
                call,
                status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                errors=problems,
                form=form,
            )
    with transaction(context.sessions) as session:
        call = _own_call(session, user, call_id)
        record_outcome(session, call, outcome, now=now, today=today, policy=context.policy)
        settle_summary(session, call_id, outcome, by=user.name, now=now)
    return RedirectResponse(f"/calls/{call_id}?saved=1", status.HTTP_303_SEE_OTHER)
