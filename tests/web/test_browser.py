"""The screens in Chromium (Playwright): a tele-caller's round and a QA reviewer's round.

The app runs under real uvicorn with the embedded Twilio simulator; recordings come from a
stand-in recording host that insists on the account's credentials. Screenshots of every screen
land in `artifacts/screenshots/` (git-ignored) and in the test's tmp directory.
"""

from __future__ import annotations

import base64
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pydantic import SecretStr
from sqlalchemy import select

from analytics.qa.models import QaReview, RecordingAccess
from crm.models import Call, Promise
from dialer.providers import credentials
from duecall.clock import FixedClock
from duecall.settings import Settings
from server import create_app
from tests.conftest import Database
from tests.web.conftest import (
    PASSWORD,
    QA_CALL,
    SESSION_SECRET,
    sample_recorded_calls,
    seed_screens,
)

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
WAV = b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00@\x1f\x00\x00\x80>\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RecordingHost(ThreadingHTTPServer):
    """Serves one WAV to requests that carry the expected Basic credentials, 401 otherwise."""

    def __init__(self, expected_auth: str) -> None:
        self.expected_auth = expected_auth
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _RecordingHandler)


class _RecordingHandler(BaseHTTPRequestHandler):
    server: RecordingHost

    def do_GET(self) -> None:
        self.server.requests.append(self.headers.get("Authorization", ""))
        if self.headers.get("Authorization") != self.server.expected_auth:
            self.send_response(401)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(WAV)))
        self.end_headers()
        self.wfile.write(WAV)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def live(db: Database, clock: FixedClock, tmp_path: Path) -> Iterator[tuple[str, RecordingHost]]:
    port = free_port()
    settings = Settings(
        DUECALL_DATABASE_URL=db.url,
        DUECALL_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        DUECALL_SCHEDULER="off",
        DUECALL_CLOCK_RATE=20,
        DUECALL_SESSION_SECRET=SecretStr(SESSION_SECRET),
    )
    sid, token, _ = credentials(settings)
    host = RecordingHost("Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode())
    threading.Thread(target=host.serve_forever, daemon=True).start()
    seed_screens(db, recording_url=f"http://127.0.0.1:{host.server_port}/Recordings/RE1.wav")
    sample_recorded_calls(db)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, clock), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server did not start")
        threading.Event().wait(0.05)
    try:
        yield f"http://127.0.0.1:{port}", host
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        host.shutdown()
        host.server_close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


def shoot(page: Page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENSHOTS / path.name)


def log_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")


def test_a_tele_caller_works_an_account_from_the_queue_to_the_next(
    live: tuple[str, RecordingHost], browser: Browser, db: Database, tmp_path: Path
) -> None:
    base, _host = live
    page = browser.new_page()
    page.goto(f"{base}/login")
    shoot(page, tmp_path, "01-login")
    log_in(page, base, "tc1")

    expect(page).to_have_url(f"{base}/queue")
    queue = page.locator("#queue tbody tr")
    expect(queue).to_have_count(3)
    expect(page.locator("#queue")).to_contain_text("blocked")  # A3's dispute hold
    shoot(page, tmp_path, "02-queue")

    page.goto(f"{base}/accounts/A3")
    expect(page.locator("#banner")).to_contain_text("Blocked")
    expect(page.locator("[data-call-button]")).to_be_disabled()

    page.goto(f"{base}/queue")
    page.keyboard.press("j")  # keyboard: select the first row and open it
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/accounts/A1")
    expect(page.locator("#banner")).to_contain_text("Callable now")
    expect(page.locator("#script")).to_contain_text("This call is recorded")
    shoot(page, tmp_path, "03-account")

    page.keyboard.press("c")  # click-to-call through the embedded simulator
    expect(page).to_have_url(re.compile(r"/calls/[^/]+$"))
    call_id = page.url.rsplit("/", 1)[-1]
    shoot(page, tmp_path, "04-call")

    page.keyboard.press("s")  # the assistant: what the borrower just said
    page.keyboard.type("I lost my job, I cannot pay")
    page.get_by_role("button", name="Suggest").click()
    expect(page.locator("#suggestion")).to_contain_text("I will note a hardship")
    shoot(page, tmp_path, "04a-suggestion")
    page.get_by_label("Your notes").fill("will pay 5000 on the 5th")
    page.get_by_role("button", name=re.compile("Summarise")).click()
    expect(page.locator("#proposal-disposition")).to_have_text("PTP")
    expect(page.locator("[name=ptp_amount]")).to_have_value("5000.00")
    shoot(page, tmp_path, "04b-proposal")

    page.get_by_label("Disposition (d)").select_option("PTP")
    page.locator("[name=ptp_amount]").fill("500000")  # more than the total outstanding
    page.locator("[name=ptp_date]").fill("2026-03-05")
    page.get_by_role("button", name="Save disposition").click()
    expect(page.locator("#form-errors")).to_contain_text("more than the total outstanding")
    shoot(page, tmp_path, "05-disposition-refused")

    page.locator("[name=ptp_amount]").fill("5000")
    page.get_by_role("button", name="Save disposition").click()
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("#call-disposition")).to_have_text("PTP")
    shoot(page, tmp_path, "06-disposition-saved")

    page.keyboard.press("n")
    expect(page).to_have_url(f"{base}/accounts/A2")  # the next account that may be called now
    shoot(page, tmp_path, "07-next-account")

    with db.session() as session:
        call = session.get(Call, call_id)
        assert call is not None and call.disposition == "PTP" and call.mode == "agent"
        promise = session.scalar(select(Promise).where(Promise.call_id == call_id))
        assert promise is not None and str(promise.amount) == "5000.00"


