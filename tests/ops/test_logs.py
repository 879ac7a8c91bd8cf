"""Log lines: text or one JSON object per line, with request and call ids, and nothing in them
that a phone number, a borrower's name or a secret could be read from."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dialer.telephony import FakeTelephony
from duecall import logs
from duecall.clock import FixedClock
from duecall.logs import PersonName, configure_logging, formatter, mask_text
from duecall.settings import Settings
from server import create_app
from tests.factories import add_account, add_call

PHONE = "+919812345678"
NAME = "Priya Sharma"
SECRET = "tw-auth-token-9f8e7d6c5b4a"


def record(msg: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError(f"provider refused {PHONE} with token {SECRET}")
        except RuntimeError:
            import sys

            exc_info = sys.exc_info()
    made = logging.LogRecord("dialer.calls", logging.WARNING, __file__, 1, msg, args, exc_info)
    made.__dict__.update(extra)
    return made


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize(
    "made",
    [
        pytest.param(lambda: record(f"calling {PHONE} now"), id="phone in the message"),
        pytest.param(lambda: record("calling %s now", PHONE), id="phone as an argument"),
        pytest.param(lambda: record("calling %(to)s", {"to": "+91 98123 45678"}), id="spaced"),
        pytest.param(lambda: record("calling 098123-45678"), id="national with a hyphen"),
        pytest.param(lambda: record("call", to=PHONE, note=f"dialled {PHONE}"), id="extras"),
        pytest.param(lambda: record("failed", exc=True), id="exception text"),
        pytest.param(lambda: record("borrower %s", PersonName(NAME)), id="name argument"),
        pytest.param(lambda: record("call", borrower_name=NAME), id="name field"),
        pytest.param(lambda: record(PersonName(NAME)), id="name as the message"),
        pytest.param(lambda: record(f"auth with {SECRET}"), id="secret in the message"),
        pytest.param(lambda: record("call", detail=f"token={SECRET}"), id="secret in extras"),
    ],
)
def test_no_line_carries_a_phone_a_name_or_a_secret(made, log_format: str) -> None:  # type: ignore[no-untyped-def]
    line = formatter(log_format, secrets=[SECRET]).format(made())  # type: ignore[arg-type]
    for raw in (PHONE, "9812345678", "98123 45678", "98123-45678", NAME, "Sharma", SECRET):
        assert raw not in line
    if log_format == "json":
        assert len(line.splitlines()) == 1
        json.loads(line)


def test_masked_values_stay_recognisable() -> None:
    line = formatter("text").format(
        record("calling %s for %s", PHONE, PersonName(NAME), borrower_name=NAME)
    )
    assert "+91******5678" in line
    assert "calling +91******5678 for P. S." in line
    assert "borrower_name=P. S." in line


@pytest.mark.parametrize(
    "text",
    [
        "call 3f2a9c1e0b8d4e7f9a1234567890abcd placed",  # a call id: hex, digits inside a word
        "nightly: 1234 accounts aged on 2026-03-02",
        "CA0000000000000000000000000000000001 completed",  # a provider SID
        "took 12.5 s; 250000 rows",
    ],
)
def test_ids_dates_and_counts_are_not_mistaken_for_phones(text: str) -> None:
    assert mask_text(text) == text


def test_json_lines_carry_time_level_logger_message_and_ids() -> None:
    made = record("status callback for unknown call %s ignored", "C1", attempt=2)
    with logs.bound(request="req-1", call="C1"):
        entry = json.loads(formatter("json").format(made))
    assert set(entry) == {"time", "level", "logger", "message", "request_id", "call_id", "attempt"}
    assert entry["time"].endswith("Z")
    assert (entry["level"], entry["logger"]) == ("WARNING", "dialer.calls")
    assert entry["message"] == "status callback for unknown call C1 ignored"
    assert (entry["request_id"], entry["call_id"], entry["attempt"]) == ("req-1", "C1", 2)
    without = json.loads(formatter("json").format(record("idle")))
    assert "request_id" not in without and "call_id" not in without


@pytest.fixture
def root_stream() -> Iterator[io.StringIO]:
    """What the root logger's handler writes, as `configure_logging` sets it up."""
    root = logging.getLogger()
    kept_handlers, kept_level = root.handlers[:], root.level
    clients = {name: logging.getLogger(name).level for name in ("twilio.http_client", "httpx")}
    stream = io.StringIO()
    yield stream
    root.handlers[:] = kept_handlers
    root.setLevel(kept_level)
    for name, level in clients.items():
        logging.getLogger(name).setLevel(level)


def test_configure_logging_writes_masked_json_lines_for_every_logger(
    root_stream: io.StringIO,
) -> None:
    configure_logging("INFO", "json", secrets=[SECRET])
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(root_stream)
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /x?to=%s HTTP/1.1" 200', PHONE)
    logging.getLogger("somelibrary").warning("retrying with %s", SECRET)
    logging.getLogger("dialer").debug("not at INFO")
    lines = root_stream.getvalue().splitlines()
    assert [json.loads(line)["logger"] for line in lines] == ["uvicorn.access", "somelibrary"]
    assert PHONE not in root_stream.getvalue() and SECRET not in root_stream.getvalue()


def test_request_ids_and_call_ids_reach_the_lines_of_a_webhook(
    db,  # type: ignore[no-untyped-def]
    api_settings: Settings,
    clock: FixedClock,
) -> None:
    with db.session() as session, session.begin():
        add_account(session, "A1")
        add_call(session, "A1", call_id="C1", disposition=None, status="ringing")
    fake = FakeTelephony(auth_token="log-test-auth-token")
    settings = api_settings.model_copy(update={"public_base_url": "https://duecall.example"})
    params = {"CallSid": "CA" + "1" * 32, "CallStatus": "ringing"}
    url = "https://duecall.example/twilio/status/UNKNOWN"
    captured: list[tuple[str | None, str | None]] = []

    class Ids(logging.Handler):
        def emit(self, _record: logging.LogRecord) -> None:
            captured.append((logs.request_id.get(), logs.call_id.get()))

    handler = Ids()
    logging.getLogger("dialer.webhooks").addHandler(handler)
    try:
        with TestClient(create_app(settings, clock, telephony=fake)) as client:
            response = client.post(
                "/twilio/status/UNKNOWN",
                data=params,
                headers={"X-Twilio-Signature": fake.sign(url, params), "X-Request-ID": "abc-123"},
            )
            other = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    finally:
        logging.getLogger("dialer.webhooks").removeHandler(handler)
    assert response.status_code == 204
    assert response.headers["x-request-id"] == "abc-123"
    assert captured == [("abc-123", "UNKNOWN")]  # "status callback for unknown call ... ignored"
    assert other.headers["x-request-id"] != "bad id with spaces"
    assert len(other.headers["x-request-id"]) == 32
