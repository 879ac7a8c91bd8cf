"""CSV imports: good rows land, bad rows are reported with line and reason, nothing half-writes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm.buckets import Bucket
from crm.imports import ImportResult, import_file
from crm.models import (
    Account,
    AccountFlag,
    Agency,
    Agent,
    Borrower,
    Call,
    Payment,
    Phone,
    PhoneStatus,
    Promise,
    Snapshot,
)
from duecall.errors import UnreadableFile
from tests.conftest import NOW, Database
from tests.factories import read_csv, write_csv

IST = ZoneInfo("Asia/Kolkata")
ACCOUNT_HEADER = [
    "account_id", "borrower_id", "borrower_name", "phone", "alt_phone", "language", "timezone",
    "product", "emi_amount", "overdue_amount", "principal_outstanding", "due_date", "dpd",
    "disbursal_date", "channel", "agency", "assigned_agent", "flags",
]  # fmt: skip


def account_row(account_id: str, **fields: Any) -> dict[str, Any]:
    row = {
        "account_id": account_id, "borrower_id": f"B{account_id}", "borrower_name": "Priya Sharma",
        "phone": "+919812345678", "alt_phone": "", "language": "en", "timezone": "",
        "product": "Personal Loan", "emi_amount": "5000.00", "overdue_amount": "5000.00",
        "principal_outstanding": "120000.00", "due_date": "2026-02-15", "dpd": "15",
        "disbursal_date": "2025-01-10", "channel": "branch", "agency": "", "assigned_agent": "",
        "flags": "",
    }  # fmt: skip
    row.update(fields)
    return row


def run(
    db: Database, kind: str, path: Path, *, now: Any = NOW, batch_rows: int = 10_000
) -> ImportResult:
    return import_file(db.engine, kind, path, zone=IST, now=now, batch_rows=batch_rows)


def count(db: Database, model: Any) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def accounts_csv(tmp_path: Path, *rows: dict[str, Any], name: str = "accounts.csv") -> Path:
    return write_csv(tmp_path / name, ACCOUNT_HEADER, list(rows))


# --- accounts ------------------------------------------------------------------------------


def test_accounts_land_with_phones_flags_agents_and_buckets(db: Database, tmp_path: Path) -> None:
    path = accounts_csv(
        tmp_path,
        account_row("A1", phone="98123 45678", alt_phone="09812345679", flags="dnc;dispute",
                    agency="AG01", assigned_agent="TC007", language="hi", timezone="Asia/Calcutta"),
        account_row("A2", dpd="0", overdue_amount="0"),
        account_row("A3", dpd="100", due_date=""),
    )  # fmt: skip
    result = run(db, "accounts", path)
    assert (result.accepted, result.rejected, result.rejects_path) == (3, 0, None)
    with db.session() as session:
        a1 = session.get(Account, "A1")
        assert a1 is not None
        assert a1.bucket is Bucket.SMA_0
        assert (a1.language, a1.timezone, a1.agency_id, a1.assigned_agent_id) == (
            "hi", "Asia/Calcutta", "AG01", "TC007",
        )  # fmt: skip
        assert a1.overdue_amount == Decimal("5000.00")
        assert a1.due_date == date(2026, 2, 15)
        assert [(p.number, p.source, p.status) for p in a1.phones] == [
            ("+919812345678", "primary", PhoneStatus.OK),
            ("+919812345679", "alt", PhoneStatus.OK),
        ]
        assert sorted(f.flag.value for f in a1.flags) == ["dispute", "dnc"]
        assert session.get(Agency, "AG01") is not None
        assert session.get(Agent, "TC007") is not None
        assert session.get(Borrower, "BA1").name == "Priya Sharma"  # type: ignore[union-attr]
        a3 = session.get(Account, "A3")
        assert a3 is not None
        assert (a3.bucket, a3.due_date) == (Bucket.NPA, None)
        # 100 dpd on the import day (2026-03-02 in Mumbai): NPA since dpd 91, nine days earlier.
        assert a3.npa_since == date(2026, 3, 2) - timedelta(days=9)
        assert session.get(Account, "A2").bucket is Bucket.STANDARD  # type: ignore[union-attr]


BAD_ACCOUNT_ROWS = [
    (account_row("", ), "account_id: required"),
    (account_row("X2", borrower_name=" "), "borrower_name: required"),
    (account_row("X3", phone="+915555555555"), "phone: +915555555555 is not a valid number"),
    (account_row("X4", phone="call me"), "phone: 'call me' is not a phone number"),
    (account_row("X5", overdue_amount="1,000"), "overdue_amount: '1,000' is not an amount"),
    (account_row("X6", emi_amount="-500"), "emi_amount: negative amount -500"),
    (account_row("X7", due_date="15/02/2026"), "due_date: '15/02/2026' is not a date"),
    (account_row("X8", flags="dnc;vip"), "flags: unknown flag vip"),
    (account_row("X9", language="ta"), "language: 'ta' is not one of en, hi"),
    (account_row("X10", dpd="ten"), "dpd: 'ten' is not a whole number"),
    (account_row("X11", dpd="-3"), "dpd: negative value -3"),
    (account_row("X12", timezone="IST"), "timezone: 'IST' is not an IANA time zone"),
    (account_row("X13", alt_phone="n/a"), "alt_phone: 'n/a' is not a phone number"),
    (account_row("X14", overdue_amount=""), "overdue_amount: required"),
]  # fmt: skip


def test_every_bad_row_is_reported_and_every_good_row_kept(db: Database, tmp_path: Path) -> None:
    rows = (
        [account_row("G1")]
        + [row for row, _ in BAD_ACCOUNT_ROWS]
        + [account_row("G2"), account_row("G1")]
    )
    path = accounts_csv(tmp_path, *rows)
    result = run(db, "accounts", path)
    assert (result.accepted, result.rejected) == (2, len(BAD_ACCOUNT_ROWS) + 1)
    assert result.rejects_path == tmp_path / "accounts.rejects.csv"
    rejects = read_csv(result.rejects_path)
    expected = [reason for _, reason in BAD_ACCOUNT_ROWS] + [
        "duplicate account_id in file (first at line 2)"
    ]
    assert [r["reason"][: len(e)] for r, e in zip(rejects, expected, strict=True)] == expected
    # Line numbers count the header as line 1; the original fields are kept for fixing.
    assert [int(r["line"]) for r in rejects] == [
        *range(3, 3 + len(BAD_ACCOUNT_ROWS)),
        len(rows) + 1,
    ]
    assert rejects[4]["overdue_amount"] == "1,000"
    assert list(rejects[0]) == ["line", "reason", *ACCOUNT_HEADER]
    with db.session() as session:
        assert set(session.scalars(select(Account.account_id))) == {"G1", "G2"}


def test_invalid_alt_phone_is_kept_as_invalid(db: Database, tmp_path: Path) -> None:
    run(db, "accounts", accounts_csv(tmp_path, account_row("A1", alt_phone="+915555555555")))
    with db.session() as session:
        statuses = {p.number: p.status for p in session.scalars(select(Phone))}
    assert statuses == {"+919812345678": PhoneStatus.OK, "+915555555555": PhoneStatus.INVALID}


def test_row_shape_blank_lines_and_multiline_fields(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    good = ",".join(str(v) for v in account_row("A1").values())
    multiline = ",".join(
        f'"{v}"' if k == "borrower_name" else str(v)
        for k, v in account_row("A2", borrower_name="Priya\nSharma").items()
    )
    path.write_text(
        ",".join(ACCOUNT_HEADER) + "\n" + good + "\n\n" + multiline + "\nA3,BA3,short\n",
        encoding="utf-8",
    )
    result = run(db, "accounts", path)
    assert (result.accepted, result.rejected) == (2, 1)
    [reject] = read_csv(result.rejects_path)  # type: ignore[arg-type]
    assert (reject["line"], reject["reason"]) == ("6", "the row has 3 fields, the header has 18")


def test_reimport_is_idempotent_and_only_rewrites_what_changed(
    db: Database, tmp_path: Path
) -> None:
    rows = [account_row(f"A{n}", dpd=str(n * 10)) for n in range(1, 6)]
    path = accounts_csv(tmp_path, *rows)
    run(db, "accounts", path)
    later = NOW + timedelta(days=1)
    rows[0]["overdue_amount"] = "7500.00"
    run(db, "accounts", accounts_csv(tmp_path, *rows), now=later)
    run(db, "accounts", accounts_csv(tmp_path, *rows), now=later + timedelta(days=1))
    assert (count(db, Account), count(db, Borrower), count(db, Phone)) == (5, 5, 5)
    with db.session() as session:
        updated = dict(session.execute(select(Account.account_id, Account.updated_at)).all())
        assert session.get(Account, "A1").overdue_amount == Decimal("7500.00")  # type: ignore[union-attr]
    assert updated["A1"] == later
    assert updated["A2"] == NOW


def test_reimport_replaces_listed_phones_but_keeps_what_calls_taught(
    db: Database, tmp_path: Path
) -> None:
    run(db, "accounts", accounts_csv(tmp_path, account_row("A1", alt_phone="+919812345679")))
    with db.session() as session, session.begin():
        phone = session.scalar(select(Phone).where(Phone.number == "+919812345679"))
        assert phone is not None
        phone.status = PhoneStatus.WRONG_NUMBER
    run(
        db,
        "accounts",
        accounts_csv(tmp_path, account_row("A1", phone="+919812345670", alt_phone="")),
    )
    with db.session() as session:
        phones = {p.number: (p.source, p.status) for p in session.scalars(select(Phone))}
    assert phones == {
        "+919812345670": ("primary", PhoneStatus.OK),
        "+919812345679": ("alt", PhoneStatus.WRONG_NUMBER),
    }


def test_reimport_keeps_wrong_number_status_of_a_listed_phone(db: Database, tmp_path: Path) -> None:
    path = accounts_csv(tmp_path, account_row("A1"))
    run(db, "accounts", path)
    with db.session() as session, session.begin():
        session.scalars(select(Phone)).one().status = PhoneStatus.WRONG_NUMBER
    run(db, "accounts", path)
    with db.session() as session:
        assert session.scalars(select(Phone.status)).one() is PhoneStatus.WRONG_NUMBER


def test_flags_are_replaced_on_reimport(db: Database, tmp_path: Path) -> None:
    run(db, "accounts", accounts_csv(tmp_path, account_row("A1", flags="dnc;fraud")))
    run(db, "accounts", accounts_csv(tmp_path, account_row("A1", flags="legal_hold")))
    with db.session() as session:
        assert list(session.scalars(select(AccountFlag.flag))) == ["legal_hold"]


def buckets(db: Database) -> dict[str, tuple[Bucket, date | None]]:
    with db.session() as session:
        rows = session.execute(select(Account.account_id, Account.bucket, Account.npa_since)).all()
    return {account_id: (bucket, since) for account_id, bucket, since in rows}


def test_borrower_wise_npa_on_import_and_cure(db: Database, tmp_path: Path) -> None:
    npa_day = date(2026, 3, 2) - timedelta(days=29)
    rows = [
        account_row("A1", borrower_id="B1", dpd="120"),
        account_row("A2", borrower_id="B1", dpd="0", overdue_amount="0"),
        account_row("A3", borrower_id="B1", dpd="45"),
        account_row("A4", borrower_id="B2", dpd="45"),
    ]
    run(db, "accounts", accounts_csv(tmp_path, *rows), batch_rows=1)
    assert buckets(db) == {
        "A1": (Bucket.NPA, npa_day),
        "A2": (Bucket.NPA, npa_day),
        "A3": (Bucket.NPA, npa_day),
        "A4": (Bucket.SMA_1, None),
    }
    # The NPA account is cured: the borrower's other accounts go back to their own buckets.
    run(db, "accounts", accounts_csv(tmp_path, account_row("A1", borrower_id="B1", dpd="0")))
    assert buckets(db) == {
        "A1": (Bucket.STANDARD, None),
        "A2": (Bucket.STANDARD, None),
        "A3": (Bucket.SMA_1, None),
        "A4": (Bucket.SMA_1, None),
    }


def test_account_moving_to_another_borrower_takes_npa_with_it(db: Database, tmp_path: Path) -> None:
    rows = [
        account_row("A1", borrower_id="B1", dpd="100"),
        account_row("A2", borrower_id="B1", dpd="5"),
    ]
    run(db, "accounts", accounts_csv(tmp_path, *rows))
    run(db, "accounts", accounts_csv(tmp_path, account_row("A1", borrower_id="B9", dpd="100")))
    assert buckets(db)["A2"] == (Bucket.SMA_0, None)


def test_duplicates_across_batches(db: Database, tmp_path: Path) -> None:
    rows = [account_row(f"A{n}") for n in range(1, 8)] + [account_row("A2"), account_row("A7")]
    result = run(db, "accounts", accounts_csv(tmp_path, *rows), batch_rows=3)
    assert (result.accepted, result.rejected) == (7, 2)
    reasons = [r["reason"] for r in read_csv(result.rejects_path)]  # type: ignore[arg-type]
    assert reasons == [
        "duplicate account_id in file (first at line 3)",
        "duplicate account_id in file (first at line 8)",
    ]


def test_borrower_name_of_the_last_row_wins(db: Database, tmp_path: Path) -> None:
    rows = [
        account_row("A1", borrower_id="B1", borrower_name="P Sharma"),
        account_row("A2", borrower_id="B1", borrower_name="Priya Sharma"),
    ]
    run(db, "accounts", accounts_csv(tmp_path, *rows), batch_rows=1)
    with db.session() as session:
        assert session.get(Borrower, "B1").name == "Priya Sharma"  # type: ignore[union-attr]


def test_stale_rejects_file_is_removed_when_a_file_is_clean(db: Database, tmp_path: Path) -> None:
    run(db, "accounts", accounts_csv(tmp_path, account_row("A1", dpd="x")))
    assert (tmp_path / "accounts.rejects.csv").exists()
    run(db, "accounts", accounts_csv(tmp_path, account_row("A1")))
    assert not (tmp_path / "accounts.rejects.csv").exists()


# --- files that cannot be read ------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty; expected a header row"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
            "not a UTF-8 CSV file .*line 1: not UTF-8 text",
        ),
        (
            b"account_id,borrower_id,borrower_name,phone,overdue_amount,dpd\nA1,B1,\xff\n",
            "line 2: not UTF-8 text",
        ),
        (
            b"account_id,phone\nA1,+919812345678\n",
            "missing required columns for accounts: borrower_id, borrower_name, overdue_amount, dpd",
        ),
        (
            b"account_id;borrower_id;borrower_name\n",
            "is the file separated by something else than commas?",
        ),
        (b"account_id,account_id,borrower_id\n", "repeated columns in the header: account_id"),
    ],
)
def test_unreadable_files_write_nothing(
    db: Database, tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=reason.replace("?", r"\?")):
        run(db, "accounts", path)
    assert count(db, Account) == 0
    assert not (tmp_path / "accounts.rejects.csv").exists()


def test_missing_file(db: Database, tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="no such file"):
        run(db, "accounts", tmp_path / "nope.csv")


def test_file_broken_halfway_writes_nothing_even_from_earlier_batches(
    db: Database, tmp_path: Path
) -> None:
    path = accounts_csv(tmp_path, *(account_row(f"A{n}") for n in range(1, 10)))
    with path.open("ab") as out:
        out.write(b"A99,B99,Bad \xff\xfe name,+919812345678\n")
    with pytest.raises(UnreadableFile, match="line 11: not UTF-8 text"):
        run(db, "accounts", path, batch_rows=2)
    assert (count(db, Account), count(db, Borrower), count(db, Phone)) == (0, 0, 0)
    assert not list(tmp_path.glob("*.rejects.csv*"))


def test_unknown_columns_are_ignored_and_named(db: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "a.csv", [*ACCOUNT_HEADER, "branch_code"], [[*account_row("A1").values(), "X1"]]
    )
    assert run(db, "accounts", path).ignored_columns == ("branch_code",)


# --- calls ---------------------------------------------------------------------------------

CALL_HEADER = ["call_id", "account_id", "agent_id", "started_at", "duration_s", "disposition",
               "ptp_amount", "ptp_date", "recording_url", "phone"]  # fmt: skip


def seed_accounts(db: Database, tmp_path: Path, *ids: str) -> None:
    run(db, "accounts", accounts_csv(tmp_path, *(account_row(i) for i in ids), name="seed.csv"))


def test_calls_with_promises_and_wrong_numbers(db: Database, tmp_path: Path) -> None:
    seed_accounts(db, tmp_path, "A1", "A2")
    path = write_csv(tmp_path / "calls.csv", CALL_HEADER, [
        ["C1", "A1", "TC001", "2026-03-01T21:00:00+00:00", "95", "PTP", "2500", "2026-03-05", "https://rec/1", ""],
        ["C2", "A2", "BOT", "2026-03-01 11:00", "30", "wrong_number", "", "", "", "+919812345678"],
        ["C3", "A2", "TC001", "2026-03-01T11:00:00+05:30", "", "RNR", "", "", "", ""],
    ])  # fmt: skip
    result = run(db, "calls", path)
    assert (result.accepted, result.rejected) == (3, 0)
    with db.session() as session:
        promise = session.scalars(select(Promise)).one()
        assert (promise.call_id, promise.amount, promise.promised_date) == (
            "C1",
            Decimal("2500.00"),
            date(2026, 3, 5),
        )
        assert promise.promised_on == date(2026, 3, 2)  # 21:00 UTC is the next day in Mumbai
        c2 = session.get(Call, "C2")
        assert c2 is not None
        assert (c2.disposition, c2.started_at.isoformat()) == (
            "WRONG_NUMBER",
            "2026-03-01T05:30:00+00:00",
        )
        assert (
            session.scalar(select(Phone.status).where(Phone.account_id == "A2"))
            is PhoneStatus.WRONG_NUMBER
        )
        assert (
            session.scalar(select(Phone.status).where(Phone.account_id == "A1")) is PhoneStatus.OK
        )
        assert session.get(Agent, "BOT") is not None


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            ["C9", "NOPE", "TC1", "2026-03-01T10:00", "", "RNR", "", "", "", ""],
            "account_id: unknown account NOPE",
        ),
        (
            ["C9", "A1", "TC1", "2026-03-01T10:00", "", "MAYBE", "", "", "", ""],
            "disposition: unknown code 'MAYBE'",
        ),
        (
            ["C9", "A1", "TC1", "2026-03-01T10:00", "", "PTP", "500", "", "", ""],
            "ptp_amount and ptp_date: required for a PTP",
        ),
        (
            ["C9", "A1", "TC1", "2026-03-01T10:00", "", "RNR", "500", "", "", ""],
            "ptp_amount/ptp_date: given, but the disposition is RNR",
        ),
        (
            ["C9", "A1", "TC1", "2026-03-01T10:00", "", "PTP", "500", "2026-02-01", "", ""],
            "ptp_date: 2026-02-01 is before the call (2026-03-01)",
        ),
        (
            ["C9", "A1", "TC1", "2026-03-01T10:00", "", "PTP", "0", "2026-03-05", "", ""],
            "ptp_amount: must be more than zero",
        ),
        (
            ["C9", "A1", "TC1", "01/03/2026 10:00", "", "RNR", "", "", "", ""],
            "started_at: '01/03/2026 10:00' is not a date and time (expected YYYY-MM-DDTHH:MM[:SS][+05:30])",
        ),
        (["C9", "A1", "", "2026-03-01T10:00", "", "RNR", "", "", "", ""], "agent_id: required"),
    ],
)
def test_bad_calls(db: Database, tmp_path: Path, row: list[str], reason: str) -> None:
    seed_accounts(db, tmp_path, "A1")
    result = run(db, "calls", write_csv(tmp_path / "calls.csv", CALL_HEADER, [row]))
    assert (result.accepted, result.rejected) == (0, 1)
    assert read_csv(result.rejects_path)[0]["reason"] == reason  # type: ignore[arg-type]
    assert count(db, Call) == 0


def test_reimported_call_no_longer_a_ptp_drops_its_promise(db: Database, tmp_path: Path) -> None:
    seed_accounts(db, tmp_path, "A1")
    row = ["C1", "A1", "TC001", "2026-03-01T10:00", "60", "PTP", "2500", "2026-03-05", "", ""]
    run(db, "calls", write_csv(tmp_path / "calls.csv", CALL_HEADER, [row]))
    run(db, "calls", write_csv(tmp_path / "calls.csv", CALL_HEADER, [row]))
    assert (count(db, Call), count(db, Promise)) == (1, 1)
    row[5:8] = ["REFUSED", "", ""]
    run(db, "calls", write_csv(tmp_path / "calls.csv", CALL_HEADER, [row]))
    assert (count(db, Call), count(db, Promise)) == (1, 0)


# --- payments ------------------------------------------------------------------------------


def test_payments(db: Database, tmp_path: Path) -> None:
    seed_accounts(db, tmp_path, "A1")
    rows = [
        ["A1", "2026-03-01", "2500"],
        ["A1", "2026-03-01T20:00:00+00:00", "2500"],  # the next day in Mumbai: not a duplicate
        ["A1", "2026-03-01", "2500"],
        ["A1", "2026-03-01", "0"],
        ["ZZ", "2026-03-01", "100"],
        ["A1", "2026-02-30", "100"],
    ]
    path = write_csv(tmp_path / "payments.csv", ["account_id", "paid_at", "amount"], rows)
    result = run(db, "payments", path)
    assert (result.accepted, result.rejected) == (2, 4)
    assert [r["reason"] for r in read_csv(result.rejects_path)] == [  # type: ignore[arg-type]
        "duplicate account_id, paid_at, amount, reference in file (first at line 2)",
        "amount: must be more than zero",
        "account_id: unknown account ZZ",
        "paid_at: '2026-02-30' is not a date (expected YYYY-MM-DD)",
    ]
    run(db, "payments", path)
    with db.session() as session:
        assert sorted(session.scalars(select(Payment.paid_at))) == [
            date(2026, 3, 1),
            date(2026, 3, 2),
        ]


def test_payment_references_tell_equal_payments_apart(db: Database, tmp_path: Path) -> None:
    seed_accounts(db, tmp_path, "A1")
    rows = [["A1", "2026-03-01", "100", "UTR1"], ["A1", "2026-03-01", "100", "UTR2"]]
    path = write_csv(tmp_path / "p.csv", ["account_id", "paid_at", "amount", "reference"], rows)
    assert run(db, "payments", path).accepted == 2
    assert count(db, Payment) == 2


# --- snapshots -----------------------------------------------------------------------------

SNAPSHOT_HEADER = ["account_id", "as_of", "dpd", "overdue_amount", "principal_outstanding"]


def test_snapshots_are_bucketed_borrower_wise_per_date(db: Database, tmp_path: Path) -> None:
    run(db, "accounts", accounts_csv(tmp_path, account_row("A1", borrower_id="B1"),
                                     account_row("A2", borrower_id="B1"), name="seed.csv"))  # fmt: skip
    rows = [
        ["A1", "2026-01-31", "95", "15000", "100000"],
        ["A2", "2026-01-31", "10", "5000", "50000"],
        ["A1", "2026-02-28", "30", "", ""],
        ["A2", "2026-02-28", "0", "", ""],
        ["A1", "2026-02-28", "31", "", ""],
        ["A9", "2026-02-28", "0", "", ""],
    ]
    result = run(
        db, "snapshots", write_csv(tmp_path / "s.csv", SNAPSHOT_HEADER, rows), batch_rows=2
    )
    assert (result.accepted, result.rejected) == (4, 2)
    with db.session() as session:
        stored = {
            (s.account_id, s.as_of.isoformat()): s.bucket for s in session.scalars(select(Snapshot))
        }
    assert stored == {
        ("A1", "2026-01-31"): Bucket.NPA,
        ("A2", "2026-01-31"): Bucket.NPA,
        ("A1", "2026-02-28"): Bucket.SMA_0,
        ("A2", "2026-02-28"): Bucket.STANDARD,
    }
    # A1 is cured in a corrected January file: A2 goes back to its own bucket that month.
    run(
        db,
        "snapshots",
        write_csv(tmp_path / "s.csv", SNAPSHOT_HEADER, [["A1", "2026-01-31", "20", "", ""]]),
    )
    with db.session() as session:
        january = dict(
            session.execute(
                select(Snapshot.account_id, Snapshot.bucket).where(
                    Snapshot.as_of == date(2026, 1, 31)
                )
            ).all()
        )
    assert january == {"A1": Bucket.SMA_0, "A2": Bucket.SMA_0}
