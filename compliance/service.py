"""Running a compliance check from its JSON form (shared by the CLI and the API)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from compliance.engine import Decision, decide
from compliance.policy import BUNDLED, Policy, load_policy
from compliance.schemas import CaseIn
from duecall.errors import ConfigurationError, InvalidInput


def policy_for(name: str | None, default: Policy, *, files_allowed: bool) -> Policy:
    """The policy a case names (a bundled one; a file too where the caller may read files)."""
    if name is None or name == default.name:
        return default
    if name not in BUNDLED and not files_allowed:
        raise InvalidInput("policy", f"unknown policy {name!r} (bundled: {', '.join(BUNDLED)})")
    try:
        return load_policy(name)
    except ConfigurationError as exc:
        raise InvalidInput("policy", str(exc)) from None


def check(case: CaseIn, default: Policy, *, files_allowed: bool) -> Decision:
    return decide(case.facts(), policy_for(case.policy, default, files_allowed=files_allowed))


def parse_case(raw: Any) -> CaseIn:
    """The case from decoded JSON; InvalidInput names the first bad field."""
    try:
        return CaseIn.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "(the case)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = error["msg"].removeprefix("Value error, ")
        raise InvalidInput(field, f"{message}{more}") from None
