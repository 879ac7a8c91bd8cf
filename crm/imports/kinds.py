"""The four import kinds: columns, row parsing, staging tables, SQL checks and the SQL merge.

Good rows of a batch become tuples in temporary staging tables (line number first). Checks that
need the whole file or the database (duplicates, unknown accounts) run as SQL over them; the
batch is then merged into the CRM tables with set-based upserts and the staging tables emptied.
`finish` runs once after the last batch for what needs the whole file (borrower-wise NPA).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.schema import SchemaItem
from sqlalchemy.sql import Select

from crm.buckets import NPA_FIRST_DPD, Bucket, bucket_sql, npa_since
from crm.dispositions import BY_CODE
from crm.imports import fields as f
from crm.models import (
    Account,
    AccountFlag,
    AccountFlagCode,
    Agency,
    Agent,
    Borrower,
    Call,
    Payment,
    Phone,
    PhoneStatus,
    Promise,
    PromiseStatus,
    Snapshot,
)
from crm.service import apply_borrower_wise_npa
from duecall.db import insert_for, table_of, upsert_from

Tuple = tuple[Any, ...]
Parsed = dict[str, list[Tuple]]  # staging table name -> tuples (without the line number)

STAGING = MetaData()


def _staging(name: str, *columns: SchemaItem) -> Table:
    return Table(
        name, STAGING, Column("line", Integer, primary_key=True), *columns, prefixes=["TEMPORARY"]
    )


def _work(name: str, *columns: SchemaItem) -> Table:
    return Table(name, STAGING, *columns, prefixes=["TEMPORARY"])


REJECTS = _staging("import_rejects", Column("reason", String))


@dataclass(frozen=True)
class RowContext:
    zone: ZoneInfo  # lender's zone: naive timestamps are read in it
    today: date  # lender's local date of the import


@dataclass(frozen=True)
class MergeContext:
    now: datetime


@dataclass(frozen=True)
class Check:
    """A query over the main staging table: the (line, reason) of each row it rejects."""

    rejected: Select[Any]


def _no_finish(conn: Connection, ctx: MergeContext) -> None:
    pass


@dataclass(frozen=True)
class ImportKind:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    tables: tuple[Table, ...]  # staging tables of one batch, main one first
    key: tuple[str, ...]  # columns of the main table that must be unique in the file
    parse: Callable[[Mapping[str, str], RowContext], Parsed]
    checks: Callable[[], list[Check]]  # beyond duplicates
    merge: Callable[[Connection, MergeContext], None]  # one batch
    finish: Callable[[Connection, MergeContext], None] = _no_finish  # once, after the last batch
    work_tables: tuple[Table, ...] = ()  # scratch tables that live for the whole import

    @property
    def main(self) -> Table:
        return self.tables[0]

    @property
    def seen(self) -> Table:
        """Key and line of every good row so far, to find duplicates across batches."""
        return SEEN_KEYS[self.name]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


# --- shared SQL pieces -------------------------------------------------------------------


def duplicate_checks(kind: ImportKind) -> list[Check]:
    """A key already seen in an earlier batch, or earlier in this one, is a duplicate."""
    main, seen = kind.main, kind.seen
    said = f"duplicate {', '.join(kind.key)} in file (first at line "
    # Keys in `seen` are unique (duplicates never get there): a lookup through its unique index
    # per staged row. (A join lets PostgreSQL hash the whole, growing table on every batch.)
    seen_line = (
        select(seen.c.line)
        .where(and_(*(seen.c[k] == main.c[k] for k in kind.key)))
        .scalar_subquery()
    )
    earlier_batch = select(main.c.line, literal(said) + cast(seen_line, String) + ")").where(
        seen_line.is_not(None)
    )
    first = (
        select(*(main.c[k] for k in kind.key), func.min(main.c.line).label("line"))
        .group_by(*(main.c[k] for k in kind.key))
        .having(func.count() > 1)
        .subquery("first_occurrence")
    )
    earlier_row = (
        select(main.c.line, literal(said) + cast(first.c.line, String) + ")")
        .join(first, and_(*(first.c[k] == main.c[k] for k in kind.key)))
        .where(main.c.line > first.c.line)
    )
    return [Check(earlier_batch), Check(earlier_row)]


def unknown_account_check(main: Table) -> Check:
    accounts = table_of(Account)
    return Check(
        select(main.c.line, literal("account_id: unknown account ") + main.c.account_id).where(
            ~exists().where(accounts.c.account_id == main.c.account_id)
        )
    )


def upsert_names(
    conn: Connection, table: Table, key: str, source: ColumnElement[str | None]
) -> None:
    """Create referenced agencies or agents that do not exist yet, named after their id."""
    query = select(source, source).where(source.is_not(null())).distinct()
    upsert_from(conn, table, query, [key, "name"], [key])


# --- accounts ------------------------------------------------------------------------------

ACCOUNTS = _staging(
    "staging_accounts",
    Column("account_id", String),
    Column("borrower_id", String),
    Column("borrower_name", String),
    Column("language", String),
    Column("timezone", String),
    Column("product", String),
    Column("emi_amount", BigInteger),
    Column("overdue_amount", BigInteger),
    Column("principal_outstanding", BigInteger),
    Column("due_date", Date),
    Column("dpd", Integer),
    Column("disbursal_date", Date),
    Column("channel", String),
    Column("agency", String),
    Column("assigned_agent", String),
    Column("npa_since", Date),
)
ACCOUNT_PHONES = Table(
    "staging_account_phones",
    STAGING,
    Column("line", Integer, index=True),
    Column("account_id", String),
    Column("number", String),
    Column("source", String),
    Column("status", String),
    prefixes=["TEMPORARY"],
)
ACCOUNT_FLAGS = Table(
    "staging_account_flags",
    STAGING,
    Column("line", Integer, index=True),
    Column("account_id", String),
    Column("flag", String),
    prefixes=["TEMPORARY"],
)
LISTED_PHONES = _work(
    "work_listed_phones",
    Column("account_id", String, primary_key=True),
    Column("number", String, primary_key=True),
)

_FLAG_CODES = frozenset(code.value for code in AccountFlagCode)
_LANGUAGES = frozenset({"en", "hi"})


def parse_account(row: Mapping[str, str], ctx: RowContext) -> Parsed:
    account_id = f.required_text(row, "account_id", max_len=64)
    primary = f.phone(row, "phone", required=True)
    assert primary is not None
    if not primary.valid:
        raise f.RowError(f"phone: {primary.number} is not a valid number")
    alt = f.phone(row, "alt_phone")
    flags = sorted(
        {flag.strip() for flag in (f.text(row, "flags") or "").split(";") if flag.strip()}
    )
    unknown = [flag for flag in flags if flag not in _FLAG_CODES]
    if unknown:
        raise f.RowError(
            f"flags: unknown flag {', '.join(unknown)} (allowed: {', '.join(sorted(_FLAG_CODES))})"
        )
    dpd = f.count(row, "dpd", required=True)
    assert dpd is not None
    account = (
        account_id,
        f.required_text(row, "borrower_id", max_len=64),
        f.required_text(row, "borrower_name"),
        f.choice(row, "language", _LANGUAGES, default="en"),
        f.timezone(row, "timezone"),
        f.text(row, "product", max_len=100),
        f.paise(row, "emi_amount"),
        f.paise(row, "overdue_amount", required=True),
        f.paise(row, "principal_outstanding"),
        f.day(row, "due_date"),
        dpd,
        f.day(row, "disbursal_date"),
        f.text(row, "channel", max_len=64),
        f.text(row, "agency", max_len=64),
        f.text(row, "assigned_agent", max_len=64),
        npa_since(dpd, ctx.today),
    )
    phones = [(account_id, primary.number, "primary", PhoneStatus.OK.value)]
    if alt is not None and alt.number != primary.number:
        status = PhoneStatus.OK if alt.valid else PhoneStatus.INVALID
        phones.append((account_id, alt.number, "alt", status.value))
    return {
        ACCOUNTS.name: [account],
        ACCOUNT_PHONES.name: phones,
        ACCOUNT_FLAGS.name: [(account_id, flag) for flag in flags],
    }


def merge_accounts(conn: Connection, ctx: MergeContext) -> None:
    s = ACCOUNTS
    accounts, phones, flags = table_of(Account), table_of(Phone), table_of(AccountFlag)
    upsert_names(conn, table_of(Agency), "agency_id", s.c.agency)
    upsert_names(conn, table_of(Agent), "agent_id", s.c.assigned_agent)

    # A borrower on several rows takes the name on the last one.
    last = select(func.max(s.c.line).label("line")).group_by(s.c.borrower_id).subquery("last_row")
    upsert_from(
        conn,
        table_of(Borrower),
        select(s.c.borrower_id, s.c.borrower_name).join(last, last.c.line == s.c.line),
        ["borrower_id", "name"],
        ["borrower_id"],
        ["name"],
    )

    copied = [
        "account_id", "borrower_id", "language", "timezone", "product", "emi_amount",
        "overdue_amount", "principal_outstanding", "due_date", "dpd", "disbursal_date",
        "channel", "npa_since",
    ]  # fmt: skip
    query = select(
        *(s.c[c] for c in copied),
        s.c.agency,
        s.c.assigned_agent,
        bucket_sql(s.c.dpd),
        literal(ctx.now.replace(tzinfo=None), DateTime),
    )
    written = [*copied, "agency_id", "assigned_agent_id", "bucket", "updated_at"]
    upsert_from(
        conn, accounts, query, written, ["account_id"], written[1:-1],
        overrides={"updated_at": insert_for(conn, accounts).excluded.updated_at},
    )  # fmt: skip

    conn.execute(delete(flags).where(flags.c.account_id.in_(select(s.c.account_id))))
    conn.execute(
        flags.insert().from_select(
            ["account_id", "flag"], select(ACCOUNT_FLAGS.c.account_id, ACCOUNT_FLAGS.c.flag)
        )
    )

    p = ACCOUNT_PHONES
    upsert_from(
        conn,
        phones,
        select(p.c.account_id, p.c.number, p.c.source, p.c.status),
        ["account_id", "number", "source", "status"],
        ["account_id", "number"],
        ["source", "status"],
        # A number learnt to be wrong on a call stays wrong when the account is re-imported.
        overrides={
            "status": case(
                (phones.c.status == PhoneStatus.WRONG_NUMBER.value, phones.c.status),
                else_=insert_for(conn, phones).excluded.status,
            )
        },
    )
    conn.execute(
        LISTED_PHONES.insert().from_select(
            ["account_id", "number"], select(p.c.account_id, p.c.number)
        )
    )


def finish_accounts(conn: Connection, ctx: MergeContext) -> None:
    phones, listed = table_of(Phone), LISTED_PHONES
    # Numbers the lender no longer lists go, unless they carry what a call taught us.
    still_listed = exists().where(
        listed.c.account_id == phones.c.account_id, listed.c.number == phones.c.number
    )
    conn.execute(
        delete(phones).where(
            phones.c.account_id.in_(select(SEEN_KEYS["accounts"].c.account_id)),
            phones.c.source.in_(["primary", "alt"]),
            phones.c.status != PhoneStatus.WRONG_NUMBER.value,
            ~still_listed,
        )
    )
    apply_borrower_wise_npa(conn)


# --- calls ---------------------------------------------------------------------------------

CALLS = _staging(
    "staging_calls",
    Column("call_id", String),
    Column("account_id", String),
    Column("agent_id", String),
    Column("started_at", DateTime),
    Column("duration_s", Integer),
    Column("disposition", String),
    Column("ptp_amount", BigInteger),
    Column("ptp_date", Date),
    Column("promised_on", Date),
    Column("recording_url", String),
    Column("phone", String),
)


def parse_call(row: Mapping[str, str], ctx: RowContext) -> Parsed:
    started_at = f.instant(row, "started_at", ctx.zone, required=True)
    assert started_at is not None
    disposition = f.required_text(row, "disposition", max_len=16).upper()
    if disposition not in BY_CODE:
        raise f.RowError(f"disposition: unknown code {disposition!r}")
    ptp_amount = f.paise(row, "ptp_amount", positive=True)
    ptp_date = f.day(row, "ptp_date")
    promised_on = started_at.astimezone(ctx.zone).date()
    if disposition == "PTP":
        if ptp_amount is None or ptp_date is None:
            raise f.RowError("ptp_amount and ptp_date: required for a PTP")
        if ptp_date < promised_on:
            raise f.RowError(f"ptp_date: {ptp_date} is before the call ({promised_on})")
    elif ptp_amount is not None or ptp_date is not None:
        raise f.RowError(f"ptp_amount/ptp_date: given, but the disposition is {disposition}")
    number = f.phone(row, "phone")
    return {
        CALLS.name: [
            (
                f.required_text(row, "call_id", max_len=64),
                f.required_text(row, "account_id", max_len=64),
                f.required_text(row, "agent_id", max_len=64),
                started_at.replace(tzinfo=None),
                f.count(row, "duration_s"),
                disposition,
                ptp_amount,
                ptp_date,
                promised_on,
                f.text(row, "recording_url", max_len=2000),
                number.number if number else None,
            )
        ]
    }


def merge_calls(conn: Connection, ctx: MergeContext) -> None:
    s = CALLS
    calls, promises, phones = table_of(Call), table_of(Promise), table_of(Phone)
    now = literal(ctx.now.replace(tzinfo=None), DateTime)
    upsert_names(conn, table_of(Agent), "agent_id", s.c.agent_id)
    copied = ["call_id", "account_id", "agent_id", "started_at", "duration_s", "disposition",
              "recording_url", "phone"]  # fmt: skip
    query = select(*(s.c[c] for c in copied), literal("import"), literal("completed"))
    written = [*copied, "source", "status"]
    # `mode` is not in the file: a call by the bot agent is a bot call, others a tele-caller's.
    agents = table_of(Agent)
    is_bot = exists().where(agents.c.agent_id == s.c.agent_id, agents.c.kind == "bot")
    query = query.add_columns(case((is_bot, literal("bot")), else_=literal("agent")))
    upsert_from(conn, calls, query, [*written, "mode"], ["call_id"], [*written[1:], "mode"])

    ptp = select(
        s.c.account_id, s.c.call_id, s.c.ptp_amount, s.c.promised_on, s.c.ptp_date,
        literal(PromiseStatus.PENDING.value), now,
    ).where(s.c.disposition == "PTP")  # fmt: skip
    written = ["account_id", "call_id", "amount", "promised_on", "promised_date", "status",
               "created_at"]  # fmt: skip
    upsert_from(
        conn, promises, ptp, written, ["call_id"],
        ["account_id", "amount", "promised_on", "promised_date", "status"],
        overrides={"evaluated_at": None, "paid_amount": None},
    )  # fmt: skip

    wrong = select(
        s.c.account_id, s.c.phone, literal("call"), literal(PhoneStatus.WRONG_NUMBER.value), now
    ).where(s.c.disposition == "WRONG_NUMBER", s.c.phone.is_not(None))
    upsert_from(
        conn, phones, wrong, ["account_id", "number", "source", "status", "status_changed_at"],
        ["account_id", "number"], ["status", "status_changed_at"],
    )  # fmt: skip


def finish_calls(conn: Connection, ctx: MergeContext) -> None:
    """A re-imported call that is no longer a PTP no longer carries a promise."""
    promises, calls = table_of(Promise), table_of(Call)
    not_ptp = exists().where(calls.c.call_id == promises.c.call_id, calls.c.disposition != "PTP")
    conn.execute(
        delete(promises).where(
            promises.c.call_id.in_(select(SEEN_KEYS["calls"].c.call_id)), not_ptp
        )
    )


# --- payments ------------------------------------------------------------------------------

PAYMENTS = _staging(
    "staging_payments",
    Column("account_id", String),
    Column("paid_at", Date),
    Column("amount", BigInteger),
    Column("reference", String),
)


def parse_payment(row: Mapping[str, str], ctx: RowContext) -> Parsed:
    return {
        PAYMENTS.name: [
            (
                f.required_text(row, "account_id", max_len=64),
                f.day_or_instant(row, "paid_at", ctx.zone, required=True),
                f.paise(row, "amount", required=True, positive=True),
                f.text(row, "reference", max_len=64) or "",
            )
        ]
    }


def merge_payments(conn: Connection, ctx: MergeContext) -> None:
    s = PAYMENTS
    columns = ["account_id", "paid_at", "amount", "reference"]
    upsert_from(conn, table_of(Payment), select(*(s.c[c] for c in columns)), columns, columns)


# --- snapshots -----------------------------------------------------------------------------

SNAPSHOTS = _staging(
    "staging_snapshots",
    Column("account_id", String),
    Column("as_of", Date),
    Column("dpd", Integer),
    Column("overdue_amount", BigInteger),
    Column("principal_outstanding", BigInteger),
)
MULTI_ACCOUNT = _work("work_multi_account", Column("account_id", String, primary_key=True))
SNAPSHOT_DATES = _work("work_snapshot_dates", Column("as_of", Date, primary_key=True))


def parse_snapshot(row: Mapping[str, str], ctx: RowContext) -> Parsed:
    return {
        SNAPSHOTS.name: [
            (
                f.required_text(row, "account_id", max_len=64),
                f.day(row, "as_of", required=True),
                f.count(row, "dpd", required=True),
                f.paise(row, "overdue_amount"),
                f.paise(row, "principal_outstanding"),
            )
        ]
    }


def merge_snapshots(conn: Connection, ctx: MergeContext) -> None:
    s = SNAPSHOTS
    columns = ["account_id", "as_of", "dpd", "overdue_amount", "principal_outstanding"]
    upsert_from(
        conn, table_of(Snapshot), select(*(s.c[c] for c in columns), bucket_sql(s.c.dpd)),
        [*columns, "bucket"], ["account_id", "as_of"], [*columns[2:], "bucket"],
    )  # fmt: skip
    upsert_from(conn, SNAPSHOT_DATES, select(s.c.as_of).distinct(), ["as_of"], ["as_of"])


def apply_borrower_wise_npa_to_snapshots(conn: Connection, ctx: MergeContext) -> None:
    """Borrower-wise NPA on each imported as_of date; only borrowers with several accounts
    can differ from their own bucket."""
    snapshots, accounts = table_of(Snapshot), table_of(Account)
    multi = select(accounts.c.borrower_id).group_by(accounts.c.borrower_id).having(func.count() > 1)
    conn.execute(
        MULTI_ACCOUNT.insert().from_select(
            ["account_id"], select(accounts.c.account_id).where(accounts.c.borrower_id.in_(multi))
        )
    )
    own, sibling = accounts.alias("own"), accounts.alias("sib")
    sibling_snapshot = snapshots.alias("sib_snap")
    npa_sibling = (
        select(literal(1))
        .select_from(own)
        .join(sibling, sibling.c.borrower_id == own.c.borrower_id)
        .join(sibling_snapshot, sibling_snapshot.c.account_id == sibling.c.account_id)
        .where(
            own.c.account_id == snapshots.c.account_id,
            sibling_snapshot.c.as_of == snapshots.c.as_of,
            sibling_snapshot.c.dpd >= NPA_FIRST_DPD,
        )
        .exists()
    )
    borrower_wise = case(
        (npa_sibling, literal(Bucket.NPA.value)), else_=bucket_sql(snapshots.c.dpd)
    )
    conn.execute(
        update(snapshots)
        .where(
            snapshots.c.dpd < NPA_FIRST_DPD,
            snapshots.c.account_id.in_(select(MULTI_ACCOUNT.c.account_id)),
            snapshots.c.as_of.in_(select(SNAPSHOT_DATES.c.as_of)),
            snapshots.c.bucket.is_distinct_from(borrower_wise),
        )
        .values(bucket=borrower_wise)
    )


def _seen(kind: str, *key: Column[Any]) -> Table:
    return Table(
        f"seen_{kind}",
        STAGING,
        Column("line", Integer, primary_key=True),
        *key,
        Index(f"ix_seen_{kind}_key", *(c.name for c in key), unique=True),
        prefixes=["TEMPORARY"],
    )


SEEN_KEYS: dict[str, Table] = {
    "accounts": _seen("accounts", Column("account_id", String)),
    "calls": _seen("calls", Column("call_id", String)),
    "payments": _seen(
        "payments",
        Column("account_id", String),
        Column("paid_at", Date),
        Column("amount", BigInteger),
        Column("reference", String),
    ),
    "snapshots": _seen("snapshots", Column("account_id", String), Column("as_of", Date)),
}

KINDS: dict[str, ImportKind] = {
    kind.name: kind
    for kind in (
        ImportKind(
            name="accounts",
            required=(
                "account_id",
                "borrower_id",
                "borrower_name",
                "phone",
                "overdue_amount",
                "dpd",
            ),
            optional=(
                "alt_phone",
                "language",
                "timezone",
                "product",
                "emi_amount",
                "principal_outstanding",
                "due_date",
                "disbursal_date",
                "channel",
                "agency",
                "assigned_agent",
                "flags",
            ),
            tables=(ACCOUNTS, ACCOUNT_PHONES, ACCOUNT_FLAGS),
            key=("account_id",),
            parse=parse_account,
            checks=list,
            merge=merge_accounts,
            finish=finish_accounts,
            work_tables=(LISTED_PHONES,),
        ),
        ImportKind(
            name="calls",
            required=("call_id", "account_id", "agent_id", "started_at", "disposition"),
            optional=("duration_s", "ptp_amount", "ptp_date", "recording_url", "phone"),
            tables=(CALLS,),
            key=("call_id",),
            parse=parse_call,
            checks=lambda: [unknown_account_check(CALLS)],
            merge=merge_calls,
            finish=finish_calls,
        ),
        ImportKind(
            name="payments",
            required=("account_id", "paid_at", "amount"),
            optional=("reference",),
            tables=(PAYMENTS,),
            key=("account_id", "paid_at", "amount", "reference"),
            parse=parse_payment,
            checks=lambda: [unknown_account_check(PAYMENTS)],
            merge=merge_payments,
        ),
        ImportKind(
            name="snapshots",
            required=("account_id", "as_of", "dpd"),
            optional=("overdue_amount", "principal_outstanding"),
            tables=(SNAPSHOTS,),
            key=("account_id", "as_of"),
            parse=parse_snapshot,
            checks=lambda: [unknown_account_check(SNAPSHOTS)],
            merge=merge_snapshots,
            finish=apply_borrower_wise_npa_to_snapshots,
            work_tables=(MULTI_ACCOUNT, SNAPSHOT_DATES),
        ),
    )
}
