"""Call scripts for tele-callers: per language and stage of delinquency, with objection answers.

The scripts are TOML files beside this module (`scripts/en.toml`, `scripts/hi.toml`), edited by
the collections team; a language without a file falls back to English.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
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
    path = SCRIPTS_DIR / f"{language}.toml"
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


def script_for(bucket: str, language: str, **values: str) -> Script | None:
    """The script for `bucket` in `language` (or English), with the placeholders filled."""
    known = {p.stem for p in SCRIPTS_DIR.glob("*.toml")}
    script = _load(language if language in known else FALLBACK_LANGUAGE).get(bucket)
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
