"""The CSV importers fed malformed data (hypothesis): a file that can be read is imported row by
row, every bad row rejected with its line and a reason and nothing of it written; a file that
cannot be read is refused whole, with the store exactly as it was."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from crm.imports import import_file
from crm.imports.runner import rejects_path_for
from crm.models import Account, Borrower, Phone
from duecall.db import reading
from duecall.errors import UnreadableFile
from tests.conftest import NOW, Database
from tests.factories import add_account

IST = ZoneInfo("Asia/Kolkata")
EXAMPLES = 40
fuzzing = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
_files = itertools.count()

# Values people and systems put in CSV fields, and values nobody should.
junk = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "", " ", "-1", "-0.01", "1,00,000", "1e400", "NaN", "inf", "0x1F", "९९", "²",
            "9" * 20, "9" * 40, "99999999999999999.99", "0000-00-00", "2026-02-30",
            "0001-01-01T00:00+05:30", "9999-12-31T23:59-05:00", "2026-13-01T10:00",
            "15/02/2026", "\x00", "'; DROP TABLE accounts; --", "=cmd|' /C calc'!A0",
            "a\nb", '"quoted"', "🙂" * 50, "x" * 300,
        ]
    ),
)  # fmt: skip


def field(*good: str) -> st.SearchStrategy[str]:
    """Mostly a good value, often junk."""
    return st.one_of(st.sampled_from(good), junk)


ACCOUNT_FIELDS: dict[str, st.SearchStrategy[str]] = {
    "borrower_name": field("Priya Sharma", "राहुल वर्मा"),
    "phone": field("+919812345678", "09812345678", "+91 98123 45678"),
    "alt_phone": field("", "+919812345679"),
    "language": field("en", "hi", ""),
    "timezone": field("", "Asia/Kolkata"),
    "product": field("Personal Loan", ""),
    "emi_amount": field("5000.00", "", "0"),
    "overdue_amount": field("5000.00", "0", "12.5"),
    "principal_outstanding": field("120000.00", ""),
    "due_date": field("2026-02-15", ""),
    "dpd": field("0", "15", "95"),
    "disbursal_date": field("2025-01-10", ""),
    "channel": field("branch", ""),
    "agency": field("", "AG1"),
    "assigned_agent": field("", "TC001"),
    "flags": field("", "dnc", "dnc;dispute"),
}
OTHER_KINDS: dict[str, dict[str, st.SearchStrategy[str]]] = {
    "calls": {
        "call_id": field("C1", "C2", "C3"),
        "account_id": field("A1", "A2", "NOPE"),
        "agent_id": field("TC001", "BOT"),
        "started_at": field("2026-03-01T10:00:00+05:30", "2026-03-01 10:00"),
        "duration_s": field("", "60"),
        "disposition": field("RNR", "PTP", "ptp", "BOGUS"),
        "ptp_amount": field("", "5000"),
        "ptp_date": field("", "2026-03-05"),
        "recording_url": field("", "https://recorder.example/r.wav"),
        "phone": field("", "+919812345678"),
    },
    "payments": {
        "account_id": field("A1", "A2", "NOPE"),
        "paid_at": field("2026-03-01", "2026-03-01T10:00:00+05:30"),
        "amount": field("5000", "0.01"),
        "reference": field("", "UTR1"),
    },
    "snapshots": {
        "account_id": field("A1", "A2", "NOPE"),
        "as_of": field("2026-02-28", "2026-01-31"),
        "dpd": field("0", "45"),
        "overdue_amount": field("", "5000"),
        "principal_outstanding": field("", "100000"),
    },
}


def write(path: Path, header: list[str], rows: list[list[str]]) -> list[int]:
    """Write the CSV; returns the first line of each record the importer will see."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    # Lines end at "\n" only, as the importer reads them ("\r" alone is not a line break).
    reader = csv.reader(raw.decode("utf-8") for raw in io.BytesIO(path.read_bytes()))
    next(reader)
    starts, end = [], reader.line_num
    for fields in reader:
        if fields and any(f.strip() for f in fields):
            starts.append(end + 1)
        end = reader.line_num
    return starts


def rejects(path: Path) -> dict[int, str]:
    target = rejects_path_for(path)
    if not target.exists():
        return {}
    with target.open(newline="", encoding="utf-8") as handle:
        return {int(row["line"]): row["reason"] for row in csv.DictReader(handle)}


def store(db: Database) -> dict[str, list[Any]]:
    """Every row of the CRM tables an import writes to."""
    tables = ["borrowers", "accounts", "phones", "account_flags", "agencies", "agents", "calls",
              "promises", "payments", "snapshots"]  # fmt: skip
    with reading(db.engine) as conn:
        return {
            t: sorted(map(repr, conn.execute(text(f"SELECT * FROM {t}")).all())) for t in tables
        }


@pytest.fixture
def base(db: Database) -> Database:
    with db.session() as session, session.begin():
        add_account(session, "A1")
    return db


