"""`duecall demo`: the main job on the embedded default, end to end, with a summary."""

from __future__ import annotations

import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from crm.buckets import Bucket
from crm.cli import run_import
from crm.seed import write_accounts_csv
from crm.service import portfolio_by_bucket
from duecall.context import AppContext
from duecall.db import upgrade
from duecall.logs import mask_phone

DEMO_ACCOUNTS = 2000
DEMO_SEED = 7


def run_demo(context: AppContext, console: Console, *, accounts: int = DEMO_ACCOUNTS) -> None:
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
    console.print(f"phone numbers in logs are masked, e.g. {mask_phone('+919812345678')}")
    console.print(
        "next: `duecall serve`, then open http://127.0.0.1:8000/docs "
        "(create a token with `duecall users add NAME --role supervisor`)"
    )
