"""Conversations through the real webhook path: signed requests as Twilio sends them, TwiML back.

Every branch of the call script, checked for its disposition, promise and effects, and for
what was said: nothing about the debt before the borrower confirmed who they are and passed
verification, and nothing about it ever to a third party or a machine.
"""

from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from twilio.request_validator import RequestValidator

from agent.conversation import Said
from agent.service import TURNS_AT_ONCE, TURNS_AT_ONCE_SQLITE, Turn, take_turn
from compliance.policy import load_policy
from compliance.screening import decide_for_phone
from crm.models import (
    Call,
    ContactPreference,
    Hold,
    Phone,
    PhoneStatus,
    Promise,
    Role,
    TranscriptTurn,
)
from dialer.providers import SIMULATOR_AUTH_TOKEN
from dialer.telephony import FakeTelephony
from duecall.auth import create_user
from duecall.clock import FixedClock
from duecall.settings import Settings
from server import create_app
from tests.conftest import NOW, Database
from tests.factories import add_account

ACCOUNT = "ACC00004242"
PHONE = "+919812345678"
SID = "CA" + "0" * 31 + "1"
# Words that tell a listener there is a debt: never before verification, never to others.
DEBT_WORDS = re.compile(
    r"overdue|rupees|loan|\bpay|instalment|EMI|5,000|बकाया|भुगतान|लोन|रुपये|किस्त", re.IGNORECASE
)


class RecordingTelephony(FakeTelephony):
    """The shipped fake, signing with the embedded simulator's token; redirects of calls it did
    not place (these tests drive the webhooks themselves) are remembered."""

    def __init__(self) -> None:
        super().__init__(auth_token=SIMULATOR_AUTH_TOKEN)
        self.redirects: list[tuple[str, str]] = []

    def redirect_call(self, provider_call_sid: str, url: str) -> None:
        self.redirects.append((provider_call_sid, url))


@dataclass
class Twiml:
    says: list[str]
    listens: bool
    action: str | None
    hangs_up: bool
    dials: str | None
    language: str | None

    @classmethod
    def parse(cls, body: str) -> Twiml:
        root = ET.fromstring(body)
        gather = root.find("Gather")
        dial = root.find("Dial")
        says = [s.text or "" for s in root.iter("Say")]
        language = next((s.get("language") for s in root.iter("Say")), None)
        return cls(
            says=says,
            listens=gather is not None,
            action=None if gather is None else gather.get("action"),
            hangs_up=root.find("Hangup") is not None,
            dials=None if dial is None else (dial.text or "").strip(),
            language=language,
        )

    @property
    def text(self) -> str:
        return " ".join(self.says)


@dataclass
class Line:
    """One call's webhooks, driven as Twilio drives them."""

    http: TestClient
    settings: Settings
    call_id: str
    sid: str = SID
    heard: list[Twiml] = field(default_factory=list)

    def post(self, url: str, params: dict[str, str], *, sign: bool = True) -> Any:
        params = {"CallSid": self.sid, "AccountSid": "AC" + "d0e" * 10 + "ca", **params}
        signature = RequestValidator(SIMULATOR_AUTH_TOKEN).compute_signature(url, params)
        path = url.removeprefix(self.settings.public_base_url)
        headers = {"X-Twilio-Signature": signature} if sign else {}
        return self.http.post(path, data=params, headers=headers)

    def answer(self, **params: str) -> Twiml:
        url = f"{self.settings.public_base_url}/twilio/voice/{self.call_id}"
        return self._heard(self.post(url, {"CallStatus": "in-progress", **params}))

    def say(self, text: str = "", *, confidence: float = 0.92, digits: str | None = None) -> Twiml:
        last = self.heard[-1]
        assert last.listens and last.action, f"the agent is not listening: {last.text}"
        params = {"SpeechResult": text, "Confidence": str(confidence)} if text else {}
        if digits is not None:
            params = {"Digits": digits}
        return self._heard(self.post(last.action, params))

    def _heard(self, response: Any) -> Twiml:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        twiml = Twiml.parse(response.text)
        self.heard.append(twiml)
        return twiml


