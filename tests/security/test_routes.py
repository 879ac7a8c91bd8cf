"""Every route of the built app checks who is calling (a role, a screen session, Twilio's
signature) unless it is on the documented public list: a route added without a check fails here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient

from duecall.access import PUBLIC, route_keys, unchecked_routes
from duecall.clock import FixedClock
from duecall.deps import AnyUser
from duecall.settings import Settings
from server import create_app


@pytest.fixture
def app(api_settings: Settings, clock: FixedClock) -> Iterator[FastAPI]:
    """The app as `duecall serve` builds it, with the embedded Twilio stand-in mounted."""
    settings = api_settings.model_copy(update={"telephony": "simulator"})
    built = create_app(settings, clock)
    yield built
    built.state.context.close()


def test_every_route_has_an_access_check_or_is_public_on_purpose(app: FastAPI) -> None:
    keys = {key for key, _dependant in route_keys(app)}
    # The walk must see every kind of route, or an empty result would prove nothing.
    assert {
        "GET /api/accounts/{account_id}",
        "POST /api/compliance/check",
        "POST /twilio/voice/{call_id}",
        "POST /twilio/status/{call_id}",
        "GET /queue",
        "GET /analytics",
        "GET /metrics",
        "GET /openapi.json",
        "MOUNT /static",
        "MOUNT /_simulator",
    } <= keys
    assert len(keys) > 50
    assert unchecked_routes(app) == []


def test_the_public_list_names_only_routes_that_exist(app: FastAPI) -> None:
    keys = {key for key, _dependant in route_keys(app)}
    assert set(PUBLIC) <= keys


def test_a_route_added_without_a_check_is_reported(app: FastAPI) -> None:
    router = APIRouter(prefix="/api/extra")

    @router.get("/open")
    def open_route() -> dict[str, str]:
        return {}

    @router.get("/guarded")
    def guarded(_user: AnyUser) -> dict[str, str]:
        return {}

    @router.post("/guarded-by-router", dependencies=[Depends(lambda: None)])
    def helper_only() -> dict[str, str]:
        return {}

    @router.websocket("/stream")
    async def stream(websocket: WebSocket) -> None:
        await websocket.close()

    app.include_router(router)

    @app.get("/direct")
    def direct() -> dict[str, str]:
        return {}

    assert sorted(unchecked_routes(app)) == [
        "GET /api/extra/open",
        "GET /direct",
        "POST /api/extra/guarded-by-router",
        "WEBSOCKET /api/extra/stream",
    ]


def test_a_websocket_route_with_a_marked_check_passes(app: FastAPI) -> None:
    from duecall.access import access_check

    @access_check
    async def handshake_signed(websocket: WebSocket) -> None:
        """Stands for a ConversationRelay handshake check."""

    router = APIRouter()

    @router.websocket("/twilio/relay/{call_id}", dependencies=[Depends(handshake_signed)])
    async def relay(websocket: WebSocket, call_id: str) -> None:
        await websocket.close()

    app.include_router(router)
    assert unchecked_routes(app) == []


def test_the_embedded_simulator_answers_its_control_api_to_local_clients_only(
    app: FastAPI,
) -> None:
    with TestClient(app, client=("203.0.113.9", 40000)) as remote:
        refused = remote.get("/_simulator/_sim/status")
        assert refused.status_code == 403
        assert "local clients only" in refused.json()["detail"]
        # Its Twilio REST API wants the simulator's credentials, from anywhere.
        rest = remote.get("/_simulator/2010-04-01/Accounts/AC1/Calls.json")
        assert rest.status_code == 401
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        assert local.get("/_simulator/_sim/status").status_code == 200


def test_no_api_route_answers_without_a_token(app: FastAPI) -> None:
    """Each /api route, called with no credentials, is refused before it does anything."""
    with TestClient(app) as client:
        for key, _dependant in route_keys(app):
            method, path = key.split(" ", 1)
            if not path.startswith("/api/") or method == "MOUNT":
                continue
            url = path.replace("{", "").replace("}", "")
            response = client.request(method, url, json={})
            assert response.status_code == 401, (key, response.status_code)


def test_no_webhook_answers_without_a_signature(app: FastAPI) -> None:
    with TestClient(app) as client:
        webhooks = [k for k, _ in route_keys(app) if k.startswith("POST /twilio/")]
        assert len(webhooks) >= 8
        for key in webhooks:
            path = key.split(" ", 1)[1].replace("{call_id}", "C1")
            response = client.post(path, data={"CallSid": "CA" + "1" * 32})
            assert response.status_code == 403, key
