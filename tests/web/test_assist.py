"""The call screen's assistant: suggestions while on a call, and an after-call summary whose
proposed disposition the tele-caller confirms or corrects; with the script alone, and with the
model (the stand-in over HTTP), whose words pass the guards or are not shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from agent.llm.standin import StandIn, reply, stall, tool
from agent.models import LlmTurn
from crm.models import Call, Promise
from dialer.telephony import FakeTelephony
from duecall.clock import FixedClock
from duecall.settings import Settings
from server import create_app
from tests.conftest import NOW, Database
from tests.factories import add_call
from tests.web.conftest import AGENT, csrf_of, log_in, seed_screens
from web.models import CallSummary

CALL = "C-TC-1"  # a tele-caller's call on A1 (SMA-1, English), nothing recorded yet
HINDI_CALL = "C-TC-2"  # on A2 (SMA-0, Hindi)


def _seed(db: Database) -> None:
    seed_screens(db)
    with db.session() as session, session.begin():
        for call_id, account in ((CALL, "A1"), (HINDI_CALL, "A2")):
            add_call(
                session, account, call_id=call_id, agent_id=AGENT, disposition=None,
                status="completed", mode="agent", source="api", phone="+919812345601",
            )  # fmt: skip


def _client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, FixedClock(NOW), telephony=FakeTelephony())  # type: ignore[arg-type]
    with TestClient(app, follow_redirects=False) as client:
        yield log_in(client, AGENT)


@pytest.fixture
def scripted(db: Database, screen_settings: Settings) -> Iterator[TestClient]:
    _seed(db)
    yield from _client(screen_settings)


@pytest.fixture
def with_model(
    db: Database, screen_settings: Settings, standin_server: tuple[StandIn, str], standin: StandIn
) -> Iterator[TestClient]:
    _seed(db)
    settings = screen_settings.model_copy(
        update={
            "agent_mode": "llm",
            "openai_base_url": standin_server[1],
            "llm_model": "standin-model",
            "llm_budget_s": 0.5,
            "openai_api_key": SecretStr("sk-standin-key"),
        }
    )
    yield from _client(settings)


def suggest(client: TestClient, heard: str, call_id: str = CALL) -> str:
    token = csrf_of(client.get(f"/calls/{call_id}").text)
    response = client.post(
        f"/calls/{call_id}/suggestions", data={"heard": heard, "csrf_token": token}
    )
    assert response.status_code == 200, response.text
    return response.text


def summarise(client: TestClient, notes: str, call_id: str = CALL) -> str:
    token = csrf_of(client.get(f"/calls/{call_id}").text)
    response = client.post(f"/calls/{call_id}/summary", data={"notes": notes, "csrf_token": token})
    assert response.status_code == 303
    return client.get(response.headers["location"]).text


def summary(db: Database, call_id: str = CALL) -> CallSummary | None:
    with db.session() as session:
        found = session.get(CallSummary, call_id)
        session.expunge_all()
        return found


def llm_turns(db: Database) -> list[LlmTurn]:
    with db.session() as session:
        rows = list(session.scalars(select(LlmTurn).order_by(LlmTurn.id)))
        session.expunge_all()
        return rows


# --- suggestions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heard", "understood", "answer"),
    [
        ("I lost my job, I cannot pay", "cannot pay", "I will note a hardship"),
        ("this amount is wrong, I never took this much", "dispute", "I will raise a dispute"),
        ("stop calling me", "refuse", "Which days and times should we avoid?"),
        ("I already paid it last week", "already paid", "Could you share the date and the mode"),
    ],
)
def test_the_script_answers_the_objection_it_heard(
    scripted: TestClient, heard: str, understood: str, answer: str
) -> None:
    page = suggest(scripted, heard)
    assert f'id="suggestion-understood">{understood}<' in page
    assert answer in page and ">script<" in page


def test_a_promise_heard_suggests_confirming_it(scripted: TestClient) -> None:
    page = suggest(scripted, "ok I will pay 3000 on the 10th")
    assert "To confirm: ₹3,000.00 by 10 Mar 2026" in page


def test_hindi_accounts_get_the_hindi_script(scripted: TestClient) -> None:
    page = suggest(scripted, "मैंने कल ही भुगतान कर दिया", call_id=HINDI_CALL)
    assert "भुगतान की तारीख और तरीका बताइए" in page


def test_the_models_suggestion_is_shown_when_it_passes_the_guards(
    with_model: TestClient, standin: StandIn, db: Database
) -> None:
    standin.script(tool("suggest", {
        "say_next": "Could you pay a part of the 5,000 rupees this week?",
        "objection": "job loss",
        "answer": "I am sorry to hear that. I will note a hardship so the bank can look at options.",
    }))  # fmt: skip
    page = suggest(with_model, "I lost my job last month")
    assert "Could you pay a part of the 5,000 rupees this week?" in page and ">model<" in page
    assert 'id="suggestion-understood">job loss<' in page
    (used,) = llm_turns(db)
    assert (used.task, used.outcome, used.turn) == ("suggest", "spoken", 0)
    sent = standin.exchanges[-1]
    assert "5,000 rupees overdue" in sent.messages[0]["content"]
    assert '"heard": "I lost my job last month"' in sent.messages[1]["content"]


@pytest.mark.parametrize(
    "bad",
    [
        {
            "say_next": "Pay now or we send the police.",
            "objection": "refusal",
            "answer": "Pay now.",
        },
        {
            "say_next": "We can waive the late fee if you pay today.",
            "objection": "x",
            "answer": "ok",
        },
        {"say_next": "Can you pay 50,000 rupees by Friday?", "objection": "x", "answer": "ok"},
    ],
    ids=["threat", "waiver", "wrong amount"],
)
def test_a_suggestion_that_fails_a_guard_is_not_shown(
    with_model: TestClient, standin: StandIn, db: Database, bad: dict[str, str]
) -> None:
    standin.script(tool("suggest", bad))
    page = suggest(with_model, "I lost my job, I cannot pay")
    assert bad["say_next"] not in page and ">script<" in page
    assert "I will note a hardship" in page
    assert [t.outcome for t in llm_turns(db)] == ["replaced"]


def test_no_answer_in_time_shows_the_script(
    with_model: TestClient, standin: StandIn, db: Database
) -> None:
    standin.script(stall(5))
    page = suggest(with_model, "I lost my job, I cannot pay")
    assert "I will note a hardship" in page
    assert [t.outcome for t in llm_turns(db)] == ["timeout"]


# --- the after-call summary ---------------------------------------------------------------------


def test_the_rules_propose_and_the_tele_caller_confirms(scripted: TestClient, db: Database) -> None:
    page = summarise(scripted, "says salary is late\nwill pay 3000 on the 10th")
    assert 'id="proposal-disposition">PTP<' in page and "₹3,000.00 by 2026-03-10" in page
    proposal = summary(db)
    assert proposal is not None and proposal.source == "rules" and proposal.decision is None
    # The disposition form is filled in with the proposal; confirming submits it as it is.
    form = _form_values(page)
    assert (form["disposition"], form["ptp_amount"], form["ptp_date"]) == (
        "PTP",
        "3000.00",
        "2026-03-10",
    )
    assert 'form="disposition-form"' in page and 'id="confirm-proposal"' in page
    response = scripted.post(f"/calls/{CALL}/disposition", data=form)
    assert response.status_code == 303
    decided = summary(db)
    assert decided is not None and (
        decided.decision,
        decided.decided_disposition,
        decided.decided_by,
    ) == ("confirmed", "PTP", AGENT)
    with db.session() as session:
        assert [(p.amount, p.promised_date) for p in session.scalars(select(Promise))] == [
            (Decimal("3000.00"), date(2026, 3, 10))
        ]


def test_a_corrected_proposal_is_recorded_as_corrected(scripted: TestClient, db: Database) -> None:
    page = summarise(scripted, "will pay 3000 on the 10th")
    response = scripted.post(
        f"/calls/{CALL}/disposition",
        data={
            "disposition": "CALLBACK",
            "callback_at": "2026-03-03T11:00",
            "csrf_token": csrf_of(page),
        },
    )
    assert response.status_code == 303
    decided = summary(db)
    assert decided is not None and (decided.decision, decided.decided_disposition) == (
        "corrected",
        "CALLBACK",
    )
    with db.session() as session:
        call = session.get(Call, CALL)
        assert call is not None and call.disposition == "CALLBACK"


def test_nothing_to_propose_says_so(scripted: TestClient, db: Database) -> None:
    page = summarise(scripted, "")
    assert 'id="no-proposal"' in page and summary(db) is None


def test_the_models_proposal_is_taken_when_the_rules_allow_it(
    with_model: TestClient, standin: StandIn, db: Database
) -> None:
    standin.script(tool("propose_disposition", {
        "disposition": "PTP", "ptp_amount_rupees": 2500, "ptp_date": "2026-03-06",
        "summary": "The borrower's salary is late; they will pay 2,500 rupees by Friday, 6 March.",
    }))  # fmt: skip
    page = summarise(with_model, "salary late, half by friday")
    assert 'id="proposal-disposition">PTP<' in page and ">model<" in page
    proposal = summary(db)
    assert proposal is not None and proposal.source == "llm"
    assert (proposal.ptp_amount, proposal.ptp_date) == (Decimal("2500.00"), date(2026, 3, 6))
    assert [(t.task, t.outcome) for t in llm_turns(db)] == [("summarise", "proposal")]


@pytest.mark.parametrize(
    "arguments",
    [
        {"disposition": "PTP", "ptp_amount_rupees": 900000, "ptp_date": "2026-03-06", "summary": "Pays."},
        {"disposition": "PTP", "ptp_amount_rupees": 2500, "ptp_date": "2026-09-06", "summary": "Pays."},
        {"disposition": "SETTLED", "summary": "Settled."},
        {"disposition": "CALLBACK", "callback_at": "2026-03-01T10:00", "summary": "Call back."},
        {"disposition": "PTP", "ptp_amount_rupees": 3000, "ptp_date": "2026-03-10",
         "summary": "Promised 3,000 rupees; tell him the police will come otherwise."},
    ],
    ids=["above the total", "beyond the horizon", "not a code", "callback in the past", "threat in the summary"],
)  # fmt: skip
def test_a_proposal_the_rules_refuse_gives_way_to_the_rules_reading(
    with_model: TestClient, standin: StandIn, db: Database, arguments: dict[str, object]
) -> None:
    standin.script(tool("propose_disposition", arguments))
    summarise(with_model, "will pay 3000 on the 10th")
    proposal = summary(db)
    assert proposal is not None and proposal.source == "rules"
    assert (proposal.disposition, proposal.ptp_amount) == ("PTP", Decimal("3000.00"))
    assert [t.outcome for t in llm_turns(db)] in (["invalid_tool"], ["replaced"])


def test_a_model_that_answers_in_words_is_not_a_proposal(
    with_model: TestClient, standin: StandIn, db: Database
) -> None:
    standin.script(reply("The borrower will pay."))
    summarise(with_model, "will pay 3000 on the 10th")
    proposal = summary(db)
    assert proposal is not None and proposal.source == "rules"
    assert [t.outcome for t in llm_turns(db)] == ["invalid_tool"]


# --- who may -------------------------------------------------------------------------------------


def test_only_the_calls_tele_caller_and_with_the_form_token(
    scripted: TestClient, db: Database, screen_settings: Settings
) -> None:
    assert scripted.post(f"/calls/{CALL}/suggestions", data={"heard": "x"}).status_code == 403
    app = create_app(screen_settings, FixedClock(NOW), telephony=FakeTelephony())  # type: ignore[arg-type]
    with TestClient(app, follow_redirects=False) as other:
        log_in(other, "tc2")
        token = csrf_of(other.get("/queue").text)
        assert (
            other.post(
                f"/calls/{CALL}/summary", data={"notes": "x", "csrf_token": token}
            ).status_code
            == 403
        )
    assert summary(db) is None


def _form_values(page: str) -> dict[str, str]:
    """What the browser would submit from the disposition form as the page shows it."""
    import re

    form = page[page.index('id="disposition-form"') :]
    form = form[: form.index("</form>")]
    values = dict(
        re.findall(r'<input (?:type="hidden" )?name="([^"]+)"[^>]*? value="([^"]*)"', form)
    )
    selected = re.search(r'<option value="([^"]+)" selected>', form)
    values["disposition"] = selected.group(1) if selected else ""
    note = re.search(r'<textarea name="note"[^>]*>([^<]*)</textarea>', form)
    values["note"] = note.group(1) if note else ""
    return values
