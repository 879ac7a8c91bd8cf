"""The HTTP API: health, docs, bearer-token auth with roles, and GET /api/accounts/{id}."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crm.models import ContactPreference, Hold, Promise, Role, User
from duecall.auth import create_user, hash_token
from duecall.clock import FixedClock
from duecall.settings import Settings
from server import create_app
from tests.conftest import ADMIN_TOKEN, NOW, Database
from tests.factories import add_account, add_call, day


@pytest.fixture
def client(api_settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, clock)) as client:
        yield client


def token_for(db: Database, name: str, role: Role, agent_id: str | None = None) -> str:
    with db.session() as session, session.begin():
        _user, token = create_user(session, name=name, role=role, now=NOW, agent_id=agent_id)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/accounts/{account_id}" in paths


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing bearer token (Authorization: Bearer TOKEN)"),
        ({"Authorization": "Bearer not-a-token"}, "unknown or disabled token"),
        (
            {"Authorization": "Basic YWRtaW46YWRtaW4="},
            "missing bearer token (Authorization: Bearer TOKEN)",
        ),
    ],
)
def test_requests_without_a_valid_token_get_401(
    client: TestClient, headers: dict[str, str], detail: str
) -> None:
    response = client.get("/api/accounts/A1", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_account_is_404(client: TestClient) -> None:
    response = client.get("/api/accounts/NOPE", headers=bearer(ADMIN_TOKEN))
    assert (response.status_code, response.json()) == (404, {"detail": "no account 'NOPE'"})


def test_account_as_spec_shows_it(client: TestClient, db: Database) -> None:
    with db.session() as session, session.begin():
        add_account(
            session,
            "A1",
            dpd=45,
            phones=("+919812345678", "+919812345679"),
            product="Personal Loan",
        )
        session.add(
            Hold(
                account_id="A1",
                kind="dispute",
                until=None,
                reason="amount disputed",
                created_at=NOW,
            )
        )
        session.add(ContactPreference(account_id="A1", phone="+919812345679", days=["sat", "sun"],
                                      start=time(9), end=time(18), created_at=NOW))  # fmt: skip
        add_call(session, "A1", call_id="C1", disposition="PTP")
        session.add(Promise(account_id="A1", call_id="C1", amount=Decimal("5000"), promised_on=day("2026-03-02"),
                            promised_date=day("2026-03-05"), created_at=NOW))  # fmt: skip
    token = token_for(db, "sup", Role.SUPERVISOR)
    body = client.get("/api/accounts/A1", headers=bearer(token)).json()
    assert body["account_id"] == "A1"
    assert (body["bucket"], body["asset_class"], body["dpd"]) == ("SMA-1", "STANDARD", 45)
    assert body["overdue_amount"] == "5000.00"
    assert body["phones"] == [
        {"number": "+919812345678", "status": "ok", "source": "primary"},
        {"number": "+919812345679", "status": "ok", "source": "primary"},
    ]
    assert [(h["kind"], h["until"]) for h in body["holds"]] == [("dispute", None)]
    assert body["preferences"][0] | {"note": None} == {
        "kind": "avoid", "phone": "+919812345679", "days": ["sat", "sun"], "start": "09:00",
        "end": "18:00", "note": None,
    }  # fmt: skip
    assert body["promises"] == [{"amount": "5000.00", "date": "2026-03-05", "promised_on": "2026-03-02",
                                 "status": "pending", "paid_amount": None, "call_id": "C1"}]  # fmt: skip
    assert [c["call_id"] for c in body["recent_calls"]] == ["C1"]


def test_tele_callers_see_only_their_accounts(client: TestClient, db: Database) -> None:
    with db.session() as session, session.begin():
        add_account(session, "MINE", assigned_agent_id="TC001")
        add_account(session, "THEIRS", assigned_agent_id="TC002")
    token = token_for(db, "ravi", Role.AGENT, agent_id="TC001")
    assert client.get("/api/accounts/MINE", headers=bearer(token)).status_code == 200
    response = client.get("/api/accounts/THEIRS", headers=bearer(token))
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "this account is not allocated to you"},
    )
    for role in (Role.QA, Role.ADMIN):
        assert (
            client.get(
                "/api/accounts/THEIRS", headers=bearer(token_for(db, f"u-{role}", role))
            ).status_code
            == 200
        )


def test_tokens_are_stored_hashed_and_disabled_users_are_refused(
    client: TestClient, db: Database
) -> None:
    with db.session() as session, session.begin():
        add_account(session, "A1")
    token = token_for(db, "asha", Role.QA)
    with db.session() as session, session.begin():
        user = session.scalars(select(User)).one()
        assert user.token_hash == hash_token(token)
        assert token not in (user.token_hash, user.name)
        user.disabled_at = NOW
    assert client.get("/api/accounts/A1", headers=bearer(token)).status_code == 401