@pytest.fixture
def settings(api_settings: Settings) -> Settings:
    return api_settings


@pytest.fixture
def telephony() -> RecordingTelephony:
    return RecordingTelephony()


def make_client(
    settings: Settings, telephony: RecordingTelephony, at: datetime = NOW
) -> Iterator[TestClient]:
    with TestClient(create_app(settings, FixedClock(at), telephony=telephony)) as client:
        yield client


@pytest.fixture
def client(settings: Settings, telephony: RecordingTelephony) -> Iterator[TestClient]:
    yield from make_client(settings, telephony)


def new_call(db: Database, *, language: str = "en", dpd: int = 12, **fields: Any) -> str:
    with db.session() as session, session.begin():
        if session.get(Call, "CALL1") is None:
            add_account(
                session, ACCOUNT, dpd=dpd, language=language, phones=(PHONE,),
                due_date=date(2026, 2, 18), **fields,
            )  # fmt: skip
            session.add(
                Call(
                    call_id="CALL1", account_id=ACCOUNT, agent_id="BOT", phone=PHONE, mode="bot",
                    source="dialer", status="ringing", started_at=NOW, provider_call_sid=SID,
                )
            )  # fmt: skip
    return "CALL1"


def line(client: TestClient, settings: Settings, db: Database, **account: Any) -> Line:
    return Line(client, settings, new_call(db, **account))


def converse(line_: Line, *turns: str | tuple[str, float]) -> Twiml:
    """Answer, then say each turn (text, or text and Twilio's confidence)."""
    twiml = line_.answer()
    for turn in turns:
        if isinstance(turn, tuple):
            twiml = line_.say(turn[0], confidence=turn[1])
        else:
            twiml = line_.say(turn)
    return twiml


@dataclass
class Stored:
    call: Call
    turns: list[tuple[str, str]]
    promises: list[Promise]
    holds: list[Hold]
    phone_status: PhoneStatus
    preferences: list[ContactPreference]


def stored(db: Database, call_id: str = "CALL1") -> Stored:
    with db.session() as session:
        call = session.get(Call, call_id)
        assert call is not None
        turns = [(t.speaker.value, t.text) for t in call.turns]
        promises = list(session.scalars(select(Promise)))
        holds = list(session.scalars(select(Hold)))
        phone = session.get(Phone, (ACCOUNT, PHONE))
        assert phone is not None
        preferences = list(session.scalars(select(ContactPreference)))
        session.expunge_all()
        return Stored(call, turns, promises, holds, phone.status, preferences)


def assert_nothing_disclosed(record: Stored) -> None:
    spoken = [text for speaker, text in record.turns if speaker == "agent"]
    leaked = [text for text in spoken if DEBT_WORDS.search(text)]
    assert not leaked, f"debt disclosed: {leaked}"


def assert_disclosed_only_after_verification(record: Stored) -> None:
    """The first line about the debt comes after the borrower's verification answer."""
    first_debt = next(
        (i for i, (who, text) in enumerate(record.turns) if who == "agent" and DEBT_WORDS.search(text)),
        None,
    )  # fmt: skip
    verified = next(
        (i for i, (who, text) in enumerate(record.turns)
         if who == "borrower" and re.sub(r"\D", "", text).endswith("4242")),
        None,
    )  # fmt: skip
    assert first_debt is not None, "the debt was never mentioned"
    assert verified is not None and first_debt > verified, record.turns


# --- the promise ------------------------------------------------------------------------------


