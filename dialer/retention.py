"""Retention: recordings and transcripts are erased once their retention period has passed.

DPDP Act 2023 s. 8(7): personal data is erased once the purpose it was collected for is served.
A call's transcript and recording serve quality review, complaints and disputes for the periods
the lender sets (DUECALL_RETENTION_TRANSCRIPT_DAYS, DUECALL_RETENTION_RECORDING_DAYS); after
that they go. What the call decided stays: its disposition, promise, callback, holds and
preferences, its compliance receipt, QA reviews and flags, and the recording access log.

- Transcripts of calls that started before the cutoff: their turns are deleted, and the
  conversation state kept on the call and the TwiML replies kept for retried webhooks (what the
  agent said) are cleared.
- Recordings made before the cutoff: each is deleted at the provider (Twilio keeps the audio
  until asked), then its row and the call's recording link. One the provider could not delete
  stays, to be tried again next run; a link to audio held elsewhere (an imported
  `recording_url`) is cleared, the audio being that system's to erase.

Every purge that writes is recorded in `retention_purges` with its counts; a dry run only counts.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    delete,
    distinct,
    func,
    insert,
    null,
    select,
    update,
)

from crm.models import Call, Recording, RetentionPurge, TranscriptTurn
from dialer.models import WebhookEvent
from dialer.telephony import Telephony
from duecall.db import reading
from duecall.errors import ProviderError

log = logging.getLogger(__name__)

BATCH = 5_000  # calls per transaction: bounded locks and memory on a store of any size
DELETE_WORKERS = 8  # recordings deleted at the provider at once


@dataclass(frozen=True, slots=True)
class Cutoffs:
    transcripts_before: datetime
    recordings_before: datetime


def cutoffs(now: datetime, *, transcript_days: int, recording_days: int) -> Cutoffs:
    """Data of calls older than these instants is past its retention."""
    return Cutoffs(now - timedelta(days=transcript_days), now - timedelta(days=recording_days))


@dataclass(frozen=True, slots=True)
class PurgeReport:
    cutoffs: Cutoffs
    calls_with_transcripts: int
    transcript_turns: int
    recordings: int
    recordings_failed: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would purge" if self.dry_run else "purged"
        failed = f" ({self.recordings_failed} not deleted by the provider)" * bool(
            self.recordings_failed
        )
        return (
            f"{verb} transcripts of {self.calls_with_transcripts} calls "
            f"({self.transcript_turns} turns) started before "
            f"{self.cutoffs.transcripts_before:%Y-%m-%d %H:%M} UTC and {self.recordings} "
            f"recordings made before {self.cutoffs.recordings_before:%Y-%m-%d %H:%M} UTC{failed}"
        )


def count_due(conn: Connection, due: Cutoffs) -> PurgeReport:
    """What a purge at `due` would erase (nothing is written)."""
    before = due.transcripts_before
    turns = conn.execute(
        select(func.count(), func.count(distinct(TranscriptTurn.call_id)))
        .select_from(TranscriptTurn)
        .join(Call, Call.call_id == TranscriptTurn.call_id)
        .where(Call.started_at < before)
    ).one()
    recordings = conn.scalar(
        select(func.count())
        .select_from(Recording)
        .where(Recording.created_at < due.recordings_before)
    )
    links = conn.scalar(select(func.count()).where(_unlinked_audio(due.recordings_before)))
    return PurgeReport(
        due, int(turns[1]), int(turns[0]), int(recordings or 0) + int(links or 0), dry_run=True
    )


def purge(
    engine: Engine,
    telephony: Telephony,
    *,
    now: datetime,
    transcript_days: int,
    recording_days: int,
    trigger: str,
    dry_run: bool = False,
) -> PurgeReport:
    """Erase what is past its retention at `now` (see the module docstring) and record it."""
    due = cutoffs(now, transcript_days=transcript_days, recording_days=recording_days)
    if dry_run:
        with reading(engine) as conn:
            return count_due(conn, due)
    calls, turns = _purge_transcripts(engine, due.transcripts_before)
    deleted, failed = _purge_recordings(engine, telephony, due.recordings_before)
    report = PurgeReport(due, calls, turns, deleted, failed)
    with engine.begin() as conn:
        conn.execute(
            insert(RetentionPurge).values(
                ran_at=now,
                trigger=trigger,
                transcripts_before=due.transcripts_before,
                recordings_before=due.recordings_before,
                calls_with_transcripts=calls,
                transcript_turns=turns,
                recordings=deleted,
                recordings_failed=failed,
            )
        )
    log.info("retention: %s", report.summary())
    return report


def _purge_transcripts(engine: Engine, before: datetime) -> tuple[int, int]:
    """Delete old calls' turns and clear their conversation state, a batch of calls at a time."""
    calls = turns = 0
    while True:
        with engine.begin() as conn:
            batch = list(
                conn.scalars(
                    select(Call.call_id)
                    .where(
                        Call.started_at < before,
                        Call.conversation.is_not(None)
                        | Call.call_id.in_(select(TranscriptTurn.call_id)),
                    )
                    .limit(BATCH)
                )
            )
            if not batch:
                return calls, turns
            calls += (
                conn.scalar(
                    select(func.count(distinct(TranscriptTurn.call_id))).where(
                        TranscriptTurn.call_id.in_(batch)
                    )
                )
                or 0
            )
            turns += conn.execute(
                delete(TranscriptTurn).where(TranscriptTurn.call_id.in_(batch))
            ).rowcount
            conn.execute(update(Call).where(Call.call_id.in_(batch)).values(conversation=null()))
            # The TwiML kept for retried webhooks repeats what the agent told the borrower.
            conn.execute(
                update(WebhookEvent)
                .where(
                    WebhookEvent.response.is_not(None),
                    WebhookEvent.provider_call_sid.in_(
                        select(Call.provider_call_sid).where(
                            Call.call_id.in_(batch), Call.provider_call_sid.is_not(None)
                        )
                    ),
                )
                .values(response=None)
            )


