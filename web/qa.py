"""QA screens: the sampled calls, the reviewer's call screen with scorecard, recording playback
through an authenticated proxy, and the agent's own reviews."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from analytics.qa.models import QaFlag, QaReview, QaSampleCall
from analytics.qa.scorecard import DEFAULT
from analytics.qa.service import acknowledge, log_recording_access, save_review
from crm.models import Call, Recording, Role, TranscriptTurn
from dialer.webhooks import TelephonyDep
from duecall.db import transaction
from duecall.deps import ContextDep, SessionDep
from duecall.errors import Forbidden, InvalidInput, NotFound, ProviderError
from web.session import CsrfChecked, ScreenAgent, ScreenForbidden, ScreenQa, ScreenUser
from web.templating import render

router = APIRouter(tags=["screens"], include_in_schema=False)

REVIEW_LIST_SIZE = 200
# Who may hear recordings: QA and managers; tele-callers never (not even their own calls).
LISTENERS = frozenset({Role.QA, Role.SUPERVISOR, Role.ADMIN})
REASONS = ("complaint", "flagged", "outlier", "base")  # review order
_REASON_ORDER = case({r: i for i, r in enumerate(REASONS)}, value=QaSampleCall.reason, else_=9)


@router.get("/qa")
def review_list(request: Request, user: ScreenQa, session: SessionDep) -> Response:
    reviewed = select(QaReview.call_id).scalar_subquery()
    sampled = (
        select(QaSampleCall.call_id, func.min(_REASON_ORDER).label("rank"))
        .group_by(QaSampleCall.call_id)
        .subquery()
    )
    flags = select(func.count()).where(QaFlag.call_id == Call.call_id).scalar_subquery()
    rows = session.execute(
        select(
            Call.call_id,
            Call.agent_id,
            Call.disposition,
            Call.started_at,
            sampled.c.rank,
            flags.label("flags"),
        )
        .join(sampled, sampled.c.call_id == Call.call_id)
        .where(Call.call_id.not_in(reviewed))
        .order_by(sampled.c.rank, Call.agent_id, Call.call_id)
        .limit(REVIEW_LIST_SIZE)
    ).all()
    done = (
        session.execute(select(QaReview).order_by(QaReview.created_at.desc()).limit(20))
        .scalars()
        .all()
    )
    return render(
        request,
        "qa/list.html",
        user,
        rows=rows,
        done=done,
        reasons=REASONS,
        flash=request.query_params.get("flash"),
    )


def _review_page(
    request: Request,
    user: ScreenQa,
    session: Session,
    call_id: str,
    *,
    status_code: int = 200,
    errors: list[str] | None = None,
) -> Response:
    call = session.get(Call, call_id)
    if call is None:
        raise ScreenForbidden(f"no call {call_id}")
    turns = session.scalars(
        select(TranscriptTurn).where(TranscriptTurn.call_id == call_id).order_by(TranscriptTurn.seq)
    ).all()
    flags = session.scalars(
        select(QaFlag).where(QaFlag.call_id == call_id).order_by(QaFlag.id)
    ).all()
    recordings = session.scalars(
        select(Recording).where(Recording.call_id == call_id).order_by(Recording.id)
    ).all()
    reviews = session.scalars(
        select(QaReview).where(QaReview.call_id == call_id).order_by(QaReview.created_at)
    ).all()
    return render(
        request,
        "qa/review.html",
        user,
        status_code=status_code,
        call=call,
        turns=turns,
        flags=flags,
        recordings=recordings,
        reviews=reviews,
        card=DEFAULT,
        errors=errors or [],
    )


@router.get("/qa/calls/{call_id}")
def review_page(call_id: str, request: Request, user: ScreenQa, session: SessionDep) -> Response:
    return _review_page(request, user, session, call_id)


@router.post("/qa/calls/{call_id}/review", dependencies=[CsrfChecked])
async def submit_review(
    call_id: str, request: Request, user: ScreenQa, context: ContextDep
) -> Response:
    form = await request.form()
    answers: dict[str, bool] = {}
    for item in DEFAULT.items:
        value = form.get(f"item_{item.key}")
        if value in ("yes", "no"):
            answers[item.key] = value == "yes"
    comments = form.get("comments")
    text = comments if isinstance(comments, str) else ""
    from anyio import to_thread

    def store() -> Response:
        try:
            with transaction(context.sessions) as session:
                save_review(
                    session,
                    call_id=call_id,
                    reviewer=user,
                    answers=answers,
                    comments=text[:4000],
                    now=context.clock.now(),
                )
        except InvalidInput as exc:
            with context.sessions() as session:
                return _review_page(
                    request,
                    user,
                    session,
                    call_id,
                    status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                    errors=[str(exc)],
                )
        except NotFound as exc:
            raise ScreenForbidden(str(exc)) from None
        return RedirectResponse(f"/qa?flash=Review+of+{call_id}+saved", status.HTTP_303_SEE_OTHER)

    return await to_thread.run_sync(store)


@router.get("/recordings/{recording_id}")
def recording_audio(
    recording_id: int, user: ScreenUser, context: ContextDep, telephony: TelephonyDep
) -> Response:
    """The recording's audio, fetched server-side with the provider's credentials; audited."""
    now = context.clock.now()
    with transaction(context.sessions) as session:
        recording = session.get(Recording, recording_id)
        call_id = recording.call_id if recording else None
        outcome = "served"
        if user.role not in LISTENERS:
            outcome = "refused"
        elif recording is None:
            outcome = "not_found"
        log_recording_access(
            session,
            user=user,
            outcome=outcome,
            now=now,
            recording_id=recording.id if recording else None,
            call_id=call_id,
        )
        url = recording.url if recording else None
    if outcome == "refused":
        raise ScreenForbidden("recordings are for QA reviewers and supervisors")
    if url is None:
        return Response("no such recording", status.HTTP_404_NOT_FOUND)
    try:
        audio = telephony.fetch_recording(url)
    except ProviderError as exc:
        with transaction(context.sessions) as session:
            log_recording_access(
                session,
                user=user,
                outcome="provider_error",
                now=now,
                recording_id=recording_id,
                call_id=call_id,
            )
        return Response(str(exc), status.HTTP_502_BAD_GATEWAY)
    media_type = "audio/mpeg" if audio[:3] == b"ID3" or audio[:2] == b"\xff\xfb" else "audio/wav"
    return Response(audio, media_type=media_type, headers={"Cache-Control": "private, no-store"})


@router.get("/my/reviews")
def my_reviews(request: Request, user: ScreenAgent, session: SessionDep) -> Response:
    reviews = session.scalars(
        select(QaReview)
        .where(QaReview.agent_id == user.agent_id)
        .order_by(QaReview.created_at.desc())
        .limit(REVIEW_LIST_SIZE)
    ).all()
    return render(request, "qa/mine.html", user, reviews=reviews, card=DEFAULT)


@router.post("/my/reviews/{review_id}/ack", dependencies=[CsrfChecked])
def acknowledge_review(review_id: int, user: ScreenAgent, context: ContextDep) -> Response:
    try:
        with transaction(context.sessions) as session:
            acknowledge(session, review_id=review_id, agent=user, now=context.clock.now())
    except (Forbidden, NotFound):
        raise ScreenForbidden("this review is not of your call") from None
    return RedirectResponse("/my/reviews", status.HTTP_303_SEE_OTHER)
