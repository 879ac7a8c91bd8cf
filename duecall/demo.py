"""`duecall demo`: the main job on the embedded default, end to end, with a summary."""

from __future__ import annotations

import tempfile
import time as std_time
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine, func, select

from crm.buckets import Bucket
from crm.cli import run_import
from crm.models import Account, Borrower, Call, Phone, Promise
from crm.seed import write_accounts_csv
from crm.service import portfolio_by_bucket
from dialer.calls import TERMINAL
from dialer.campaigns import ensure_default_campaigns
from dialer.jobs import dial_pass, refresh_queues
from dialer.providers import SIMULATOR_PATH, TWILIO_API
from duecall.clock import StartedClock
from duecall.context import AppContext
from duecall.db import reading, transaction, upgrade
from duecall.live import free_socket, serving
from duecall.logs import mask_phone
from server import create_app

DEMO_ACCOUNTS = 2000
DEMO_SEED = 7
DEMO_RATE = 300.0  # five simulated minutes per real second
DAY_START = time(8, 0)  # the overdue-recovery window of the default policy (RBI)
DAY_END = time(19, 0)


def run_demo(
    context: AppContext,
    console: Console,
    *,
    accounts: int = DEMO_ACCOUNTS,
    minutes: int | None = None,
    rate: float = DEMO_RATE,
) -> None:
    settings = context.settings
    url = context.engine.url.render_as_string(hide_password=True)
    console.rule("duecall demo")
    console.print(f"store: {url}")
    upgrade(settings.database_url)

    today = context.clock.now().astimezone(ZoneInfo(settings.default_timezone)).date()
    with tempfile.TemporaryDirectory(prefix="duecall-demo-") as workdir:
        portfolio = Path(workdir) / "accounts.csv"
        with portfolio.open("w", newline="", encoding="utf-8") as out:
            write_accounts_csv(out, accounts, seed=DEMO_SEED, as_of=today)
        result = run_import(context, "accounts", portfolio, show_progress=console.is_terminal)
    console.print(
        f"seeded a synthetic portfolio of {accounts} accounts as of {today}: "
        f"{result.accepted} imported, {result.rejected} rejected"
    )

    with context.sessions() as session:
        summary = portfolio_by_bucket(session)
    table = Table(title="Portfolio by bucket (borrower-wise, RBI)")
    for column in ("bucket", "accounts", "overdue ₹", "principal outstanding ₹"):
        table.add_column(column, justify="left" if column == "bucket" else "right")
    for row in summary:
        table.add_row(
            row.bucket, f"{row.accounts:,}", f"{row.overdue:,.2f}", f"{row.principal:,.2f}"
        )
    table.add_row(
        "total",
        f"{sum(r.accounts for r in summary):,}",
        f"{sum(r.overdue for r in summary):,.2f}",
        f"{sum(r.principal for r in summary):,.2f}",
        style="bold",
    )
    console.print(table)
    npa = next(r for r in summary if r.bucket is Bucket.NPA)
    console.print(f"NPA share of accounts: {npa.accounts / max(1, result.accepted):.1%}")
    calling_day(context, console, minutes=minutes, rate=rate)
    console.print(f"phone numbers in logs are masked, e.g. {mask_phone('+919812345678')}")
    console.print(
        "next: `duecall serve`, then open http://127.0.0.1:8000/docs "
        "(create a token with `duecall users add NAME --role supervisor`)"
    )


def calling_day(
    context: AppContext, console: Console, *, minutes: int | None = None, rate: float = DEMO_RATE
) -> None:
    """A simulated calling day through the real server and the embedded simulator.

    The server runs on a free local port with the bot campaigns of the default strategy; its
    clock starts at 08:00 today in the lender's zone and runs `rate` times as fast until 19:00
    (or for `minutes`), and the simulator's borrowers (personas drawn per bucket) answer the
    conversation agent. Retries and callbacks fall due during the day as they would.
    """
    zone = ZoneInfo(context.settings.default_timezone)
    today = context.clock.now().astimezone(zone).date()
    start = datetime.combine(today, DAY_START, zone)
    if minutes is None:
        minutes = int((datetime.combine(today, DAY_END, zone) - start).total_seconds() // 60)
    sock = free_socket()
    settings = context.settings.model_copy(
        update={
            "public_base_url": f"http://127.0.0.1:{sock.getsockname()[1]}",
            "scheduler": "off",  # the demo runs the dialer passes itself, below
            "clock_rate": rate,
            "twilio_api_base_url": TWILIO_API,
            "telephony": "simulator",
        }
    )
    app = create_app(settings, StartedClock(start, rate))
    day = app.state.context
    with serving(app, sock):
        with transaction(day.sessions) as session:
            ensure_default_campaigns(session, now=start)
        _register_borrowers(day, settings.public_base_url)
        refresh_queues(day)
        placed = 0
        with Progress(console=console, transient=not console.is_terminal) as progress:
            task = progress.add_task("calling (simulated minutes)", total=minutes)
            deadline = start + timedelta(minutes=minutes)
            while day.clock.now() < deadline:
                placed += dial_pass(day, app.state.telephony).placed
                elapsed = (day.clock.now() - start).total_seconds() / 60
                progress.update(task, completed=min(elapsed, minutes))
                std_time.sleep(0.5)
            _wait_for_calls(day)
        with reading(day.engine) as conn:
            mix = conn.execute(
                select(Call.disposition, func.count())
                .where(Call.source == "dialer")
                .group_by(Call.disposition)
                .order_by(func.count().desc())
            ).all()
            promised = conn.execute(
                select(func.count(), func.coalesce(func.sum(Promise.amount), 0)).where(
                    Promise.created_at >= start
                )
            ).one()
    console.print(
        f"Calling day {today}: {minutes} simulated minutes from {DAY_START:%H:%M}, "
        f"{placed:,} calls placed"
    )
    table = Table()
    table.add_column("disposition")
    table.add_column("calls", justify="right")
    for code, count in mix:
        table.add_row(code or "(in progress)", f"{count:,}")
    console.print(table)
    console.print(f"promises to pay: {promised[0]:,} for ₹{promised[1]:,.2f}")


def _register_borrowers(context: AppContext, base_url: str) -> None:
    """Tell the simulator who answers each number: the borrower's name, language and loan."""
    with httpx.Client(base_url=f"{base_url}{SIMULATOR_PATH}", timeout=60) as control:
        register_borrowers(control, context.engine)


def register_borrowers(control: httpx.Client, engine: Engine) -> int:
    """Register every phone of the store with the simulator whose control API `control` is
    (base URL without `/_sim`): the borrower's name, language, loan digits and bucket."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(
                Phone.number, Borrower.name, Account.language, Account.account_id, Account.bucket
            )
            .join(Account, Account.account_id == Phone.account_id)
            .join(Borrower, Borrower.borrower_id == Account.borrower_id)
        ).all()
    directory = [
        {
            "number": number, "name": name, "language": language,
            "loan_last4": "".join(c for c in account_id if c.isdigit())[-4:], "bucket": str(bucket),
        }
        for number, name, language, account_id, bucket in rows
    ]  # fmt: skip
    control.post("/_sim/directory", json=directory).raise_for_status()
    return len(directory)


def _wait_for_calls(context: AppContext, seconds: float = 30.0) -> None:
    """Let the calls in progress finish (real seconds at most)."""
    give_up = std_time.monotonic() + seconds
    while std_time.monotonic() < give_up:
        with reading(context.engine) as conn:
            live = conn.scalar(
                select(func.count()).select_from(Call).where(Call.status.not_in(TERMINAL))
            )
        if not live:
            return
        std_time.sleep(0.5)
