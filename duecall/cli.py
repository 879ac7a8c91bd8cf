"""The `duecall` command: wires each domain's verbs into one Typer app."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import OperationalError

import analytics.cli
import compliance.cli
import dialer.cli
from crm.cli import import_command, seed_command
from crm.models import Role
from duecall.auth import create_user
from duecall.context import AppContext
from duecall.db import require_migrated, transaction, upgrade
from duecall.demo import DEMO_RATE, run_demo
from duecall.errors import ConfigurationError, DuecallError
from duecall.lifecycle import DrainingServer
from duecall.logs import configure_logging
from duecall.settings import load_settings

app = typer.Typer(
    name="duecall",
    help="Loan-collection telephony agent: dialer, compliance, conversations, CRM, analytics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The CRM store.", no_args_is_help=True)
users_app = typer.Typer(help="Users, bearer tokens, screen passwords.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
qa_app = typer.Typer(help="QA: automatic flags and review samples.", no_args_is_help=True)
app.add_typer(qa_app, name="qa")
app.add_typer(compliance.cli.app, name="compliance")
app.add_typer(dialer.cli.campaigns_app, name="campaigns")
app.command("dial")(dialer.cli.dial_command)
app.add_typer(analytics.cli.app, name="report")
app.command("import")(import_command)
app.command("seed")(seed_command)

err = Console(stderr=True, soft_wrap=True)


@app.command()
def demo(
    accounts: Annotated[int, typer.Option(min=10, help="Size of the synthetic portfolio.")] = 2000,
    minutes: Annotated[
        int | None, typer.Option(min=1, help="Simulated minutes of calling [default: 08:00-19:00].")
    ] = None,
    speed: Annotated[
        float, typer.Option(min=1, max=1000, help="Simulated seconds per real second.")
    ] = DEMO_RATE,
) -> None:
    """Run the main job on the embedded default and print a summary."""
    context = AppContext.from_settings(load_settings())
    try:
        run_demo(context, Console(), accounts=accounts, minutes=minutes, rate=speed)
    finally:
        context.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the web server: API, webhooks, screens and the scheduler."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    from server import create_app

    app = create_app(settings)
    config = uvicorn.Config(app, host=host, port=port, log_config=None)
    DrainingServer(config, context=app.state.context).run()


@app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; erase nothing.")
    ] = False,
) -> None:
    """Erase recordings and transcripts past their retention (DPDP Act 2023); prints the counts."""
    from dialer.jobs import purge_expired
    from dialer.providers import telephony_for

    settings = load_settings()
    context = AppContext.from_settings(settings)
    try:
        require_migrated(context.engine)
        report = purge_expired(context, telephony_for(settings), trigger="cli", dry_run=dry_run)
    finally:
        context.close()
    typer.echo(report.summary())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations the store is missing."""
    settings = load_settings()
    upgrade(settings.database_url)
    typer.echo("database is up to date")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    agent_id: Annotated[
        str | None,
        typer.Option(help="For --role agent: the tele-caller's agent id (default NAME)."),
    ] = None,
) -> None:
    """Add a user and print their bearer token (shown only this once)."""
    context = AppContext.from_settings(load_settings())
    try:
        require_migrated(context.engine)
        with transaction(context.sessions) as session:
            try:
                _user, token = create_user(
                    session, name=name, role=role, now=context.clock.now(), agent_id=agent_id
                )
            except ValueError as exc:
                raise DuecallError(str(exc)) from None
    finally:
        context.close()
    typer.echo(token)


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument(help="User name.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set the password the user logs in to the screens with."""
    from web.users import set_password

    context = AppContext.from_settings(load_settings())
    try:
        require_migrated(context.engine)
        with transaction(context.sessions) as session:
            set_password(session, name=name, password=password, now=context.clock.now())
    finally:
        context.close()
    typer.echo(f"password set for {name}")


@qa_app.command("sample")
def qa_sample(
    start: Annotated[str, typer.Option("--from", help="First local day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last local day, YYYY-MM-DD.")],
    rate: Annotated[float, typer.Option(help="Share of each agent's recorded calls.")] = 0.05,
    minimum: Annotated[int, typer.Option(help="At least this many per agent.")] = 3,
    outlier_factor: Annotated[float, typer.Option(help="Outliers: this many times more.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed, same sample.")] = 0,
    outlier: Annotated[
        list[str] | None, typer.Option(help="An outlier agent id (default: those analytics flags).")
    ] = None,
) -> None:
    """Flag the period's calls and draw the QA sample of its recorded calls."""
    from datetime import date

    from analytics.qa.jobs import sample_period
    from analytics.qa.sampling import SamplingPlan
    from duecall.errors import InvalidInput

    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        raise InvalidInput("--from/--to", f"not a date YYYY-MM-DD ({exc})") from None
    plan = SamplingPlan(rate=rate, minimum=minimum, outlier_factor=outlier_factor, seed=seed)
    context = AppContext.from_settings(load_settings())
    try:
        require_migrated(context.engine)
        sample, draws = sample_period(
            context,
            start=first,
            end=last,
            plan=plan,
            outliers=frozenset(outlier) if outlier else None,
        )
    finally:
        context.close()
    typer.echo(f"sample {sample.id}: {len(draws)} calls to review")


def _log_through_masking() -> None:
    """Like logging.basicConfig, for a process whose logging nobody set up yet (a host that
    routes logs itself, such as a test runner, keeps its handlers)."""
    try:
        settings = load_settings()
    except ConfigurationError:  # the command itself reports it; log with the defaults meanwhile
        configure_logging()
        return
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())


def main() -> None:
    """Console entry point: domain errors become a one-line message and exit status 2."""
    try:
        if not logging.getLogger().handlers:
            _log_through_masking()
        app()
    except DuecallError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise SystemExit(2) from None
    except OperationalError as exc:  # the store is down, refuses us, or is not where it is said
        err.print(f"[red]error:[/red] the database cannot be used: {escape(str(exc.orig))}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