@fuzzing
@given(
    rows=st.lists(
        st.tuples(st.booleans(), st.fixed_dictionaries(ACCOUNT_FIELDS), st.integers(-1, 1)),
        min_size=1,
        max_size=12,
    )
)
def test_accounts_bad_rows_are_rejected_with_line_and_reason_and_leave_nothing(
    base: Database, tmp_path: Path, rows: list[tuple[bool, dict[str, str], int]]
) -> None:
    prefix = f"F{next(_files)}-"
    header = ["account_id", "borrower_id", *ACCOUNT_FIELDS]
    records, keys = [], []
    for n, (keyed, values, width) in enumerate(rows):
        account_id = f"{prefix}{n}" if keyed else ""
        keys.append(account_id)
        fields = [account_id, f"B{prefix}{n}", *values.values()]
        # Sometimes a field too many or too few.
        records.append(fields[:width] if width < 0 else fields + ["x"] * width)
    path = tmp_path / f"{prefix}accounts.csv"
    starts = write(path, header, records)
    assume(len(starts) == len(records))  # a record of blanks only is skipped, not a row

    result = import_file(base.engine, "accounts", path, zone=IST, now=NOW)

    refused = rejects(path)
    assert result.accepted + result.rejected == len(records)
    assert len(refused) == result.rejected
    assert set(refused) <= set(starts)
    assert all(reason.strip() for reason in refused.values())
    with base.session() as session:
        stored = set(
            session.scalars(select(Account.account_id).where(Account.account_id.like(f"{prefix}%")))
        )
        borrowers = set(
            session.scalars(
                select(Borrower.borrower_id).where(Borrower.borrower_id.like(f"B{prefix}%"))
            )
        )
        phoned = set(
            session.scalars(select(Phone.account_id).where(Phone.account_id.like(f"{prefix}%")))
        )
    accepted = {key for key, start in zip(keys, starts, strict=True) if start not in refused}
    assert "" not in accepted  # a row without its key is always rejected
    assert stored == accepted
    assert phoned == accepted  # every account has its primary phone
    assert borrowers == {f"B{k}" for k in accepted}


@pytest.mark.parametrize("kind", sorted(OTHER_KINDS))
def test_other_imports_reject_bad_rows_row_by_row(
    base: Database, tmp_path: Path, kind: str
) -> None:
    header = list(OTHER_KINDS[kind])

    @fuzzing
    @given(rows=st.lists(st.fixed_dictionaries(OTHER_KINDS[kind]), min_size=1, max_size=10))
    def run(rows: list[dict[str, str]]) -> None:
        path = tmp_path / f"{kind}-{next(_files)}.csv"
        starts = write(path, header, [list(row.values()) for row in rows])
        assume(len(starts) == len(rows))
        result = import_file(base.engine, kind, path, zone=IST, now=NOW)
        refused = rejects(path)
        assert result.accepted + result.rejected == len(rows)
        assert len(refused) == result.rejected and set(refused) <= set(starts)
        assert all(reason.strip() for reason in refused.values())

    run()


@fuzzing
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda head, body: head + body,
            st.sampled_from([b"", b"account_id;borrower_id\n", b"account_id,account_id\n",
                             b"\xff\xfeaccount_id\n", b'"account_id\n', b"\n\n"]),
            st.binary(max_size=100),
        ),
    )
)  # fmt: skip
def test_a_file_that_cannot_be_read_is_refused_whole_and_changes_nothing(
    base: Database, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / f"raw-{next(_files)}.csv"
    path.write_bytes(content)
    before = store(base)
    try:
        result = import_file(base.engine, "accounts", path, zone=IST, now=NOW)
    except UnreadableFile as exc:
        assert str(exc).startswith(str(path))
        assert store(base) == before
        assert not rejects_path_for(path).exists()
    else:
        assert result.accepted + result.rejected >= 0  # read as CSV: row by row as above


BAD_LINES = [
    b"x\xff,y,z,+919812345678,1,1",  # not UTF-8
    b"x\xc3(,y,z,+919812345678,1,1",  # a broken UTF-8 sequence
    b'"never closed,y,z,+919812345678,1,1',  # a quoted field that runs to the end
]


@fuzzing
@given(good=st.integers(1, 30), bad_at=st.integers(0, 30), bad=st.sampled_from(BAD_LINES))
def test_a_bad_line_anywhere_refuses_the_whole_file(
    base: Database, tmp_path: Path, good: int, bad_at: int, bad: bytes
) -> None:
    prefix = f"G{next(_files)}-"
    lines = [
        f"{prefix}{n},B{prefix}{n},Priya Sharma,+919812345678,5000.00,12".encode()
        for n in range(good)
    ]
    lines.insert(min(bad_at, good), bad)
    header = b"account_id,borrower_id,borrower_name,phone,overdue_amount,dpd\n"
    path = tmp_path / f"{prefix}.csv"
    path.write_bytes(header + b"\n".join(lines) + b"\n")
    before = store(base)
    with pytest.raises(UnreadableFile, match=r"line \d+"):
        import_file(base.engine, "accounts", path, zone=IST, now=NOW)
    assert store(base) == before