def test_a_promise_is_read_back_confirmed_and_recorded(
    client: TestClient, settings: Settings, db: Database
) -> None:
    call = line(client, settings, db)
    first = call.answer()
    assert "Demo Bank" in first.text and "recorded" in first.text
    assert "Am I speaking with Priya Sharma" in first.text
    assert first.listens and first.language == "en-IN"
    assert call.say("yes speaking").text.count("last four digits") == 1
    disclosure = call.say("4242")
    assert "5,000 rupees overdue" in disclosure.text and "18 February" in disclosure.text
    assert "by which date" not in disclosure.text.lower()
    read_back = call.say("I will pay 5000 on the 5th")
    assert read_back.text.startswith("To confirm: you will pay 5,000 rupees by Thursday, 5 March")
    bye = call.say("yes correct")
    assert bye.hangs_up and not bye.listens and "Goodbye" in bye.text

    record = stored(db)
    assert record.call.disposition == "PTP"
    assert [(p.amount, p.promised_date, p.promised_on) for p in record.promises] == [
        (Decimal("5000.00"), date(2026, 3, 5), date(2026, 3, 2))
    ]
    assert record.turns[0][0] == "agent" and ("borrower", "yes speaking") in record.turns
    assert_disclosed_only_after_verification(record)


# --- every branch ---------------------------------------------------------------------------

IST = "+05:30"


@dataclass(frozen=True)
class Case:
    name: str
    turns: tuple[str | tuple[str, float], ...]
    disposition: str
    ptp: tuple[str, str] | None = None  # amount, date
    callback_at: str | None = None  # ISO, local
    hold: str | None = None
    phone_status: PhoneStatus = PhoneStatus.OK
    right_party: bool = True  # the debt may be discussed (after verification)
    says: str | None = None  # in the last TwiML
    language: str = "en"


