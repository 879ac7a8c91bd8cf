"""CLI verbs of the CRM: `duecall import`, `duecall seed`."""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from crm.imports import ImportResult, describe, import_file
from crm.seed import write_accounts_csv
from duecall.context import AppContext
from duecall.db import require_migrated
from duecall.errors import InvalidInput
from duecall.settings import load_settings

err = Console(stderr=True, soft_wrap=True)


class ImportKindName(StrEnum):
    accounts = "accounts"
    calls = "calls"
    payments = "payments"
    snapshots = "snapshots"


def run_import(context: AppContext, kind: str, path: Path, *, show_progress: bool) -> ImportResult:
    """Import one file, with a progress bar when asked; raises UnreadableFile."""
    require_migrated(context.engine)
    zone = ZoneInfo(context.settings.default_timezone)
    now = context.clock.now()
    if not show_progress:
        return import_file(context.engine, kind, path, zone=zone, now=now)
    size = path.stat().st_size if path.is_file() else None
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(f"importing {path.name}", total=size)
        return import_file(
            context.engine,
            kind,
            path,
            zone=zone,
            now=now,
            on_progress=lambda done: progress.update(task, completed=done),
        )


def import_command(
    kind: Annotated[ImportKindName, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(help="CSV file (UTF-8, header row).")],
) -> None:
    """Import a CSV file; bad rows go to FILE.rejects.csv with line number and reason."""
    context = AppContext.from_settings(load_settings())
    try:
        result = run_import(context, kind.value, file, show_progress=sys.stderr.isatty())
    finally:
        context.close()
    typer.echo(describe(result))


def seed_command(
    accounts: Annotated[int, typer.Option(min=1, help="Number of accounts.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same portfolio.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Portfolio date YYYY-MM-DD (default: today, lender's zone).")
    ] = None,
) -> None:
    """Write a synthetic Indian retail portfolio in the accounts CSV format."""
    context = AppContext.from_settings(load_settings())
    try:
        day = date.fromisoformat(as_of) if as_of else _today(context)
    except ValueError:
        raise InvalidInput("--as-of", f"{as_of!r} is not a date (expected YYYY-MM-DD)") from None
    finally:
        context.close()
    if out is None:
        write_accounts_csv(sys.stdout, accounts, seed=seed, as_of=day)
        return
    with out.open("w", newline="", encoding="utf-8") as handle:
        write_accounts_csv(handle, accounts, seed=seed, as_of=day)
    err.print(f"wrote {accounts} accounts to {out}")


def _today(context: AppContext) -> date:
    return context.clock.now().astimezone(ZoneInfo(context.settings.default_timezone)).date()