def _purge_recordings(engine: Engine, telephony: Telephony, before: datetime) -> tuple[int, int]:
    """Delete old recordings at the provider, then here; returns (deleted, not deleted)."""
    deleted = failed = 0
    after_id = 0
    while True:
        with reading(engine) as conn:
            rows = conn.execute(
                select(Recording.id, Recording.call_id, Recording.provider_recording_sid)
                .where(Recording.created_at < before, Recording.id > after_id)
                .order_by(Recording.id)
                .limit(BATCH)
            ).all()
        if not rows:
            break
        after_id = rows[-1].id
        with ThreadPoolExecutor(DELETE_WORKERS) as pool:
            erased = list(pool.map(lambda row: _erase(telephony, row.provider_recording_sid), rows))
        gone = [row for row, ok in zip(rows, erased, strict=True) if ok]
        failed += len(rows) - len(gone)
        with engine.begin() as conn:
            conn.execute(delete(Recording).where(Recording.id.in_([r.id for r in gone])))
            conn.execute(
                update(Call)
                .where(Call.call_id.in_([r.call_id for r in gone]))
                .values(recording_url=None)
            )
        deleted += len(gone)
    with engine.begin() as conn:
        # Links to audio held elsewhere (imported calls' recording_url, no provider recording).
        deleted += conn.execute(
            update(Call).where(_unlinked_audio(before)).values(recording_url=None)
        ).rowcount
    return deleted, failed


def _unlinked_audio(before: datetime) -> ColumnElement[bool]:
    """Old calls linking to audio held elsewhere (an imported `recording_url`)."""
    return and_(
        Call.started_at < before,
        Call.recording_url.is_not(None),
        ~Call.call_id.in_(select(Recording.call_id)),
    )


def _erase(telephony: Telephony, provider_recording_sid: str | None) -> bool:
    if provider_recording_sid is None:
        return True  # nothing held at the provider
    try:
        telephony.delete_recording(provider_recording_sid)
    except ProviderError as exc:
        log.warning("retention: recording %s not deleted: %s", provider_recording_sid, exc)
        return False
    return True
