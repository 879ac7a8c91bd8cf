"""Every CRM model stores and reads back what it is given, on every backend."""

from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from crm.buckets import Bucket
from crm.dispositions import DISPOSITIONS
from crm.models import (
    Account,
    AccountFlag,
    AccountFlagCode,
    Agency,
    Agent,
    AgentKind,
    Call,
    ContactPreference,
    Disposition,
    Hold,
    Payment,
    Phone,
    PhoneStatus,
    Promise,
    PromiseStatus,
    Recording,
    Role,
    Snapshot,
    Speaker,
    TranscriptTurn,
    User,
)
from tests.conftest import NOW
from tests.factories import add_account, add_call, day


def test_account_with_everything_round_trips(session: Session) -> None:
    session.add(Agency(agency_id="AG01", name="Recoveries Ltd"))
    session.flush()
    session.add(Agent(agent_id="IVR", name="another bot", kind=AgentKind.BOT, agency_id="AG01"))
    add_account(
        session,
        "A1",
        dpd=95,
        agency_id="AG01",
        assigned_agent_id="TC001",
        npa_since=day("2026-02-26"),
        timezone="Asia/Calcutta",
        language="hi",
        phones=("+919812345678", "+919812345679"),
    )
    session.add(AccountFlag(account_id="A1", flag=AccountFlagCode.DISPUTE))
    session.add(Hold(account_id="A1", kind="bereavement", until=day("2026-03-20"), created_at=NOW))
    session.add(
        ContactPreference(
            account_id="A1", kind="avoid", phone=None, days=["mon", "tue"],
            start=time(9), end=time(18), created_at=NOW,
        )
    )  # fmt: skip
    session.commit()
    session.expunge_all()

    stored = session.get(Account, "A1")
    assert stored is not None
    assert stored.bucket is Bucket.NPA
    assert stored.overdue_amount == Decimal("5000.00")
    assert [(p.number, p.status) for p in stored.phones] == [
        ("+919812345678", PhoneStatus.OK),
        ("+919812345679", PhoneStatus.OK),
    ]
    assert [f.flag for f in stored.flags] == [AccountFlagCode.DISPUTE]
    assert stored.holds[0].until == day("2026-03-20")
    assert stored.preferences[0].days == ["mon", "tue"]
    assert (stored.preferences[0].start, stored.preferences[0].end) == (time(9), time(18))
    assert stored.borrower.name == "Priya Sharma"
    assert stored.timezone == "Asia/Calcutta"
    assert session.get(Agent, "IVR").kind is AgentKind.BOT  # type: ignore[union-attr]
    assert session.get(Agent, "BOT").kind is AgentKind.BOT  # type: ignore[union-attr]  # seeded


def test_money_is_exact(session: Session) -> None:
    add_account(session, "A1", overdue_amount=Decimal("0.10"), emi_amount=Decimal("0.20"))
    session.add(
        Payment(account_id="A1", paid_at=day("2026-03-01"), amount=Decimal("12345678901.99"))
    )
    session.commit()
    session.expunge_all()
    account = session.get(Account, "A1")
    assert account is not None
    assert account.overdue_amount + account.emi_amount == Decimal("0.30")  # type: ignore[operator]
    assert session.scalar(select(Payment.amount)) == Decimal("12345678901.99")


def test_instants_come_back_in_utc(session: Session) -> None:
    add_account(session, "A1")
    ist = timezone(timedelta(hours=5, minutes=30))
    add_call(session, "A1", call_id="C1", started_at=datetime(2026, 3, 2, 10, 15, tzinfo=ist))
    session.commit()
    session.expunge_all()
    call = session.get(Call, "C1")
    assert call is not None
    assert call.started_at == datetime(2026, 3, 2, 4, 45, tzinfo=UTC)
    assert call.started_at.tzinfo is UTC


def test_naive_instants_are_refused(session: Session) -> None:
    add_account(session, "A1")
    with pytest.raises(StatementError, match="naive datetime"):
        add_call(session, "A1", started_at=datetime(2026, 3, 2, 10, 15))


def test_call_with_transcript_recording_and_promise(session: Session) -> None:
    add_account(session, "A1")
    call = add_call(
        session, "A1", call_id="C1", disposition="PTP", provider_call_sid="CA123",
        compliance_receipt={"policy": "rbi", "rules": ["window"]},
    )  # fmt: skip
    session.add_all(
        [
            TranscriptTurn(call_id="C1", seq=1, speaker=Speaker.AGENT, text="Hello", at=NOW),
            TranscriptTurn(call_id="C1", seq=2, speaker=Speaker.BORROWER, text="Haan", confidence=0.91, at=NOW),
            Recording(call_id="C1", provider_recording_sid="RE1", url="https://example/RE1", duration_s=62, created_at=NOW),
            Promise(
                account_id="A1", call_id="C1", amount=Decimal("5000"),
                promised_on=day("2026-03-02"), promised_date=day("2026-03-05"), created_at=NOW,
            ),
        ]
    )  # fmt: skip
    session.commit()
    session.expunge_all()
    stored = session.get(Call, call.call_id)
    assert stored is not None
    assert [(t.seq, t.speaker, t.text) for t in stored.turns] == [
        (1, Speaker.AGENT, "Hello"),
        (2, Speaker.BORROWER, "Haan"),
    ]
    assert stored.recordings[0].duration_s == 62
    assert stored.compliance_receipt == {"policy": "rbi", "rules": ["window"]}
    promise = session.scalar(select(Promise))
    assert promise is not None
    assert (promise.amount, promise.status) == (Decimal("5000.00"), PromiseStatus.PENDING)


def test_snapshots_and_users(session: Session) -> None:
    add_account(session, "A1")
    session.add(Snapshot(account_id="A1", as_of=day("2026-01-31"), dpd=40, bucket=Bucket.SMA_1))
    session.add(User(name="asha", role=Role.QA, token_hash="0" * 64, created_at=NOW))
    session.commit()
    assert session.scalar(select(Snapshot.bucket)) is Bucket.SMA_1
    assert session.scalar(select(User.role)) is Role.QA


def test_dispositions_are_seeded_as_spec_says(session: Session) -> None:
    stored = {
        (d.code, d.meaning, d.is_contact, d.is_rpc) for d in session.scalars(select(Disposition))
    }
    assert stored == {(d.code, d.meaning, d.is_contact, d.is_rpc) for d in DISPOSITIONS}
    assert len(stored) == 16


@pytest.mark.parametrize(
    "bad",
    [
        lambda s: add_account(s, "A2", dpd=-1),
        lambda s: add_account(s, "A3", overdue_amount=Decimal("-1")),
        lambda s: s.add(Payment(account_id="A1", paid_at=day("2026-03-01"), amount=Decimal("0"))),
        lambda s: s.add(Phone(account_id="A1", number="+919812345678")),  # already on A1
        lambda s: s.add(Call(call_id="X", account_id="nope", started_at=NOW)),  # unknown account
        lambda s: add_call(s, "A1", disposition="MAYBE"),  # not a disposition code
    ],
)
def test_constraints_hold(session: Session, bad) -> None:  # type: ignore[no-untyped-def]
    add_account(session, "A1")
    session.commit()
    with pytest.raises(IntegrityError):
        bad(session)
        session.flush()
    session.rollback()


def test_enum_columns_refuse_unknown_values(session: Session) -> None:
    add_account(session, "A1")
    session.commit()
    with pytest.raises(StatementError, match="not among the defined enum values"):
        session.add(AccountFlag(account_id="A1", flag="vip"))  # type: ignore[arg-type]
        session.flush()
