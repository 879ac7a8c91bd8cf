"""Call scripts for tele-callers: per language and stage of delinquency, with objection answers.

The scripts are TOML files in `prompts/` (`prompts/en/caller.toml`, `prompts/hi/caller.toml`),
edited by the collections team; a language without a file falls back to English.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

SCRIPT_FILE = "caller.toml"
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class Script:
    language: str
    stage: str
    opening: str
    purpose: str
    close: str
    objections: tuple[tuple[str, str], ...]  # (what the borrower says, a suggested answer)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@cache
def _load(language: str) -> dict[str, Script]:
    path = resources.files("prompts").joinpath(language, SCRIPT_FILE)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    scripts = {}
    for stage, body in data.items():
        script = Script(
            language,
            stage,
            body["opening"],
            body["purpose"],
            body["close"],
            tuple(body.get("objections", {}).items()),
        )
        for bucket in body["buckets"]:
            scripts[bucket] = script
    return scripts


@cache
def _has_script(language: str) -> bool:
    if not language.isalpha():
        return False
    return resources.files("prompts").joinpath(language, SCRIPT_FILE).is_file()


def script_for(bucket: str, language: str, **values: str) -> Script | None:
    """The script for `bucket` in `language` (or English), with the placeholders filled."""
    script = _load(language if _has_script(language) else FALLBACK_LANGUAGE).get(bucket)
    if script is None:
        return None
    fill = _Blank(values)
    return Script(
        script.language,
        script.stage,
        script.opening.format_map(fill),
        script.purpose.format_map(fill),
        script.close.format_map(fill),
        tuple((q, a.format_map(fill)) for q, a in script.objections),
    )
