"""The HTTP API fuzzed from its own OpenAPI schema (schemathesis): whatever the path, query and
body, with an admin's token and without one, no operation answers with a server error.

Every operation of the schema gets FUZZ_EXAMPLES generated requests (valid for the schema and
not) per way of calling it, on each backend, against a small store (an account, a call, a campaign and its queue). The
operations are walked with schemathesis' Python API inside an ordinary test, so the store is
the per-backend `db` fixture like everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from dialer.jobs import refresh_queues
from dialer.telephony import FakeTelephony
from duecall.clock import FixedClock
from duecall.settings import Settings
from server import create_app
from tests.conftest import ADMIN_TOKEN, Database
from tests.dialer.conftest import add_campaign
from tests.factories import add_account, add_call

FUZZ_EXAMPLES = 40


@pytest.fixture
def fuzzed_app(db: Database, api_settings: Settings, clock: FixedClock) -> Iterator[FastAPI]:
    with db.session() as session, session.begin():
        add_account(session, "A1", assigned_agent_id="TC001")
        add_call(session, "A1", call_id="C1", disposition="RNR", status="completed")
        add_campaign(session)
    app = create_app(api_settings, clock, telephony=FakeTelephony())
    refresh_queues(app.state.context)
    yield app
    app.state.context.close()


@pytest.mark.parametrize("authorized", [True, False], ids=["admin token", "no token"])
def test_no_operation_answers_with_a_server_error(fuzzed_app: FastAPI, authorized: bool) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if authorized else {}
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    paths = {operation.path for operation in operations}
    assert {"/api/accounts/{account_id}", "/api/calls", "/api/compliance/check"} <= paths
    for operation in operations:

        @given(
            case=st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),  # requests the schema allows
                operation.as_strategy(GenerationMode.NEGATIVE),  # and requests it does not
            )
        )
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: schemathesis.Case) -> None:
            if case.headers:
                case.headers.pop("Authorization", None)  # ours, or none at all
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        fuzz()
