"""`duecall dial --once` and `duecall campaigns init|list`."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import func, select

from dialer.campaigns import ensure_default_campaigns
from dialer.jobs import dial_pass, recover_calls, refresh_queues
from dialer.models import Campaign, DialQueueEntry
from dialer.providers import telephony_for
from duecall.context import AppContext
from duecall.db import read_session, require_migrated, transaction
from duecall.errors import InvalidInput
from duecall.settings import load_settings

campaigns_app = typer.Typer(help="Dialer campaigns.", no_args_is_help=True)


def _context() -> AppContext:
    """The settings' context on a migrated store (exit 2 naming the problem otherwise)."""
    context = AppContext.from_settings(load_settings())
    try:
        require_migrated(context.engine)
    except Exception:
        context.close()
        raise
    return context


def dial_command(
    once: Annotated[
        bool, typer.Option("--once", help="Run one dialer pass now, then exit.")
    ] = False,
) -> None:
    """One dialer pass now: recover stuck calls, refresh the queues, claim and place calls."""
    if not once:
        raise InvalidInput(
            "--once", "required: `duecall serve` runs the scheduled dialer, `--once` one pass"
        )
    context = _context()
    try:
        telephony = telephony_for(context.settings)
        recovered = recover_calls(context)
        queued = refresh_queues(context)
        report = dial_pass(context, telephony)
    finally:
        context.close()
    typer.echo(
        f"claimed {report.claimed}, placed {report.placed}, blocked {report.blocked}, "
        f"failed {report.failed}, unconfirmed {report.unconfirmed}"
    )
    typer.echo(f"queued {sum(queued.values())} in {len(queued)} active campaigns")
    if recovered:
        typer.echo(f"recovered {recovered} stuck calls")


@campaigns_app.command("init")
def campaigns_init() -> None:
    """Create the default strategy's campaigns that are missing (existing ones are kept)."""
    context = _context()
    try:
        with transaction(context.sessions) as session:
            before = set(session.scalars(select(Campaign.name)))
            campaigns = ensure_default_campaigns(session, now=context.clock.now())
            lines = [
                f"{'kept' if c.name in before else 'created'} {c.id}: {c.name}" for c in campaigns
            ]
    finally:
        context.close()
    typer.echo("\n".join(lines))


@campaigns_app.command("list")
def campaigns_list() -> None:
    """Every campaign: id, state, buckets, pacing and the size of its queue."""
    context = _context()
    try:
        with read_session(context.sessions) as session:
            rows = session.execute(
                select(DialQueueEntry.campaign_id, func.count()).group_by(
                    DialQueueEntry.campaign_id
                )
            )
            sizes: dict[int, int] = {int(row[0]): int(row[1]) for row in rows}
            campaigns = list(session.scalars(select(Campaign).order_by(Campaign.id)))
    finally:
        context.close()
    if not campaigns:
        typer.echo("no campaigns: `duecall campaigns init` creates the default strategy's")
        return
    for c in campaigns:
        state = "active" if c.active else "paused"
        channels = ", ".join(f"{bucket} {channel}" for bucket, channel in c.channels.items())
        typer.echo(
            f"{c.id}: {c.name} [{state}] {channels}; {c.start:%H:%M}-{c.end:%H:%M} "
            f"{','.join(c.days)}; at most {c.max_concurrent} at once, "
            f"{c.calls_per_second:g}/s; queued {sizes.get(c.id, 0)}"
        )
