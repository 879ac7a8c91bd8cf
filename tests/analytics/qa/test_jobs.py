"""The QA job on the store: flags stored per call, the sample stored and reproducible."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from analytics.qa.jobs import sample_period
from analytics.qa.models import QaFlag, QaSampleCall
from analytics.qa.sampling import Reason, SamplingPlan
from crm.models import Recording, TranscriptTurn
from duecall.clock import FixedClock
from duecall.context import AppContext
from duecall.settings import Settings
from tests.conftest import NOW, Database
from tests.factories import add_account, add_call, day


def test_the_job_flags_calls_and_samples_recorded_ones(
    db: Database, api_settings: Settings, clock: FixedClock
) -> None:
    with db.session() as session, session.begin():
        add_account(session, "A1")
        for i in range(20):
            call = add_call(session, "A1", call_id=f"C{i:02d}", agent_id="tc1" if i < 15 else "tc2",
                            disposition="PTP" if i % 2 else "RNR",
                            started_at=NOW - timedelta(hours=1, minutes=i))  # fmt: skip
            session.add(Recording(call_id=call.call_id, url="https://x/RE", created_at=NOW))
        add_call(session, "A1", call_id="UNRECORDED", agent_id="tc1", started_at=NOW)
        session.add(
            TranscriptTurn(call_id="C03", seq=0, speaker="agent", text="Pay now, idiot.", at=NOW)
        )
        session.add(TranscriptTurn(call_id="C05", seq=0, speaker="agent", text="Hello", at=NOW))
        session.add(TranscriptTurn(call_id="C05", seq=1, speaker="agent", text="Hi", at=NOW))
        session.add(TranscriptTurn(call_id="C05", seq=2, speaker="borrower", text="no", at=NOW))
        session.add(
            TranscriptTurn(
                call_id="C05",
                seq=3,
                speaker="agent",
                text="This call is recorded, I am calling from Demo Bank.",
                at=NOW,
            )
        )
    context = AppContext.from_settings(api_settings, clock)
    plan = SamplingPlan(rate=0.1, minimum=2, seed=9)
    try:
        sample, draws = sample_period(
            context, start=day("2026-03-02"), end=day("2026-03-02"), plan=plan
        )
        again, redraws = sample_period(
            context, start=day("2026-03-02"), end=day("2026-03-02"), plan=plan
        )
    finally:
        context.close()
    assert draws == redraws and sample.id != again.id
    assert "UNRECORDED" not in {d.call_id for d in draws}
    assert ("C03", Reason.FLAGGED) in {(d.call_id, d.reason) for d in draws}
    base = [d for d in draws if d.reason is Reason.BASE]
    assert sorted({d.agent_id for d in base}) == ["tc1", "tc2"]
    with db.session() as session:
        flags = session.execute(
            select(QaFlag.call_id, QaFlag.flag).order_by(QaFlag.call_id, QaFlag.flag)
        ).all()
        stored = session.scalars(
            select(QaSampleCall.call_id).where(QaSampleCall.sample_id == sample.id)
        ).all()
    assert ("C03", "abusive_language") in [tuple(f) for f in flags]
    # The disclosure came only in the agent's third turn: too late for the opening.
    assert ("C05", "no_recording_disclosure") in [tuple(f) for f in flags]
    # Abuse, no disclosure, no identification, "pay" before RPC: recomputed, not duplicated.
    assert len([f for f in flags if f[0] == "C03"]) == 4
    assert sorted(stored) == sorted(d.call_id for d in draws)


def test_the_cli_draws_a_sample_and_refuses_bad_dates(cli, db: Database) -> None:  # type: ignore[no-untyped-def]
    done = cli(
        "qa", "sample", "--from", "2026-03-01", "--to", "2026-03-02", DUECALL_DATABASE_URL=db.url
    )
    assert done.code == 0, done.err
    assert "0 calls to review" in done.out
    bad = cli("qa", "sample", "--from", "March", "--to", "2026-03-02", DUECALL_DATABASE_URL=db.url)
    assert bad.code == 2 and "--from/--to" in bad.err
    bad = cli("qa", "sample", "--from", "2026-03-01", "--to", "2026-03-02", "--rate", "2",
              DUECALL_DATABASE_URL=db.url)  # fmt: skip
    assert bad.code == 2 and "rate" in bad.err
