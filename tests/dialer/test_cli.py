"""`duecall dial --once` and `duecall campaigns init|list`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from crm.models import Account, Call, Phone
from dialer.campaigns import DEFAULT_CAMPAIGNS
from dialer.simulator import SimulatorServer
from tests.conftest import NOW, Database
from tests.dialer.conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER_ID, add_accounts
from tests.factories import add_call


@pytest.fixture
def simulator_url(simulator_server: SimulatorServer) -> Iterator[str]:
    with httpx.Client(base_url=simulator_server.base_url) as control:
        control.post("/_sim/reset", json={}).raise_for_status()
        control.put("/_sim/faults", json={}).raise_for_status()
        yield simulator_server.base_url
        control.post("/_sim/reset", json={}).raise_for_status()


def test_campaigns_init_creates_the_default_strategy_once(cli, db: Database) -> None:  # type: ignore[no-untyped-def]
    assert cli("campaigns", "list", DUECALL_DATABASE_URL=db.url).out.startswith("no campaigns")
    first = cli("campaigns", "init", DUECALL_DATABASE_URL=db.url)
    assert first.code == 0
    assert first.out.splitlines() == [
        f"created {n}: {c.name}" for n, c in enumerate(DEFAULT_CAMPAIGNS, 1)
    ]
    again = cli("campaigns", "init", DUECALL_DATABASE_URL=db.url)
    assert again.out.splitlines() == [
        f"kept {n}: {c.name}" for n, c in enumerate(DEFAULT_CAMPAIGNS, 1)
    ]
    listed = cli("campaigns", "list", DUECALL_DATABASE_URL=db.url).out.splitlines()
    assert listed[0] == (
        "1: Reminders: pre-due and SMA-0 [active] STANDARD bot, SMA-0 bot; 09:00-19:00 "
        "mon,tue,wed,thu,fri,sat; at most 20 at once, 1/s; queued 0"
    )
    assert len(listed) == len(DEFAULT_CAMPAIGNS)


def test_dial_once_places_what_it_may_and_says_what_it_did(
    cli, db: Database, simulator_url: str
) -> None:  # type: ignore[no-untyped-def]
    with db.session() as session:
        ok = add_accounts(session, 3, prefix="OK")  # SMA-0: the reminder campaign's bot calls them
        (recent,) = add_accounts(session, 1, prefix="RECENT")
        add_call(
            session,
            recent,
            started_at=NOW - timedelta(minutes=10),
            phone=session.get_one(Account, recent).phones[0].number,
        )
        (invalid,) = add_accounts(session, 1, prefix="BAD")
        session.get_one(
            Phone, (invalid, session.get_one(Account, invalid).phones[0].number)
        ).number = "+91123"
        add_accounts(session, 2, prefix="NPA", dpd=120)  # tele-callers only: not the bot's
        session.commit()
    env = {
        "DUECALL_DATABASE_URL": db.url,
        "DUECALL_CLOCK": NOW.isoformat(),
        "DUECALL_CLOCK_RATE": "100",
        "DUECALL_TELEPHONY": "twilio",
        "DUECALL_TWILIO_API_BASE_URL": simulator_url,
        "DUECALL_PUBLIC_BASE_URL": "http://127.0.0.1:9",  # nobody answers the webhooks here
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": CALLER_ID,
    }
    assert cli("campaigns", "init", **env).code == 0
    result = cli("dial", "--once", **env)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "claimed 4, placed 3, blocked 1, failed 1, unconfirmed 0",
        "queued 7 in 4 active campaigns",
    ]
    with db.session() as session:
        calls = {
            c.account_id: c for c in session.scalars(select(Call).where(Call.source == "dialer"))
        }
    assert set(calls) == {*ok, invalid}
    assert calls[invalid].failure_reason is not None and "21211" in calls[invalid].failure_reason


def test_dial_refuses_an_unmigrated_database_and_bad_settings(
    cli, tmp_path: Path, db: Database
) -> None:  # type: ignore[no-untyped-def]
    unmigrated = cli("dial", "--once", DUECALL_DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}")
    assert unmigrated.code == 2
    assert "run `duecall db upgrade`" in " ".join(unmigrated.err.split())
    no_credentials = cli("dial", "--once", DUECALL_DATABASE_URL=db.url, DUECALL_TELEPHONY="twilio")
    assert no_credentials.code == 2
    assert (
        "DUECALL_TELEPHONY=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER"
        in " ".join(no_credentials.err.split())
    )
    bad_clock = cli("dial", "--once", DUECALL_DATABASE_URL=db.url, DUECALL_CLOCK="tomorrow")
    assert bad_clock.code == 2 and "DUECALL_CLOCK" in bad_clock.err
    without_once = cli("dial", DUECALL_DATABASE_URL=db.url)
    assert without_once.code == 2 and "--once" in without_once.err
    assert (
        cli("campaigns", "init", DUECALL_DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}").code == 2
    )
