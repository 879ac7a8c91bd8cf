"""The analytics API, its CSV exports, the dashboard page and `duecall report`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from crm.buckets import bucket_for_dpd
from crm.models import Role, Snapshot
from duecall.auth import create_user
from duecall.clock import FixedClock
from duecall.settings import Settings
from server import create_app
from tests.conftest import ADMIN_TOKEN, NOW, Database
from tests.factories import add_account, add_call

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def client(api_settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, clock)) as client:
        yield client


@pytest.fixture
def book(db: Database) -> None:
    """Two tele-callers' calls on the clock's day, and two months of snapshots."""
    with db.session() as session, session.begin():
        add_account(session, "A1")
        for code in ("RNR", "PTP", "REFUSED"):
            add_call(session, "A1", disposition=code, agent_id="TC1")
        add_call(session, "A1", disposition="BUSY", agent_id="TC2")
        for as_of, dpd in ((date(2026, 1, 31), 0), (date(2026, 2, 28), 12)):
            session.add(Snapshot(account_id="A1", as_of=as_of, dpd=dpd, bucket=bucket_for_dpd(dpd),
                                 principal_outstanding=Decimal("1000")))  # fmt: skip


def bearer(db: Database, name: str, role: Role, agent_id: str | None = None) -> dict[str, str]:
    with db.session() as session, session.begin():
        _user, token = create_user(session, name=name, role=role, now=NOW, agent_id=agent_id)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.usefixtures("book")
def test_agents_as_spec(client: TestClient) -> None:
    response = client.get("/api/analytics/agents?from=2026-03-01&to=2026-03-02", headers=ADMIN)
    assert response.status_code == 200
    tc1 = response.json()["agents"][0]
    spec_fields = {"agent_id", "attempts", "contacts", "rpc", "ptp", "dispositions", "rates",
                   "ptp_kept_rate", "outlier", "outlier_reasons"}  # fmt: skip
    assert spec_fields <= set(tc1)
    assert {"contact", "rpc", "ptp", "rnr"} <= set(tc1["rates"])
    assert (tc1["agent_id"], tc1["attempts"], tc1["rpc"], tc1["ptp"]) == ("TC1", 3, 2, 1)
    assert tc1["dispositions"] == {"PTP": 1, "REFUSED": 1, "RNR": 1}


@pytest.mark.usefixtures("book")
def test_roles(client: TestClient, db: Database) -> None:
    agent = bearer(db, "tc2", Role.AGENT, agent_id="TC2")
    own = client.get("/api/analytics/agents", headers=agent).json()["agents"]
    assert [a["agent_id"] for a in own] == ["TC2"]
    assert client.get("/api/analytics/roll-rates", headers=agent).status_code == 403
    assert client.get("/api/analytics/cohorts.csv", headers=agent).status_code == 403
    qa = bearer(db, "qa", Role.QA)
    assert client.get("/api/analytics/roll-rates", headers=qa).status_code == 200
    assert client.get("/api/analytics/agents").status_code == 401


@pytest.mark.usefixtures("book")
def test_roll_rates_default_to_the_latest_pair_of_months(client: TestClient) -> None:
    answer = client.get("/api/analytics/roll-rates", headers=ADMIN).json()
    assert answer == {
        "from_month": "2026-01", "to_month": "2026-02",
        "matrix": {"STANDARD": {"STANDARD": 0.0, "SMA-0": 1.0, "SMA-1": 0.0, "SMA-2": 0.0, "NPA": 0.0}},
        "counts": {"STANDARD": {"STANDARD": 0, "SMA-0": 1, "SMA-1": 0, "SMA-2": 0, "NPA": 0}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("/api/analytics/agents?from=2026-03-05&to=2026-03-01", "to: 2026-03-01 is before from"),
        ("/api/analytics/roll-rates?from_month=2026-13", "from_month: '2026-13' is not a month"),
        ("/api/analytics/agents?from=0031-06-01", "from: 0031-06-01 to 2026-03-02 is longer than"),
        ("/api/analytics/bogus.csv", "table: 'bogus' is not one of agents, agencies"),
    ],
)
def test_bad_input_is_422_naming_the_field(client: TestClient, url: str, detail: str) -> None:
    response = client.get(url, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)


@pytest.mark.usefixtures("book")
@pytest.mark.parametrize("table", ["agents", "agencies", "ptp", "roll-rates", "cohorts", "buckets",
                                   "products", "channels"])  # fmt: skip
def test_every_table_exports_as_csv(client: TestClient, table: str) -> None:
    response = client.get(
        f"/api/analytics/{table}.csv?from=2026-01-01&to=2026-03-02", headers=ADMIN
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows and all(len(r) == len(rows[0]) for r in rows)


@pytest.mark.usefixtures("book")
def test_dashboard_draws_its_charts_inline(client: TestClient) -> None:
    response = client.get(
        "/analytics?from=2026-03-01&to=2026-03-02&from_month=2026-01", headers=ADMIN
    )
    assert response.status_code == 200
    page = response.text
    assert page.count("<svg") == 2  # disposition mix and the heat map (no NPA cohorts yet)
    assert "<script" not in page and "No NPA cohorts yet." in page
    assert 'href="/api/analytics/agents.csv?from=2026-03-01&amp;to=2026-03-02"' in page
    assert "<title>TC1: RNR 1</title>" in page


@pytest.mark.usefixtures("book")
def test_cli_reports_in_every_format(cli, db: Database) -> None:  # type: ignore[no-untyped-def]
    env = {"DUECALL_DATABASE_URL": db.url, "DUECALL_CLOCK": NOW.isoformat()}
    out = cli(
        "report", "agents", "--from", "2026-03-01", "--to", "2026-03-02", "--format", "json", **env
    )
    assert out.code == 0, out.err
    assert [a["agent_id"] for a in json.loads(out.out)["agents"]] == ["TC1", "TC2"]
    out = cli("report", "roll-rates", "--from", "2026-01-01", "--format", "csv", **env)
    assert out.out.splitlines()[1].startswith("2026-01,STANDARD,1,0.0,1.0,")
    out = cli("report", "ptp", **env)
    assert out.code == 0 and "TOTAL" in out.out
    out = cli("report", "cohorts", "--to", "2026-03-02", "--format", "table", **env)
    assert out.code == 0
    bad = cli("report", "agents", "--from", "1 March", **env)
    assert bad.code == 2 and "--from: '1 March' is not a date" in bad.err


def test_period_defaults_to_the_30_days_to_today(client: TestClient) -> None:
    answer = client.get("/api/analytics/ptp", headers=ADMIN).json()
    today = date(2026, 3, 2)
    assert (answer["from"], answer["to"]) == (
        (today - timedelta(days=29)).isoformat(),
        today.isoformat(),
    )
