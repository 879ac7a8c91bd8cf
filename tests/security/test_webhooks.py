"""Twilio's webhooks: X-Twilio-Signature is validated against DUECALL_PUBLIC_BASE_URL and the path,
whatever Host or X-Forwarded-* say (a proxy in front, or someone lying), and signed or unsigned
requests with missing, extra or hostile parameters get a clear 4xx, never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers
from starlette.formparsers import FormParser
from twilio.request_validator import RequestValidator

from dialer.telephony import FakeTelephony
from dialer.webhooks import MAX_FORM_FIELDS, PARAMETER_SHAPES, parse_form
from duecall.clock import FixedClock
from duecall.live import free_socket, serving
from duecall.settings import Settings
from server import MAX_BODY_BYTES, create_app
from tests.conftest import Database
from tests.factories import add_call_in_progress

PUBLIC = "https://duecall.bank.example/collections"  # behind a proxy, under a prefix
SID = "CA" + "ab" * 16
ACCOUNT_SID = "AC" + "cd" * 16
ROUTES = [
    "/twilio/status/C1",
    "/twilio/amd/C1",
    "/twilio/recording/C1",
    "/twilio/bridge/C1",
    "/twilio/bridged/C1",
    "/twilio/voice/C1?turn=0",
    "/twilio/voicemail/C1",
    "/twilio/transferred/C1",
]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def fake() -> FakeTelephony:
    return FakeTelephony(auth_token="webhook-security-auth-token")


@pytest.fixture
def app(
    db: Database, api_settings: Settings, clock: FixedClock, fake: FakeTelephony
) -> Iterator[FastAPI]:
    with db.session() as session, session.begin():
        add_call_in_progress(session, SID)
    built = create_app(api_settings.model_copy(update={"public_base_url": PUBLIC}), clock, fake)
    yield built
    built.state.context.close()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def signed(fake: FakeTelephony, route: str, params: dict[str, str], base: str = PUBLIC) -> str:
    return fake.sign(base + route, params)


@pytest.fixture
def behind_proxy(app: FastAPI) -> Iterator[str]:
    """The app under real uvicorn, reached at a local address that is not the public one."""
    sock = free_socket()
    with serving(app, sock):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_behind_a_proxy_the_public_url_is_what_is_validated(
    behind_proxy: str, fake: FakeTelephony
) -> None:
    params = {"CallSid": SID, "AccountSid": ACCOUNT_SID, "CallStatus": "in-progress"}
    proxy_headers = {
        "Host": "evil.example",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "http",
        "X-Forwarded-For": "203.0.113.5",
        "X-Forwarded-Prefix": "/elsewhere",
        "Forwarded": "for=203.0.113.5;host=evil.example;proto=http",
    }

    def post(route: str, signature: str) -> int:
        headers = {**proxy_headers, **FORM, "X-Twilio-Signature": signature}
        body = urlencode(params)
        return httpx.post(behind_proxy + route, content=body, headers=headers).status_code

    for route in ROUTES:
        assert post(route, signed(fake, route, params)) in (200, 204), route
        # Signed for the URL the request reached, or for what the headers claim: refused.
        for base in (behind_proxy, "http://evil.example", "https://evil.example/elsewhere"):
            assert post(route, signed(fake, route, params, base=base)) == 403, (route, base)
        assert post(route, "") == 403


@pytest.mark.parametrize(
    ("params", "refused"),
    [
        pytest.param({}, None, id="no parameters at all"),
        pytest.param({"CallSid": SID, "Extra": "x", "Z" * 300: "y"}, None, id="unknown params"),
        pytest.param({"CallSid": SID, "SpeechResult": "हाँ ठीक है 🙏 \u202e"}, None, id="unicode"),
        pytest.param({"CallSid": SID, "SpeechResult": "x" * 200_000}, None, id="huge value"),
        pytest.param({"CallSid": SID, "Digits": "\x00\x01"}, None, id="control characters"),
        pytest.param({"CallSid": "CA" + "1" * 200}, "CallSid", id="CallSid too long"),
        pytest.param({"CallSid": SID, "CallStatus": "completed" * 10}, "CallStatus", id="status"),
        pytest.param({"CallSid": SID, "CallDuration": "²"}, "CallDuration", id="unicode digit"),
        pytest.param({"CallSid": SID, "CallDuration": "9" * 40}, "CallDuration", id="huge number"),
        pytest.param({"CallSid": SID, "Confidence": "nan"}, "Confidence", id="confidence nan"),
        pytest.param({"CallSid": SID, "Confidence": "abc"}, "Confidence", id="confidence text"),
        pytest.param({"CallSid": SID, "SequenceNumber": "1; DROP"}, "SequenceNumber", id="seq"),
        pytest.param({"AnsweredBy": "machine_start" * 5}, "AnsweredBy", id="answered by"),
    ],
)
def test_signed_requests_with_odd_parameters_get_an_answer_or_a_clear_4xx(
    params: dict[str, str], refused: str | None, client: TestClient, fake: FakeTelephony
) -> None:
    for route in ROUTES:
        headers = {**FORM, "X-Twilio-Signature": signed(fake, route, params)}
        response = client.post(route, content=urlencode(params), headers=headers)
        if refused is None:
            assert response.status_code in (200, 204), (route, response.text)
        else:
            assert response.status_code == 400, route
            assert response.json() == {"detail": f"{refused}: not a value Twilio sends"}


def test_our_own_turn_number_is_checked_too(client: TestClient, fake: FakeTelephony) -> None:
    route = "/twilio/voice/C1?turn=" + "9" * 200
    headers = {**FORM, "X-Twilio-Signature": signed(fake, route, {})}
    response = client.post(route, headers=headers)
    assert (response.status_code, response.json()["detail"]) == (
        400,
        "turn: not a value Twilio sends",
    )


def test_a_negative_turn_number_is_refused_as_fastapi_refuses_a_query_declared_ge_0(
    client: TestClient, fake: FakeTelephony
) -> None:
    declared = FastAPI()

    @declared.post("/twilio/voice/{call_id}")
    def voice(call_id: str, turn: int = Query(0, ge=0)) -> None: ...

    route = "/twilio/voice/C1?turn=-1"
    headers = {**FORM, "X-Twilio-Signature": signed(fake, route, {})}
    response = client.post(route, headers=headers)
    expected = TestClient(declared).post(route)
    assert (response.status_code, response.json()) == (422, expected.json())
    assert response.json()["detail"][0]["loc"] == ["query", "turn"]


def _starlette_form(body: bytes) -> list[tuple[str, str]]:
    async def stream() -> AsyncIterator[bytes]:
        yield body

    async def parse() -> list[tuple[str, str]]:
        form = await FormParser(Headers({}), stream()).parse()
        return [(key, str(value)) for key, value in form.multi_items()]

    return asyncio.run(parse())


form_pieces = st.sampled_from(
    [b"a", b"B", b"=", b"&", b"+", b";", b" ", b"%", b"%2", b"%26", b"%3D", b"%C3%A9", b"%E9",
     b"%zz", b"\xc3\xa9", b"\xff", b"\x00"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(body=st.lists(form_pieces, max_size=16).map(b"".join) | st.binary(max_size=24))
def test_form_bodies_are_read_as_starlettes_form_parser_reads_them(body: bytes) -> None:
    """The webhooks parse the body themselves: what is signed must be what Starlette reads."""
    assert parse_form(body) == _starlette_form(body)


def test_too_many_form_fields_are_refused_as_starlette_refuses_them(
    client: TestClient, fake: FakeTelephony
) -> None:
    assert len(parse_form(b"&".join([b"x=1"] * MAX_FORM_FIELDS))) == MAX_FORM_FIELDS
    body = b"&".join([b"x=1"] * (MAX_FORM_FIELDS + 1))
    for route in ROUTES:
        response = client.post(route, content=body, headers={**FORM, "X-Twilio-Signature": "x"})
        assert response.status_code == 400, route
        assert "Too many fields" in response.json()["detail"]


def test_repeated_keys_are_signed_as_twilio_signs_them(
    client: TestClient, fake: FakeTelephony
) -> None:
    body = urlencode([("CallSid", SID), ("Extra", "b"), ("Extra", "a")])
    validator = RequestValidator("webhook-security-auth-token")
    for route in ROUTES:
        # Signed over one of the values only: refused.
        signature = fake.sign(PUBLIC + route, {"CallSid": SID, "Extra": "a"})
        headers = {**FORM, "X-Twilio-Signature": signature}
        assert client.post(route, content=body, headers=headers).status_code == 403
        # Twilio's validator concatenates every value of a repeated key, sorted.
        payload = PUBLIC + route + "CallSid" + SID + "Extra" + "a" + "Extra" + "b"
        headers = {**FORM, "X-Twilio-Signature": validator.compute_signature(payload, {})}
        assert client.post(route, content=body, headers=headers).status_code in (200, 204)


@pytest.mark.parametrize("route", ROUTES)
def test_bodies_that_are_not_twilio_forms_get_a_clear_4xx(
    route: str, client: TestClient, fake: FakeTelephony
) -> None:
    signature = signed(fake, route, {})
    for content_type, body in [
        ("application/json", b'{"CallSid": "CA1"}'),
        ("multipart/form-data; boundary=x", b"--x\r\n"),
        ("text/xml", b"<Response/>"),
    ]:
        response = client.post(
            route,
            content=body,
            headers={"Content-Type": content_type, "X-Twilio-Signature": signature},
        )
        assert response.status_code == 415, (content_type, response.text)
    # Not UTF-8, or not even percent-encoding: the signature cannot match.
    for body in (b"CallSid=%ff%fe&x=\xff", b"%%%===&&&"):
        response = client.post(
            route, content=body, headers={**FORM, "X-Twilio-Signature": signature}
        )
        assert response.status_code == 403
    # No body and no content type, signed for no parameters: Twilio could send that.
    assert client.post(route, headers={"X-Twilio-Signature": signature}).status_code in (200, 204)
    too_big = b"SpeechResult=" + b"x" * MAX_BODY_BYTES
    response = client.post(route, content=too_big, headers={**FORM, "X-Twilio-Signature": "x"})
    assert response.status_code == 413


text_values = st.text(min_size=0, max_size=40)
param_names = st.sampled_from([*PARAMETER_SHAPES, "SpeechResult", "Digits", "To", "From", "Caller"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from(ROUTES),
    params=st.dictionaries(param_names | st.text(min_size=1, max_size=10), text_values, max_size=6),
    sign=st.booleans(),
)
def test_any_parameters_signed_or_not_never_get_a_server_error(
    route: str, params: dict[str, str], sign: bool, client: TestClient, fake: FakeTelephony
) -> None:
    params = {k: v for k, v in params.items() if "\x00" not in k}
    signature = signed(fake, route, params) if sign else "forged"
    response = client.post(
        route, content=urlencode(params), headers={**FORM, "X-Twilio-Signature": signature}
    )
    assert response.status_code < 500, response.text
    if not sign:
        assert response.status_code == 403
    malformed = [n for n in PARAMETER_SHAPES if n in params and not PARAMETER_SHAPES[n](params[n])]
    if sign and malformed:
        assert response.status_code == 400
        assert response.json()["detail"].split(":")[0] in malformed
