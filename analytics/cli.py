"""`duecall report agents|roll-rates|cohorts|ptp|buckets|products|channels`."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table as RichTable

from analytics import reports
from analytics.tables import Table
from duecall.context import AppContext
from duecall.db import reading, require_migrated
from duecall.errors import InvalidInput
from duecall.settings import load_settings

app = typer.Typer(help="Agent quality, promises and portfolio reports.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(option, f"{value!r} is not a date (expected YYYY-MM-DD)") from None


FromOption = Annotated[
    str | None, typer.Option("--from", help="First day YYYY-MM-DD (default: 30 days to --to).")
]
ToOption = Annotated[str | None, typer.Option("--to", help="Last day YYYY-MM-DD (default: today).")]
FormatOption = Annotated[Format, typer.Option("--format", help="Output format.")]


def _run(table_name: str, start: str | None, end: str | None, fmt: Format) -> None:
    name, flatten = reports.TABLES[table_name]
    settings = load_settings()
    first, last = _day(start, "--from"), _day(end, "--to")
    context = AppContext.from_settings(settings)
    try:
        require_migrated(context.engine)
        zone = ZoneInfo(settings.default_timezone)
        today = context.clock.now().astimezone(zone).date()
        query = reports.ReportQuery.build(start=first, end=last, today=today, zone=zone)
        with reading(context.engine) as conn:
            answer = reports.answer(name, conn, query)
    finally:
        context.close()
    if fmt is Format.json:
        typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    table = flatten(answer)
    if fmt is Format.csv:
        typer.echo(table.to_csv(), nl=False)
        return
    _print(table, title=f"{table_name} {query.period.start} to {query.period.end}")


def _print(table: Table, *, title: str) -> None:
    rich_table = RichTable(title=title)
    for column in table.columns:
        rich_table.add_column(column, overflow="fold")
    for row in table.rows:
        rich_table.add_row(*("" if v is None else str(v) for v in row))
    Console(width=max(120, 14 * len(table.columns))).print(rich_table)


@app.command("agents")
def agents_command(
    start: FromOption = None, end: ToOption = None, fmt: FormatOption = Format.table
) -> None:
    """Agent quality: attempts, contacts, RPC, PTP, disposition mix, rates, outliers."""
    _run("agents", start, end, fmt)


@app.command("agencies")
def agencies_command(
    start: FromOption = None, end: ToOption = None, fmt: FormatOption = Format.table
) -> None:
    """The agents' figures summed per agency."""
    _run("agencies", start, end, fmt)


@app.command("roll-rates")
def roll_rates_command(
    start: FromOption = None, end: ToOption = None, fmt: FormatOption = Format.table
) -> None:
    """Roll-rate matrix from --from's month to the next (default: the latest full pair)."""
    _run("roll-rates", start, end, fmt)


@app.command("cohorts")
def cohorts_command(
    start: FromOption = None, end: ToOption = None, fmt: FormatOption = Format.table
) -> None:
    """Recovery curves of NPA cohorts (NPA dates from --from to --to; default all to --to)."""
    _run("cohorts", start, end, fmt)


@app.command("ptp")
def ptp_command(
    start: FromOption = None, end: ToOption = None, fmt: FormatOption = Format.table
) -> None:
    """Promises made in the period per agent: kept, broken, pending, amounts."""
    _run("ptp", start, end, fmt)


@app.command("buckets")
def buckets_command(
    start: FromOption = None, end: ToOption = None, fmt: FormatOption = Format.table
) -> None:
    """Accounts per bucket month by month (default: the 12 months to --to)."""
    _run("buckets", start, end, fmt)


@app.command("products")
def products_command(
    start: FromOption = None, end: ToOption = None, fmt: FormatOption = Format.table
) -> None:
    """Per product: NPA rates and the period's recovery rate."""
    _run("products", start, end, fmt)


@app.command("channels")
def channels_command(
    start: FromOption = None, end: ToOption = None, fmt: FormatOption = Format.table
) -> None:
    """Per sourcing channel: NPA rates and the period's recovery rate."""
    _run("channels", start, end, fmt)
