"""`duecall compliance check CASE.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from compliance.service import check, parse_case
from duecall.errors import InvalidInput
from duecall.settings import load_settings

app = typer.Typer(help="The compliance engine.", no_args_is_help=True)


@app.command("check")
def check_command(
    case_file: Annotated[Path, typer.Argument(help="The case as JSON (see README).")],
) -> None:
    """Print the decision for a case: allowed, the rules that block, next_allowed_at."""
    from compliance.policy import load_policy

    settings = load_settings()
    try:
        raw = json.loads(case_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(str(case_file), "no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(str(case_file), f"not valid JSON ({exc})") from None
    decision = check(parse_case(raw), load_policy(settings.policy), files_allowed=True)
    typer.echo(json.dumps(decision.as_json(), indent=2, ensure_ascii=False))
