"""The managers' analytics dashboard opens in the browser session as well as with a token."""

from __future__ import annotations

from crm.models import Role
from tests.web.conftest import LoggedIn


def test_a_supervisor_logged_in_opens_the_dashboard_and_its_csv(logged_in: LoggedIn) -> None:
    client = logged_in("sup1", Role.SUPERVISOR)
    page = client.get("/analytics")
    assert page.status_code == 200 and "<svg" in page.text
    export = client.get("/api/analytics/agents.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")


def test_an_agent_logged_in_may_not_open_the_dashboard(logged_in: LoggedIn) -> None:
    client = logged_in("tc9", Role.AGENT)
    assert client.get("/analytics").status_code == 403
    assert client.get("/api/analytics/roll-rates.csv").status_code == 403


def test_without_a_login_or_token_the_dashboard_asks_to_log_in(logged_in: LoggedIn) -> None:
    client = logged_in("sup2", Role.SUPERVISOR)
    client.cookies.clear()
    answer = client.get("/analytics", headers={"Accept": "text/html"})
    assert answer.status_code in (302, 303) and "/login" in answer.headers["location"]
