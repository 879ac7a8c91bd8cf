"""Retention (DPDP Act 2023): transcripts and recordings past their period are erased, at the
provider too, nightly or with `duecall purge`; what the calls decided stays, and every purge is
recorded with its counts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from analytics.qa.models import QaFlag
from crm.models import (
    Call,
    ContactPreference,
    Hold,
    Promise,
    Recording,
    RetentionPurge,
    TranscriptTurn,
)
from dialer.jobs import nightly_purge, purge_expired
from dialer.models import WebhookEvent
from dialer.telephony import FakeTelephony
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.errors import ProviderError
from duecall.settings import Settings
from tests.conftest import NOW, Database
from tests.factories import add_account, add_call

TRANSCRIPT_DAYS, RECORDING_DAYS = 30, 10
RECEIPT = {"policy": "rbi", "version": "2026-01", "allowed": True}


@dataclass(frozen=True)
class Known:
    """A call of each age, with what the store keeps about it."""

    old: str = "OLD"  # 40 days: transcript and recording past their periods
    mid: str = "MID"  # 20 days: only the recording is past its period
    new: str = "NEW"  # 2 days: nothing is
    imported: str = "IMP"  # 50 days, imported with a link to audio held elsewhere


def recording_sid(call_id: str) -> str:
    return "RE" + call_id.lower().ljust(32, "0").encode().hex()[:32]


@pytest.fixture
def known(db: Database) -> Known:
    calls = Known()
    with db.session() as session, session.begin():
        add_account(session, "A1")
        for call_id, days in ((calls.old, 40), (calls.mid, 20), (calls.new, 2)):
            at = NOW - timedelta(days=days)
            add_call(
                session, "A1", call_id=call_id, started_at=at, disposition="PTP",
                status="completed", provider_call_sid="CA" + recording_sid(call_id)[2:],
                compliance_receipt=RECEIPT, conversation={"state": {"step": "close"}},
                recording_url=f"https://api.twilio.test/Recordings/{recording_sid(call_id)}",
                source="dialer",
            )  # fmt: skip
            for seq, text in enumerate(("Am I speaking with Priya Sharma?", "Yes, speaking.")):
                speaker = "agent" if seq % 2 == 0 else "borrower"
                session.add(
                    TranscriptTurn(call_id=call_id, seq=seq, speaker=speaker, text=text, at=at)
                )
            session.add(
                Recording(
                    call_id=call_id, provider_recording_sid=recording_sid(call_id),
                    url=f"https://api.twilio.test/Recordings/{recording_sid(call_id)}",
                    duration_s=60, created_at=at + timedelta(minutes=2),
                )
            )  # fmt: skip
            session.add(
                WebhookEvent(
                    provider_call_sid="CA" + recording_sid(call_id)[2:], kind="voice", key="1",
                    received_at=at, response="<Response><Say>Priya Sharma, you owe</Say></Response>",
                )
            )  # fmt: skip
            session.add(
                Promise(
                    account_id="A1", call_id=call_id, amount=Decimal("5000"),
                    promised_on=at.date(), promised_date=at.date() + timedelta(days=3),
                    created_at=at,
                )
            )  # fmt: skip
            session.add(
                Hold(account_id="A1", kind="dispute", call_id=call_id, created_at=at, until=None)
            )
            session.add(
                ContactPreference(account_id="A1", days=["sun"], call_id=call_id, created_at=at)
            )
            session.add(
                QaFlag(call_id=call_id, flag="debt_before_rpc", detail="“you owe”", raised_at=at)
            )
        add_call(
            session, "A1", call_id=calls.imported, started_at=NOW - timedelta(days=50),
            disposition="RNR", recording_url="https://recorder.bank.example/r/1.wav",
        )  # fmt: skip
    return calls


@pytest.fixture
def context(api_settings: Settings, clock: FixedClock) -> Iterator[AppContext]:
    settings = api_settings.model_copy(
        update={
            "retention_transcript_days": TRANSCRIPT_DAYS,
            "retention_recording_days": RECORDING_DAYS,
        }
    )
    context = AppContext.from_settings(settings, clock)
    yield context
    context.close()


def snapshot(db: Database) -> dict[str, object]:
    with db.session() as session:
        calls = session.scalars(select(Call).order_by(Call.call_id)).all()
        return {
            "turns": sorted(
                session.execute(select(TranscriptTurn.call_id, TranscriptTurn.seq)).all()
            ),
            "recordings": sorted(session.scalars(select(Recording.call_id))),
            "links": {c.call_id: c.recording_url for c in calls},
            "conversations": {c.call_id: c.conversation for c in calls},
            "twiml": dict(
                session.execute(select(WebhookEvent.provider_call_sid, WebhookEvent.response)).all()
            ),
            "decided": {c.call_id: (c.disposition, c.compliance_receipt) for c in calls},
            "promises": session.scalar(select(func.count()).select_from(Promise)),
            "holds": session.scalar(select(func.count()).select_from(Hold)),
            "preferences": session.scalar(select(func.count()).select_from(ContactPreference)),
            "qa_flags": session.scalar(select(func.count()).select_from(QaFlag)),
        }


def test_a_purge_erases_what_is_past_its_period_and_keeps_what_was_decided(
    context: AppContext, db: Database, known: Known
) -> None:
    before = snapshot(db)
    provider = FakeTelephony()
    report = purge_expired(context, provider, trigger="cli")
    after = snapshot(db)

    assert after["turns"] == [(c, s) for c in (known.mid, known.new) for s in (0, 1)]
    assert after["conversations"] == {
        **before["conversations"],  # type: ignore[dict-item]
        known.old: None,
    }
    assert (
        [sid for sid, twiml in after["twiml"].items() if twiml is None]
        == [  # type: ignore[attr-defined]
            "CA" + recording_sid(known.old)[2:]
        ]
    )
    assert after["recordings"] == [known.new]
    assert sorted(provider.deleted_recordings) == sorted(
        [recording_sid(known.old), recording_sid(known.mid)]
    )
    assert {c for c, url in after["links"].items() if url} == {known.new}  # type: ignore[attr-defined]
    for kept in ("decided", "promises", "holds", "preferences", "qa_flags"):
        assert after[kept] == before[kept], kept

    assert (report.calls_with_transcripts, report.transcript_turns) == (1, 2)
    assert (report.recordings, report.recordings_failed) == (3, 0)  # two at Twilio, one link
    assert report.cutoffs.transcripts_before == NOW - timedelta(days=TRANSCRIPT_DAYS)
    with db.session() as session:
        audit = session.scalars(select(RetentionPurge)).one()
    assert (audit.trigger, audit.ran_at) == ("cli", NOW)
    assert (audit.calls_with_transcripts, audit.transcript_turns) == (1, 2)
    assert (audit.recordings, audit.recordings_failed) == (3, 0)
    assert audit.recordings_before == NOW - timedelta(days=RECORDING_DAYS)

    again = purge_expired(context, provider, trigger="cli")
    assert (again.calls_with_transcripts, again.transcript_turns, again.recordings) == (0, 0, 0)


def test_a_dry_run_counts_and_changes_nothing(
    context: AppContext, db: Database, known: Known
) -> None:
    before = snapshot(db)
    provider = FakeTelephony()
    report = purge_expired(context, provider, trigger="cli", dry_run=True)
    assert snapshot(db) == before
    assert provider.deleted_recordings == []
    assert (report.calls_with_transcripts, report.transcript_turns, report.recordings) == (1, 2, 3)
    assert report.summary().startswith("would purge transcripts of 1 calls (2 turns)")
    with db.session() as session:
        assert session.scalars(select(RetentionPurge)).all() == []


def test_a_recording_the_provider_could_not_delete_is_kept_and_tried_again(
    context: AppContext, db: Database, known: Known
) -> None:
    provider = FakeTelephony()
    provider.fail_next_deletions(ProviderError("provider error HTTP 503", retryable=True))
    first = purge_expired(context, provider, trigger="nightly")
    assert (first.recordings, first.recordings_failed) == (2, 1)
    assert "(1 not deleted by the provider)" in first.summary()
    kept = snapshot(db)["recordings"]
    assert len(kept) == 2 and known.new in kept  # type: ignore[arg-type]
    second = purge_expired(context, provider, trigger="nightly")
    assert (second.recordings, second.recordings_failed) == (1, 0)
    assert snapshot(db)["recordings"] == [known.new]


def test_the_nightly_purge_runs_once_per_night_across_replicas(
    context: AppContext, api_settings: Settings, clock: FixedClock, known: Known
) -> None:
    replica = AppContext.from_settings(context.settings, clock)
    try:
        provider = FakeTelephony()
        runs = [nightly_purge(c, provider) for c in (context, replica, context)]
    finally:
        replica.close()
    assert [r is not None for r in runs] == [True, False, False]
    assert len(provider.deleted_recordings) == 2


def test_the_cli_purges_and_reports(db: Database, known: Known, cli) -> None:  # type: ignore[no-untyped-def]
    env = {
        "DUECALL_DATABASE_URL": db.url,
        "DUECALL_CLOCK": NOW.isoformat(),
        "DUECALL_RETENTION_TRANSCRIPT_DAYS": str(TRANSCRIPT_DAYS),
        "DUECALL_RETENTION_RECORDING_DAYS": str(RECORDING_DAYS),
        # A provider that cannot be reached: those recordings wait for the next run.
        "DUECALL_TELEPHONY": "twilio",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "cli-purge-auth-token",
        "TWILIO_FROM_NUMBER": "+918045678901",
        "DUECALL_TWILIO_API_BASE_URL": "http://127.0.0.1:9",
    }
    dry = cli("purge", "--dry-run", **env)
    assert dry.code == 0, dry.err
    assert dry.out.startswith("would purge transcripts of 1 calls (2 turns)")
    done = cli("purge", **env)
    assert done.code == 0, done.err
    assert done.out.startswith("purged transcripts of 1 calls (2 turns)")
    assert "and 1 recordings" in done.out and "(2 not deleted by the provider)" in done.out
    bad = cli("purge", **{**env, "DUECALL_RETENTION_RECORDING_DAYS": "0"})
    assert bad.code == 2 and "DUECALL_RETENTION_RECORDING_DAYS" in bad.err
