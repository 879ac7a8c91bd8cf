"""Every screen refuses the wrong role; an agent cannot open another agent's accounts or calls,
or any recording; every recording access is audited; compliance blocks click-to-call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from analytics.qa.models import QaReview, RecordingAccess
from crm.models import Call, Promise
from dialer.telephony import OutboundCall, PlacedCall
from duecall.clock import FixedClock
from duecall.errors import ProviderError
from duecall.settings import Settings
from server import create_app
from tests.conftest import Database
from tests.web.conftest import QA_CALL, csrf_of, log_in, sample_recorded_calls, seed_screens

AUDIO = b"RIFF-fake-wav"


class FakeTelephony:
    """Places nothing; serves one recording URL and fails on any other."""

    def __init__(self) -> None:
        self.placed: list[OutboundCall] = []

    def place_call(self, call: OutboundCall) -> PlacedCall:
        self.placed.append(call)
        return PlacedCall(provider_call_sid="CA" + "0" * 32, status="queued")

    def end_call(self, provider_call_sid: str) -> None:
        pass

    def redirect_call(self, provider_call_sid: str, url: str) -> None:
        pass

    def fetch_recording(self, url: str) -> bytes:
        if url.endswith("/good.wav"):
            return AUDIO
        raise ProviderError("the recording could not be fetched (HTTP 404)")

    def signature_valid(self, url: str, params: object, signature: str) -> bool:
        return False


@pytest.fixture
def fake() -> FakeTelephony:
    return FakeTelephony()


@pytest.fixture
def clients(
    db: Database, screen_settings: Settings, clock: FixedClock, fake: FakeTelephony
) -> Iterator[dict[str, TestClient]]:
    seed_screens(db, recording_url="https://api.twilio.test/Recordings/good.wav")
    sample_recorded_calls(db)
    app = create_app(screen_settings, clock, telephony=fake)  # type: ignore[arg-type]
    made = {name: TestClient(app, follow_redirects=False) for name in ("tc1", "tc2", "qa1", "sup1")}
    for name, client in made.items():
        client.__enter__()
        log_in(client, name)
    made["anonymous"] = TestClient(app, follow_redirects=False).__enter__()
    yield made
    for client in made.values():
        client.__exit__(None, None, None)


# (method, path, roles that may) — every screen route.
PAGES = [
    ("GET", "/queue", {"tc1", "tc2"}),
    ("GET", "/next", {"tc1", "tc2"}),
    ("GET", "/accounts/A1", {"tc1", "sup1"}),
    ("GET", "/accounts/A1/compliance", {"tc1", "sup1"}),
    ("POST", "/accounts/A1/call", {"tc1"}),
    ("GET", f"/calls/{QA_CALL}", {"tc1", "sup1"}),
    ("POST", f"/calls/{QA_CALL}/disposition", {"tc1", "sup1"}),
    ("GET", "/qa", {"qa1", "sup1"}),
    ("GET", f"/qa/calls/{QA_CALL}", {"qa1", "sup1"}),
    ("POST", f"/qa/calls/{QA_CALL}/review", {"qa1", "sup1"}),
    ("GET", "/recordings/1", {"qa1", "sup1"}),
    ("GET", "/my/reviews", {"tc1", "tc2"}),
    ("GET", "/team", {"sup1"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), PAGES)
def test_every_screen_refuses_the_wrong_role(
    clients: dict[str, TestClient], method: str, path: str, allowed: set[str]
) -> None:
    for name in ("tc1", "tc2", "qa1", "sup1"):
        client = clients[name]
        token = csrf_of(client.get("/login").text)
        if method == "GET":
            response = client.get(path, headers={"Accept": "text/html"})
        else:
            response = client.post(path, data={"csrf_token": token})
        if name in allowed:
            assert response.status_code not in (401, 403), (name, path, response.text[:300])
        else:
            assert response.status_code == 403, (name, path, response.status_code)
    anonymous = clients["anonymous"]
    response = anonymous.request(method, path, headers={"Accept": "text/html"})
    assert response.status_code in (303, 401, 403)
    if method == "GET":
        assert response.headers["location"].startswith("/login?next=")


def test_an_agent_cannot_open_another_agents_account_or_call(
    clients: dict[str, TestClient],
) -> None:
    assert clients["tc1"].get("/accounts/B1").status_code == 403
    assert clients["tc2"].get("/accounts/A1").status_code == 403
    assert clients["tc2"].get(f"/calls/{QA_CALL}").status_code == 403
    assert clients["tc2"].get("/accounts/NOPE").status_code == 403  # no probing of ids


def test_recordings_are_served_through_the_proxy_and_every_access_is_audited(
    clients: dict[str, TestClient], db: Database
) -> None:
    response = clients["qa1"].get("/recordings/1")
    assert response.status_code == 200
    assert response.content == AUDIO
    assert response.headers["cache-control"] == "private, no-store"
    assert "twilio" not in response.text
    assert clients["tc1"].get("/recordings/1").status_code == 403  # not even their own call
    assert clients["sup1"].get("/recordings/999").status_code == 404
    with db.session() as session:
        log = session.execute(
            select(RecordingAccess.user_name, RecordingAccess.outcome).order_by(RecordingAccess.id)
        ).all()
    assert [tuple(r) for r in log] == [
        ("qa1", "served"),
        ("tc1", "refused"),
        ("sup1", "not_found"),
    ]


def test_the_qa_page_shows_no_provider_url(clients: dict[str, TestClient]) -> None:
    page = clients["qa1"].get(f"/qa/calls/{QA_CALL}").text
    assert "api.twilio.test" not in page
    assert 'src="/recordings/1"' in page


def test_click_to_call_is_refused_with_reasons_when_compliance_blocks(
    clients: dict[str, TestClient], fake: FakeTelephony
) -> None:
    client = clients["tc1"]
    token = csrf_of(client.get("/accounts/A3").text)
    response = client.post("/accounts/A3/call", data={"csrf_token": token})
    assert response.status_code == 409
    assert "Call refused by compliance" in response.text
    assert "hold" in response.text
    assert fake.placed == []


def test_click_to_call_rings_the_tele_caller_first(
    clients: dict[str, TestClient], fake: FakeTelephony, db: Database
) -> None:
    client = clients["tc1"]
    token = csrf_of(client.get("/accounts/A1").text)
    response = client.post("/accounts/A1/call", data={"csrf_token": token})
    assert response.status_code == 303
    call_id = response.headers["location"].rsplit("/", 1)[-1]
    with db.session() as session:
        call = session.get(Call, call_id)
        assert call is not None and call.mode == "agent" and call.agent_id == "tc1"
    assert [c.to for c in fake.placed] == ["+919800000001"]  # the tele-caller's own phone


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"disposition": "PTP", "ptp_amount": "", "ptp_date": "2026-03-05"}, "ptp_amount"),
        ({"disposition": "PTP", "ptp_amount": "0", "ptp_date": "2026-03-05"}, "more than zero"),
        ({"disposition": "PTP", "ptp_amount": "500", "ptp_date": "2026-03-01"}, "has passed"),
        ({"disposition": "PTP", "ptp_amount": "500", "ptp_date": "2027-03-01"}, "days away"),
        ({"disposition": "CALLBACK", "callback_at": ""}, "callback_at"),
        ({"disposition": "CALLBACK", "callback_at": "2026-03-01T10:00"}, "has passed"),
        ({"disposition": "NOPE"}, "disposition: choose one"),
    ],
)
def test_a_bad_disposition_is_refused_and_nothing_is_written(
    clients: dict[str, TestClient], db: Database, form: dict[str, str], problem: str
) -> None:
    client = clients["tc1"]
    token = csrf_of(client.get(f"/calls/{QA_CALL}").text)
    response = client.post(f"/calls/{QA_CALL}/disposition", data={**form, "csrf_token": token})
    assert response.status_code == 422
    assert problem in response.text
    with db.session() as session:
        assert session.scalars(select(Promise)).all() == []
        call = session.get(Call, QA_CALL)
        assert call is not None and call.callback_at is None


def test_a_callback_is_scheduled_in_the_borrowers_zone(
    clients: dict[str, TestClient], db: Database
) -> None:
    client = clients["tc1"]
    token = csrf_of(client.get(f"/calls/{QA_CALL}").text)
    response = client.post(
        f"/calls/{QA_CALL}/disposition",
        data={"disposition": "CALLBACK", "callback_at": "2026-03-03T11:30", "csrf_token": token},
    )
    assert response.status_code == 303
    with db.session() as session:
        call = session.get(Call, QA_CALL)
        assert call is not None and call.disposition == "CALLBACK"
        assert call.callback_at is not None
        assert call.callback_at.isoformat() == "2026-03-03T06:00:00+00:00"  # 11:30 IST


def test_an_agent_acknowledges_only_their_own_reviews(
    clients: dict[str, TestClient], db: Database
) -> None:
    qa = clients["qa1"]
    token = csrf_of(qa.get(f"/qa/calls/{QA_CALL}").text)
    answers = {f"item_{k}": "yes" for k in (
        "disclosure", "identification", "right_party", "no_third_party", "courtesy", "facts",
        "listening", "promise", "options", "disposition", "closing",
    )}  # fmt: skip
    assert (
        qa.post(f"/qa/calls/{QA_CALL}/review", data={**answers, "csrf_token": token}).status_code
        == 303
    )
    missing = {k: v for k, v in answers.items() if k != "item_closing"}
    response = qa.post(f"/qa/calls/{QA_CALL}/review", data={**missing, "csrf_token": token})
    assert response.status_code == 422 and "closing" in response.text
    with db.session() as session:
        review = session.scalars(select(QaReview)).one()
        assert str(review.score) == "100.0" and not review.auto_failed
    other = clients["tc2"]
    token = csrf_of(other.get("/my/reviews").text)
    assert other.post(f"/my/reviews/{review.id}/ack", data={"csrf_token": token}).status_code == 403
    own = clients["tc1"]
    token = csrf_of(own.get("/my/reviews").text)
    assert own.post(f"/my/reviews/{review.id}/ack", data={"csrf_token": token}).status_code == 303
    with db.session() as session:
        assert session.get(QaReview, review.id).acknowledged_at is not None  # type: ignore[union-attr]


def test_forms_without_the_csrf_token_are_refused(clients: dict[str, TestClient]) -> None:
    response = clients["tc1"].post("/accounts/A1/call", data={})
    assert response.status_code == 403
    response = clients["tc1"].post("/accounts/A1/call", headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 403