CASES = [
    Case("promise, keypad identity and digits", ("1", "4 2 4 2", "5000 tomorrow", "haan"),
         "PTP", ptp=("5000.00", "2026-03-03")),
    Case("yes to paying today is the full amount today", ("yes", "4242", "yes I will pay today",
         "yes"), "PTP", ptp=("5000.00", "2026-03-02")),
    Case("after salary: asked for a date, then the amount", ("haan bol rahi hoon", "4242",
         "salary ke baad", "10 tareekh", "full amount", "haan sahi hai"), "PTP",
         ptp=("5000.00", "2026-03-10")),
    Case("a date beyond the horizon is negotiated once", ("yes", "4242", "I will pay on 20 April",
         "ok, 25 March", "3000", "yes"), "PTP", ptp=("3000.00", "2026-03-25")),
    Case("twice beyond the horizon: recorded as said, no promise", ("yes", "4242",
         "I will pay on 20 April", "no, only on 25 April"), "HARDSHIP"),
    Case("more than the total outstanding is negotiated", ("yes", "4242",
         "I will pay 500000 on the 5th", "5000", "yes"), "PTP", ptp=("5000.00", "2026-03-05")),
    Case("a corrected read-back", ("yes", "4242", "5000 on the 5th", "no", "on the 6th",
         "yes"), "PTP", ptp=("5000.00", "2026-03-06")),
    Case("already paid", ("yes", "4242", "I already paid yesterday through UPI"), "PAID",
         says="may take two working days"),
    Case("refusal, negotiated once", ("yes", "4242", "I will not pay", "no, I will not pay"),
         "REFUSED"),
    Case("refusal, then a promise after negotiation", ("yes", "4242", "I will not pay",
         "ok, 2000 on Friday", "yes"), "PTP", ptp=("2000.00", "2026-03-06")),
    Case("hardship", ("yes", "4242", "I lost my job, I cannot pay", "no, not possible"),
         "HARDSHIP"),
    Case("dispute puts a hold", ("yes", "4242", "I dispute this amount, it is wrong"), "DISPUTE",
         hold="dispute"),
    Case("callback with a time", ("yes", "4242", "I am driving, call me back at 6 pm"),
         "CALLBACK", callback_at=f"2026-03-02T18:00:00{IST}"),
    Case("callback, then the time", ("yes", "4242", "call me later", "tomorrow morning"),
         "CALLBACK", callback_at=f"2026-03-03T10:00:00{IST}"),
    Case("a person please, no queue: a callback", ("yes", "4242",
         "I want to talk to a human", "tomorrow at 11 am"), "CALLBACK",
         callback_at=f"2026-03-03T11:00:00{IST}"),
    Case("abuse: one warning, then a close", ("yes", "4242", "shut up you idiot",
         "you idiot"), "ESCALATED"),
    Case("silence after confirmation: re-prompt once, then close", ("yes", "4242", "", ""),
         "DROPPED"),
    Case("low confidence is confirmed before recording", ("yes", "4242",
         ("I already paid", 0.3), "yes"), "PAID"),
    Case("low confidence denied is asked again", ("yes", "4242", ("I already paid", 0.3),
         "no", "5000 tomorrow", "yes"), "PTP", ptp=("5000.00", "2026-03-03")),
    Case("a bereavement in the family: hold, no pressure", ("yes", "4242",
         "my father passed away last week"), "HARDSHIP", hold="bereavement"),
    # Before right-party confirmation: never a word about the debt.
    Case("wrong number", ("wrong number, I don't know any Priya",), "WRONG_NUMBER",
         phone_status=PhoneStatus.WRONG_NUMBER, right_party=False),
    Case("not her, and she does not use this number", ("no", "no"), "WRONG_NUMBER",
         phone_status=PhoneStatus.WRONG_NUMBER, right_party=False),
    Case("not her, but she uses this number: limited message", ("no", "yes she does"),
         "THIRD_PARTY", right_party=False, says="Please ask Priya Sharma to call Demo Bank back"),
    Case("a relative answers", ("main unki wife bol rahi hoon",), "THIRD_PARTY",
         right_party=False),
    Case("the borrower has died", ("she passed away last month",), "DECEASED",
         hold="deceased", right_party=False),
    Case("silence at the identity question", ("", ""), "RNR", right_party=False),
    Case("who is calling: nothing about the debt", ("who is this?", "yes", "4242",
         "5000 tomorrow", "yes"), "PTP", ptp=("5000.00", "2026-03-03")),
    Case("verification fails twice: nothing disclosed", ("yes", "1111", "2222"), "THIRD_PARTY",
         right_party=False, says="could not verify"),
    Case("abuse before confirmation", ("tu pagal hai kya, saala", "chup kar bewakoof"),
         "ESCALATED", right_party=False),
    Case("Hindi: a promise in Devanagari", ("हाँ, मैं बोल रही हूँ", "4242",
         "मैं 5 तारीख को पाँच हज़ार दे दूँगी", "हाँ"), "PTP", ptp=("5000.00", "2026-03-05"),
         language="hi"),
    Case("Hindi: wrong number", ("galat number hai",), "WRONG_NUMBER",
         phone_status=PhoneStatus.WRONG_NUMBER, right_party=False, language="hi"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_branch_records_its_outcome_and_keeps_the_debt_private(
    case: Case, client: TestClient, settings: Settings, db: Database
) -> None:
    call = line(client, settings, db, language=case.language)
    last = call.answer()
    for turn in case.turns:
        if isinstance(turn, tuple):
            last = call.say(turn[0], confidence=turn[1])
        elif turn.replace(" ", "").isdigit() and len(turn) == 1:
            last = call.say(digits=turn)
        else:
            last = call.say(turn)
    assert last.hangs_up and not last.listens, f"still talking: {last.text}"
    if case.says:
        assert case.says in last.text
    if case.language == "hi":
        assert last.language == "hi-IN" and re.search("[\u0900-\u097f]", last.text)

    record = stored(db)
    assert record.call.disposition == case.disposition, record.turns
    promises = [(str(p.amount), p.promised_date.isoformat()) for p in record.promises]
    assert promises == ([case.ptp] if case.ptp else [])
    expected_callback = (
        None if case.callback_at is None else datetime.fromisoformat(case.callback_at)
    )
    assert record.call.callback_at == expected_callback
    assert [h.kind for h in record.holds] == ([case.hold] if case.hold else [])
    assert record.phone_status is case.phone_status
    if case.right_party:
        assert_disclosed_only_after_verification(record)
    else:
        assert_nothing_disclosed(record)
    # Every turn is in the transcript, the borrower's with Twilio's confidence.
    spoken = [t for t in case.turns if (t[0] if isinstance(t, tuple) else t)]
    assert sum(1 for who, _ in record.turns if who == "borrower") == len(spoken)


# --- the webhook's own guarantees --------------------------------------------------------------


def test_a_replayed_turn_gets_the_same_twiml_and_changes_nothing(
    client: TestClient, settings: Settings, db: Database
) -> None:
    call = line(client, settings, db)
    call.answer()
    call.say("yes")
    call.say("4242")
    read_back = call.say("5000 on the 5th")
    action = call.heard[-2].action
    assert action is not None
    # Twilio retries the same request (same turn, same parameters) after a timeout.
    again = call.post(action, {"SpeechResult": "5000 on the 5th", "Confidence": "0.92"})
    assert Twiml.parse(again.text) == read_back
    call.say("yes")
    done = call.heard[-1]
    replay_of_last = call.post(
        call.heard[-2].action or "", {"SpeechResult": "yes", "Confidence": "0.92"}
    )
    assert Twiml.parse(replay_of_last.text) == done

    record = stored(db)
    assert len(record.promises) == 1
    borrower_turns = [text for who, text in record.turns if who == "borrower"]
    assert borrower_turns == ["yes", "4242", "5000 on the 5th", "yes"]


def test_a_retry_racing_the_original_waits_for_it_and_gets_its_twiml(
    client: TestClient, settings: Settings, db: Database
) -> None:
    call = line(client, settings, db)
    call.answer()
    call.say("yes")
    context = client.app.state.context  # type: ignore[attr-defined]
    turn = Turn("CALL1", SID, 2, Said("4242", 0.92))
    answers: list[str] = []
    # Both requests arrive while the call's row is locked (as by a turn in progress); once the
    # lock is released they run one after the other, and the second finds the first's reply.
    blocker = db.engine.connect()
    blocker.begin()  # on SQLite, BEGIN IMMEDIATE: the store's one write lock
    blocker.execute(select(Call.call_id).where(Call.call_id == "CALL1").with_for_update())
    racers = [
        threading.Thread(target=lambda: answers.append(take_turn(context, turn))) for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    time.sleep(0.3)  # both are waiting for the lock (no timing is asserted)
    blocker.rollback()
    blocker.close()
    for racer in racers:
        racer.join(30)
    assert len(answers) == 2 and answers[0] == answers[1]
    borrower_turns = [text for who, text in stored(db).turns if who == "borrower"]
    assert borrower_turns == ["yes", "4242"]


def test_turns_at_once_are_bounded_per_store_whoever_takes_them(
    client: TestClient, settings: Settings, db: Database
) -> None:
    call = line(client, settings, db)
    answered = call.answer()
    context = client.app.state.context  # type: ignore[attr-defined]
    engine = context.engine
    at_once = TURNS_AT_ONCE_SQLITE if engine.dialect.name == "sqlite" else TURNS_AT_ONCE
    lock, open_now, most = threading.Lock(), [0], [0]

    def began(conn: object) -> None:
        with lock:
            open_now[0] += 1
            most[0] = max(most[0], open_now[0])
        time.sleep(0.02)  # long enough for the other threads to get here if nothing stops them

    def ended(conn: object) -> None:
        with lock:
            open_now[0] -= 1

    answers: list[str] = []
    replay = Turn("CALL1", SID, 0, Said(""))  # the answer again: a read-only turn each time
    event.listen(engine, "begin", began)
    event.listen(engine, "commit", ended)
    event.listen(engine, "rollback", ended)
    try:
        threads = [
            threading.Thread(target=lambda: answers.append(take_turn(context, replay)))
            for _ in range(3 * at_once)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        event.remove(engine, "begin", began)
        event.remove(engine, "commit", ended)
        event.remove(engine, "rollback", ended)
    assert [Twiml.parse(a) for a in answers] == [answered] * (3 * at_once)
    assert most[0] <= at_once


def test_unsigned_or_forged_requests_get_403(
    client: TestClient, settings: Settings, db: Database
) -> None:
    call = line(client, settings, db)
    url = f"{settings.public_base_url}/twilio/voice/{call.call_id}"
    assert call.post(url, {"CallStatus": "in-progress"}, sign=False).status_code == 403
    forged = client.post(
        f"/twilio/voice/{call.call_id}",
        data={"CallSid": SID, "CallStatus": "in-progress"},
        headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    )
    assert forged.status_code == 403
    assert stored(db).turns == []


def test_a_machine_answering_hears_only_the_limited_content_message(
    client: TestClient, settings: Settings, db: Database
) -> None:
    call = line(client, settings, db)
    message = call.answer(AnsweredBy="machine_end_beep")
    assert message.hangs_up and "Demo Bank" in message.text and "call us back" in message.text
    record = stored(db)
    assert record.call.disposition == "VOICEMAIL"
    assert_nothing_disclosed(record)


def test_asynchronous_detection_switches_a_live_call_to_the_voicemail_message(
    client: TestClient, settings: Settings, db: Database, telephony: RecordingTelephony
) -> None:
    call = line(client, settings, db)
    call.answer()
    amd = call.post(
        f"{settings.public_base_url}/twilio/amd/{call.call_id}",
        {"AnsweredBy": "machine_end_beep", "MachineDetectionDuration": "4200"},
    )
    assert amd.status_code == 204
    voicemail_url = f"{settings.public_base_url}/twilio/voicemail/{call.call_id}"
    assert telephony.redirects == [(SID, voicemail_url)]
    message = call._heard(call.post(voicemail_url, {"CallStatus": "in-progress"}))
    assert message.hangs_up and "call us back" in message.text
    record = stored(db)
    assert record.call.disposition == "VOICEMAIL" and record.call.answered_by == "machine_end_beep"
    assert_nothing_disclosed(record)


def test_a_person_detected_after_confirmation_is_not_sent_to_voicemail(
    client: TestClient, settings: Settings, db: Database, telephony: RecordingTelephony
) -> None:
    call = line(client, settings, db)
    call.answer()
    call.say("yes")
    call.post(f"{settings.public_base_url}/twilio/amd/{call.call_id}", {"AnsweredBy": "human"})
    assert telephony.redirects == []


def test_the_window_is_checked_again_when_the_call_is_answered(
    settings: Settings, db: Database, telephony: RecordingTelephony
) -> None:
    late = datetime(2026, 3, 2, 13, 31, tzinfo=UTC)  # 19:01 in Mumbai: the RBI window has closed
    for client in make_client(settings, telephony, at=late):
        call = line(client, settings, db)
        goodbye = call.answer()
        assert goodbye.hangs_up and "Am I speaking" not in goodbye.text
        registry = client.app.state.context.metrics.registry  # type: ignore[attr-defined]
        blocked = registry.get_sample_value("duecall_compliance_blocks_total", {"rule": "window"})
        assert blocked == 1
    record = stored(db)
    assert record.call.disposition == "DROPPED"
    assert_nothing_disclosed(record)


def dialed(db: Database, at: datetime = NOW) -> None:
    """CALL1 as the dialer places it: with the receipt of the decision that let it go ahead."""
    with db.session() as session, session.begin():
        call = session.get(Call, "CALL1")
        assert call is not None
        decision = decide_for_phone(
            session.connection(), ACCOUNT, PHONE, at=at, policy=load_policy("rbi"),
            excluding_call="CALL1",  # decided before the call existed
        )  # fmt: skip
        assert decision is not None and decision.allowed and not decision.callback
        call.compliance_receipt = decision.receipt(PHONE)


def test_an_ordinary_dial_is_checked_again_for_the_window_at_answer(
    settings: Settings, db: Database, telephony: RecordingTelephony
) -> None:
    late = datetime(2026, 3, 2, 13, 31, tzinfo=UTC)  # 19:01 in Mumbai: the RBI window has closed
    new_call(db)
    dialed(db)
    for client in make_client(settings, telephony, at=late):
        goodbye = Line(client, settings, "CALL1").answer()
        assert goodbye.hangs_up and "Am I speaking" not in goodbye.text
    record = stored(db)
    assert record.call.disposition == "DROPPED"
    assert_nothing_disclosed(record)


def test_a_hold_placed_while_the_call_rang_closes_it_at_answer(
    client: TestClient, settings: Settings, db: Database
) -> None:
    new_call(db)
    dialed(db)
    with db.session() as session, session.begin():
        session.add(Hold(account_id=ACCOUNT, kind="dispute", created_at=NOW))
    goodbye = Line(client, settings, "CALL1").answer()
    assert goodbye.hangs_up and "Am I speaking" not in goodbye.text
    assert stored(db).call.disposition == "DROPPED"


def test_an_ordinary_dial_answered_in_the_window_goes_on(
    client: TestClient, settings: Settings, db: Database
) -> None:
    new_call(db)
    dialed(db)
    call = Line(client, settings, "CALL1")
    assert "Am I speaking" in call.answer().text
    assert call.say("yes").listens


def test_the_transcript_numbering_goes_on_when_the_state_does_not_carry_it(
    client: TestClient, settings: Settings, db: Database
) -> None:
    call = line(client, settings, db)
    call.answer()
    call.say("yes")
    with db.session() as session, session.begin():
        stored_call = session.get(Call, "CALL1")
        assert stored_call is not None and stored_call.conversation is not None
        # As a state written elsewhere (LLM mode's interruption) leaves it: the state alone.
        stored_call.conversation = {"state": stored_call.conversation["state"]}
    call.say("4242")
    with db.session() as session:
        numbers = list(
            session.scalars(
                select(TranscriptTurn.seq)
                .where(TranscriptTurn.call_id == "CALL1")
                .order_by(TranscriptTurn.id)
            )
        )
    assert numbers == [1, 2, 3, 4, 5]  # greeting, yes, question, 4242, what comes next


def test_a_person_please_is_transferred_when_a_queue_is_configured(
    api_settings: Settings, db: Database, telephony: RecordingTelephony
) -> None:
    settings = api_settings.model_copy(update={"transfer_number": "+912240001234"})
    for client in make_client(settings, telephony):
        call = line(client, settings, db)
        call.answer()
        call.say("yes")
        call.say("4242")
        transfer = call.say("I want to speak to your manager")
        assert transfer.dials == "+912240001234" and "connect you" in transfer.text
    assert stored(db).call.disposition == "ESCALATED"


def test_preferences_are_stored_at_once_and_the_call_goes_on(
    client: TestClient, settings: Settings, db: Database
) -> None:
    call = line(client, settings, db)
    call.answer()
    call.say("yes")
    call.say("4242")
    after = call.say("please don't call me on Sundays")
    assert after.listens and "noted" in after.text
    assert [(p.days, p.phone) for p in stored(db).preferences] == [(["sun"], None)]
    call.say("5000 tomorrow")
    call.say("yes")
    assert stored(db).call.disposition == "PTP"


def test_the_call_api_shows_the_outcome_and_transcript(
    client: TestClient, settings: Settings, db: Database
) -> None:
    call = line(client, settings, db)
    converse(call, "yes", "4242", "5000 on the 5th", "yes")
    with db.session() as session, session.begin():
        _user, token = create_user(session, name="sup", role=Role.SUPERVISOR, now=NOW)
    shown = client.get(f"/api/calls/{call.call_id}", headers={"Authorization": f"Bearer {token}"})
    assert shown.status_code == 200
    body = shown.json()
    assert body["disposition"] == "PTP"
    assert body["ptp"] == {"amount": "5000.00", "date": "2026-03-05"}
    assert body["transcript"][0]["speaker"] == "agent"
    assert {"speaker": "borrower", "text": "5000 on the 5th"} in body["transcript"]
    assert all(set(turn) >= {"speaker", "text"} for turn in body["transcript"])
    assert [who for who, _ in stored(db).turns][:2] == ["agent", "borrower"]
