"""The compliance check fed malformed cases (hypothesis), through the API and the CLI: a decision,
or a clear refusal naming the field (422 / exit 2) — never a server error or a traceback."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duecall.clock import FixedClock
from duecall.settings import Settings
from server import create_app
from tests.conftest import ADMIN_TOKEN

# SPEC's example case: every field, valid.
CASE: dict[str, Any] = {
    "policy": "rbi",
    "at": "2026-03-02T10:15:00+05:30",
    "phone": "+919812345678",
    "account": {
        "account_id": "A1",
        "dpd": 12,
        "timezone": None,
        "phones": ["+919812345678"],
        "flags": [],
        "holds": [{"kind": "bereavement", "until": "2026-03-20"}],
        "preferences": [
            {
                "kind": "avoid",
                "phone": None,
                "days": ["mon", "tue"],
                "start": "09:00",
                "end": "18:00",
            }
        ],
    },
    "history": [
        {
            "at": "2026-03-01T11:00:00+05:30",
            "phone": "+919812345678",
            "disposition": "CALLBACK",
            "ptp_date": None,
            "callback_at": "2026-03-02T10:15:00+05:30",
        }
    ],
}
EXAMPLES = 150
fuzzing = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

# Values a careless or hostile client might put anywhere in a case.
odd_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "", "0001-01-01", "9999-12-31", "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00", "2026-02-30", "2026-03-02T10:15:00",
            "25:61", "23:59", "00:00", "+91", "+919812345678", "Mars/Olympus", "UTC",
            "dnc", "PTP", "WRONG_NUMBER", "avoid", "mon", "sun", "rbi", "us-regf",
            "/etc/passwd", "../compliance/policies/rbi.toml",
        ]
    ),
)  # fmt: skip
odd_json = st.recursive(
    odd_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value (dict keys, list indexes), the value itself included."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


CASE_PATHS = list(paths(CASE))[1:]


@st.composite
def mutated_cases(draw: st.DrawFn) -> Any:
    """The valid case with one to three of its places replaced, removed, or added to."""
    case = copy.deepcopy(CASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(CASE_PATHS))
        parent: Any = case
        for step in path[:-1]:
            if not isinstance(parent, dict | list):
                break
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                break
        else:
            key = path[-1]
            action = draw(st.sampled_from(["replace", "remove", "extra"]))
            if isinstance(parent, dict):
                if action == "remove":
                    parent.pop(key, None)
                elif action == "extra":
                    parent[draw(st.text(min_size=1, max_size=8))] = draw(odd_json)
                else:
                    parent[key] = draw(odd_json)
            elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
                parent[key] = draw(odd_json)
    return case


DATED = [("at",), ("history", 0, "at"), ("history", 0, "callback_at"), ("history", 0, "ptp_date"),
         ("account", "holds", 0, "until")]  # fmt: skip
EXTREMES = ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
            "1969-12-31T23:59:59+00:00", "2199-12-31T23:59:59-12:00", "2200-01-01"]  # fmt: skip


@st.composite
def far_dates(draw: st.DrawFn) -> Any:
    """The valid case with a date or an instant at the ends of the calendar."""
    case = copy.deepcopy(CASE)
    for path in draw(st.lists(st.sampled_from(DATED), min_size=1, max_size=3, unique=True)):
        parent: Any = case
        for step in path[:-1]:
            parent = parent[step]
        value = draw(st.sampled_from(EXTREMES))
        parent[path[-1]] = value[:10] if path[-1] in ("until", "ptp_date") else value
    if draw(st.booleans()):
        case["history"][0]["disposition"] = "PTP"
    return case


cases = st.one_of(mutated_cases(), far_dates(), odd_json)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The API on its own SQLite store (the check reads no data; only the token is needed)."""
    from duecall.db import upgrade
    from tests.conftest import NOW

    url = f"sqlite:///{tmp_path_factory.mktemp('compliance') / 'duecall.db'}"
    upgrade(url)
    settings_ = Settings(
        DUECALL_DATABASE_URL=url, DUECALL_ADMIN_TOKEN=ADMIN_TOKEN, DUECALL_SCHEDULER="off"
    )
    with TestClient(create_app(settings_, FixedClock(NOW)), raise_server_exceptions=False) as c:
        yield c


def names_a_field(body: Any) -> bool:
    """A 422 says which field is wrong: FastAPI's `loc`, or duecall's `field: reason`."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        return bool(detail) and all(error.get("loc") and error.get("msg") for error in detail)
    return isinstance(detail, str) and ": " in detail


@fuzzing
@given(case=cases)
def test_the_api_decides_or_refuses_naming_the_field(client: TestClient, case: Any) -> None:
    response = client.post(
        "/api/compliance/check", json=case, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code in (200, 422), (response.status_code, response.text)
    body = response.json()
    if response.status_code == 422:
        assert names_a_field(body), body
    else:
        assert isinstance(body["allowed"], bool)
        assert (body["reasons"] == []) == body["allowed"]


_files = itertools.count()


@settings(
    max_examples=EXAMPLES // 3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(case=st.one_of(cases, st.binary(max_size=40)))
def test_the_cli_decides_or_exits_2_naming_the_field(cli: Any, tmp_path: Path, case: Any) -> None:
    path = tmp_path / f"case-{next(_files)}.json"
    if isinstance(case, bytes):
        path.write_bytes(case)
    else:
        path.write_text(json.dumps(case), encoding="utf-8")
    outcome = cli("compliance", "check", str(path), DUECALL_DATABASE_URL="sqlite://")
    assert outcome.code in (0, 2), outcome
    if outcome.code == 2:
        assert outcome.err.startswith("error: ") and ": " in outcome.err[len("error: ") :]
    else:
        assert isinstance(json.loads(outcome.out)["allowed"], bool)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("account", "holds", 0, "until"), "9999-12-31", "account.holds.0.until"),
        (("at",), "0001-01-01T00:00:00+14:00", "at"),
        (("history", 0, "callback_at"), "9999-12-31T23:59:59-12:00", "history.0.callback_at"),
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_refused_by_name(
    client: TestClient, path: tuple[Any, ...], value: str, field: str
) -> None:
    case = copy.deepcopy(CASE)
    parent: Any = case
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    response = client.post(
        "/api/compliance/check", json=case, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code == 422
    assert "outside the years 1970-2199" in json.dumps(response.json())
    assert response.json()["detail"][0]["loc"][1:] == [
        int(p) if p.isdigit() else p for p in field.split(".")
    ]
