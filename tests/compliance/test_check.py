"""`duecall compliance check` and POST /api/compliance/check: SPEC's input and output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from duecall.clock import FixedClock
from duecall.settings import Settings
from server import create_app
from tests.conftest import ADMIN_TOKEN, Outcome
from tests.test_api import bearer

SPEC_CASE: dict[str, Any] = {
    "policy": "rbi",
    "at": "2026-03-02T10:15:00+05:30",
    "phone": "+919812345678",
    "account": {
        "account_id": "A1", "dpd": 12, "timezone": None, "phones": ["+919812345678"], "flags": [],
        "holds": [{"kind": "bereavement", "until": "2026-03-20"}],
        "preferences": [{"kind": "avoid", "phone": None, "days": ["mon", "tue"], "start": "09:00", "end": "18:00"}],
    },
    "history": [
        {"at": "2026-03-01T11:00:00+05:30", "phone": "+919812345678", "disposition": "CALLBACK",
         "ptp_date": None, "callback_at": "2026-03-02T10:15:00+05:30"}
    ],
}  # fmt: skip
SPEC_DECISION = {
    "allowed": False,
    "reasons": [
        {"rule": "hold", "detail": "bereavement hold until 2026-03-20"},
        {
            "rule": "preference",
            "detail": "the borrower asked not to be called on any phone, mon, tue, 09:00–18:00",
        },
    ],
    "next_allowed_at": "2026-03-21T08:00:00+05:30",  # Saturday: no preference, hold over
}
BAD_CASES = [
    ({**SPEC_CASE, "at": "2026-03-02T10:15:00"}, "at", "needs an offset"),
    ({**SPEC_CASE, "phone": "call me"}, "phone", "is not a phone number"),
    ({**SPEC_CASE, "histroy": []}, "histroy", "Extra inputs are not permitted"),
    (
        {**SPEC_CASE, "account": {**SPEC_CASE["account"], "dpd": -2}},
        "account.dpd",
        "greater than or equal to 0",
    ),
    (
        {
            **SPEC_CASE,
            "account": {**SPEC_CASE["account"], "holds": [{"kind": "x", "until": "20-03-2026"}]},
        },
        "account.holds.0.until",
        "date",
    ),
    (
        {**SPEC_CASE, "account": {**SPEC_CASE["account"], "flags": ["vip"]}},
        "account.flags.0",
        "Input should be",
    ),
    (
        {**SPEC_CASE, "history": [{"at": "2026-03-01T11:00:00+05:30", "disposition": "MAYBE"}]},
        "history.0.disposition",
        "unknown disposition",
    ),
    ({k: v for k, v in SPEC_CASE.items() if k != "phone"}, "phone", "Field required"),
]


def test_cli_prints_the_decision(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "case.json"
    path.write_text(json.dumps(SPEC_CASE))
    result: Outcome = cli("compliance", "check", str(path))
    assert result.code == 0
    decision = json.loads(result.out)
    assert {k: decision[k] for k in SPEC_DECISION} == SPEC_DECISION
    assert decision["policy"] == {"name": "rbi", "version": "2026.1"}


@pytest.mark.parametrize(("case", "field", "reason"), BAD_CASES)
def test_cli_bad_input_exits_2_naming_the_field(
    cli, tmp_path: Path, case: dict[str, Any], field: str, reason: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    result: Outcome = cli("compliance", "check", str(path))
    assert result.code == 2
    assert f"{field}: " in result.err and reason in result.err


def test_cli_unreadable_case(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "case.json").write_text("{not json")
    result: Outcome = cli("compliance", "check", str(tmp_path / "case.json"))
    assert (result.code, "not valid JSON" in result.err) == (2, True)


@pytest.fixture
def api(api_settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, clock)) as client:
        yield client


def test_api_gives_the_same_decision(api: TestClient) -> None:
    response = api.post("/api/compliance/check", json=SPEC_CASE, headers=bearer(ADMIN_TOKEN))
    assert response.status_code == 200
    assert {k: response.json()[k] for k in SPEC_DECISION} == SPEC_DECISION
    allowed = {**SPEC_CASE, "account": {**SPEC_CASE["account"], "holds": [], "preferences": []}}
    body = api.post("/api/compliance/check", json=allowed, headers=bearer(ADMIN_TOKEN)).json()
    # The requested callback, 60 minutes after nothing: allowed now.
    assert (body["allowed"], body["reasons"], body["next_allowed_at"]) == (
        True,
        [],
        "2026-03-02T10:15:00+05:30",
    )


@pytest.mark.parametrize(("case", "field", "reason"), BAD_CASES)
def test_api_bad_input_is_422_naming_the_field(
    api: TestClient, case: dict[str, Any], field: str, reason: str
) -> None:
    response = api.post("/api/compliance/check", json=case, headers=bearer(ADMIN_TOKEN))
    assert response.status_code == 422
    [first, *_] = response.json()["detail"]
    assert ".".join(str(p) for p in first["loc"][1:]) == field
    assert reason in first["msg"]


def test_api_needs_a_token_and_refuses_policy_files(api: TestClient, tmp_path: Path) -> None:
    assert api.post("/api/compliance/check", json=SPEC_CASE).status_code == 401
    response = api.post(
        "/api/compliance/check",
        json={**SPEC_CASE, "policy": "/etc/passwd"},
        headers=bearer(ADMIN_TOKEN),
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": "policy: unknown policy '/etc/passwd' (bundled: rbi, us-regf)"
    }
    regf = api.post(
        "/api/compliance/check",
        json={**SPEC_CASE, "policy": "us-regf"},
        headers=bearer(ADMIN_TOKEN),
    )
    assert regf.json()["policy"]["name"] == "us-regf"