def test_a_reviewer_scores_a_sampled_call_and_the_agent_acknowledges_it(
    live: tuple[str, RecordingHost], browser: Browser, db: Database, tmp_path: Path
) -> None:
    base, host = live
    page = browser.new_page()
    log_in(page, base, "qa1")
    expect(page).to_have_url(f"{base}/qa")
    expect(page.locator("#to-review")).to_contain_text(QA_CALL)
    shoot(page, tmp_path, "11-qa-list")

    page.get_by_role("link", name=QA_CALL).click()
    expect(page.locator("#flags")).to_contain_text("abusive_language")
    expect(page.locator("#transcript")).to_contain_text("Yes, speaking.")
    audio = page.locator("audio[data-recording]")
    assert audio.get_attribute("src", timeout=5000) is not None
    assert audio.get_attribute("src", timeout=5000).startswith("/recordings/")  # type: ignore[union-attr]
    played = page.evaluate(
        "async (src) => { const r = await fetch(src); return [r.status, (await r.arrayBuffer()).byteLength]; }",
        audio.get_attribute("src"),
    )
    assert played == [200, len(WAV)]
    shoot(page, tmp_path, "12-qa-review")

    form = page.locator("#scorecard")
    for radio in form.locator("input[value=yes]").all():
        radio.check()
    form.locator("input[name=item_courtesy][value=no]").check()  # the police threat
    form.get_by_label("Comments for the agent").fill("Never mention the police.")
    form.get_by_role("button", name="Save review").click()
    expect(page.locator(".flash")).to_contain_text("saved")
    shoot(page, tmp_path, "13-qa-saved")

    with db.session() as session:
        review = session.scalar(select(QaReview).where(QaReview.call_id == QA_CALL))
        assert review is not None and review.auto_failed and review.agent_id == "tc1"
        accesses = session.scalars(select(RecordingAccess.outcome)).all()
        assert accesses == ["served"]
    assert host.requests and all(r.startswith("Basic ") for r in host.requests)

    agent = browser.new_page()
    log_in(agent, base, "tc1")
    agent.goto(f"{base}/my/reviews")
    expect(agent.locator("#my-reviews")).to_contain_text("Never mention the police.")
    shoot(agent, tmp_path, "14-agent-reviews")
    agent.get_by_role("button", name="Acknowledge").click()
    expect(agent.locator("#my-reviews")).to_contain_text("acknowledged")
    response = agent.request.get(f"{base}/recordings/1")
    assert response.status == 403


def test_a_supervisor_sees_the_team(
    live: tuple[str, RecordingHost], browser: Browser, tmp_path: Path
) -> None:
    base, _host = live
    page = browser.new_page()
    log_in(page, base, "sup1")
    expect(page).to_have_url(f"{base}/team")
    expect(page.locator("#team")).to_contain_text("tc1")
    shoot(page, tmp_path, "21-team")
