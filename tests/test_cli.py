"""The `duecall` command as people use it: exit codes, messages, files."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import select

from crm.buckets import bucket_for_dpd
from crm.models import Account
from duecall.auth import authenticate
from tests.conftest import Database


def test_seed_is_deterministic_and_realistic(cli) -> None:  # type: ignore[no-untyped-def]
    first = cli("seed", "--accounts", "600", "--seed", "4", "--as-of", "2026-03-01")
    again = cli("seed", "--accounts", "600", "--seed", "4", "--as-of", "2026-03-01")
    other = cli("seed", "--accounts", "600", "--seed", "5", "--as-of", "2026-03-01")
    assert first.code == 0 and first.out == again.out != other.out
    rows = list(csv.DictReader(io.StringIO(first.out)))
    assert len(rows) == 600
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(r["phone"])) for r in rows)
    assert all(r["phone"].startswith("+91") for r in rows)
    buckets = Counter(bucket_for_dpd(int(r["dpd"])) for r in rows)
    assert all(buckets[b] >= 20 for b in buckets) and len(buckets) == 5
    accounts_per_borrower = Counter(r["borrower_id"] for r in rows)
    assert 5 <= sum(1 for n in accounts_per_borrower.values() if n > 1) < 100
    assert sum(1 for r in rows if r["flags"]) >= 5
    assert {r["language"] for r in rows} == {"en", "hi"}
    assert len({r["product"] for r in rows}) >= 5


def test_seed_to_file_then_import(cli, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "book.csv"
    assert cli("seed", "--accounts", "300", "--out", str(out)).code == 0
    result = cli("import", "accounts", str(out), DUECALL_DATABASE_URL=db.url)
    assert result.code == 0
    assert result.out.strip() == "accounts: accepted 300, rejected 0"
    with db.session() as session:
        assert len(session.scalars(select(Account.account_id)).all()) == 300


def test_import_with_bad_rows_exits_0_and_names_the_rejects_file(
    cli, db: Database, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "payments.csv"
    path.write_text("account_id,paid_at,amount\nA404,2026-03-01,100\n")
    result = cli("import", "payments", str(path), DUECALL_DATABASE_URL=db.url)
    assert result.code == 0
    assert result.out.strip() == (
        f"payments: accepted 0, rejected 1; rejected rows with line and reason: {tmp_path / 'payments.rejects.csv'}"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("account_id\nA1\n", "missing required columns for payments: paid_at, amount"),
    ],
)
def test_unreadable_import_exits_2(
    cli, db: Database, tmp_path: Path, content: str | None, message: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "payments.csv"
    if content is not None:
        path.write_text(content)
    result = cli("import", "payments", str(path), DUECALL_DATABASE_URL=db.url)
    assert result.code == 2
    assert message in result.err


def test_commands_refuse_an_unmigrated_database(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = cli("users", "add", "asha", "--role", "qa", DUECALL_DATABASE_URL=url)
    assert result.code == 2
    assert "run `duecall db upgrade`" in " ".join(result.err.split())
    assert cli("db", "upgrade", DUECALL_DATABASE_URL=url).out.strip() == "database is up to date"
    assert cli("users", "add", "asha", "--role", "qa", DUECALL_DATABASE_URL=url).code == 0


def test_users_add_prints_a_working_token(cli, db: Database) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "users",
        "add",
        "ravi",
        "--role",
        "agent",
        "--agent-id",
        "TC009",
        DUECALL_DATABASE_URL=db.url,
    )
    assert result.code == 0
    token = result.out.strip()
    with db.session() as session:
        principal = authenticate(session, token=token, admin_token=None)
    assert principal is not None
    assert (principal.name, principal.role, principal.agent_id) == ("ravi", "agent", "TC009")
    again = cli("users", "add", "ravi", "--role", "qa", DUECALL_DATABASE_URL=db.url)
    assert again.code == 2
    assert "a user named 'ravi' already exists" in again.err


def test_bad_configuration_exits_2_naming_the_variable(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("db", "upgrade", DUECALL_TELEPHONY="asterisk")
    assert result.code == 2
    assert "DUECALL_TELEPHONY" in result.err


def test_demo_runs_from_the_console_script(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DUECALL_", "TWILIO_", "OPENAI_"))
    }
    script = Path(sys.executable).with_name("duecall")
    done = subprocess.run(
        [str(script), "demo", "--accounts", "200", "--minutes", "15"], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert "200 imported, 0 rejected" in said
    assert "Portfolio by bucket" in said
    assert "15 simulated minutes" in said and "promises to pay" in said
    assert (tmp_path / "duecall.db").exists()
