"""analytics: monthly counts, cases per agent, resolutions, roll counts, first NPA snapshots

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 13:00:00.000000

Pre-aggregates that keep the agent report and the roll-rate matrix fast at full size, kept exact
by triggers in the same transaction as every write they depend on:
- analytics_call_months / analytics_promise_months: the per-day counts (0004) summed per month,
  maintained from the per-day tables themselves.
- analytics_agent_accounts: accounts assigned per agent.
- analytics_resolutions: one row per resolved case (assigned, nothing overdue, paid at least
  once) with its latest payment day and the days from the agent's first call to it.
- analytics_roll_counts: accounts per (month, bucket that month, bucket the next month), the
  bucket of a month being that of the account's latest snapshot in it.
- analytics_npa_accounts: each account's first NPA snapshot (date and principal), the cohort
  curves' starting points.
- analytics_segment_book / analytics_segment_payments: per product and per channel, the book
  now (accounts, NPA accounts, principal, NPA principal, overdue) and payments per day.

Bulk writes (imports, COPY) pay once per statement on PostgreSQL: statement triggers with
transition tables for INSERT and DELETE. UPDATEs of `accounts`, `calls` and `payments` come
from the dialer, the voice agent and the API one row at a time, so those are row triggers
restricted to the columns that matter (`UPDATE OF ...`) and to rows where they changed (WHEN):
a claim of an account or a conversation turn never runs them. 0004's update trigger on `calls`
is narrowed the same way here (it fired on every update on PostgreSQL, with the whole rows in
its transition tables). SQLite has row triggers only, with the same column lists and WHENs.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALL_MONTHS_UPSERT = (
    "ON CONFLICT (agent_key, disposition_key, month) DO UPDATE SET "
    "calls = analytics_call_months.calls + excluded.calls, "
    "unreceipted = analytics_call_months.unreceipted + excluded.unreceipted"
)
PROMISE_MONTHS_UPSERT = (
    "ON CONFLICT (agent_key, status, month) DO UPDATE SET "
    "promises = analytics_promise_months.promises + excluded.promises, "
    "amount = analytics_promise_months.amount + excluded.amount, "
    "paid_amount = analytics_promise_months.paid_amount + excluded.paid_amount"
)
AGENT_ACCOUNTS_UPSERT = (
    "ON CONFLICT (agent_id) DO UPDATE SET "
    "accounts = analytics_agent_accounts.accounts + excluded.accounts"
)
ROLL_COUNTS_UPSERT = (
    "ON CONFLICT (month, from_bucket, to_bucket) DO UPDATE SET "
    "accounts = analytics_roll_counts.accounts + excluded.accounts"
)
CALL_DAYS_UPSERT = (
    "ON CONFLICT (day, agent_key, disposition_key) DO UPDATE SET "
    "calls = analytics_call_days.calls + excluded.calls, "
    "unreceipted = analytics_call_days.unreceipted + excluded.unreceipted"
)
PROMISE_DAYS_UPSERT = (
    "ON CONFLICT (promised_on, agent_key, status) DO UPDATE SET "
    "promises = analytics_promise_days.promises + excluded.promises, "
    "amount = analytics_promise_days.amount + excluded.amount, "
    "paid_amount = analytics_promise_days.paid_amount + excluded.paid_amount"
)


def _unreceipted(row: str, json_null: str) -> str:
    """1 for a call the dialer or the API placed without a compliance receipt (as 0004)."""
    return (
        f"CASE WHEN {row}.source <> 'import' AND ({row}.compliance_receipt IS NULL "
        f"OR {json_null}) THEN 1 ELSE 0 END"
    )


def _sqlite_unreceipted(row: str) -> str:
    return _unreceipted(row, f"{row}.compliance_receipt = 'null'")


def _pg_unreceipted(row: str) -> str:
    return _unreceipted(row, f"{row}.compliance_receipt::text = 'null'")


# --- per product and per channel (the same SQL on both backends) ------------------------------

SEGMENT_BOOK_UPSERT = (
    "ON CONFLICT (dimension, segment) DO UPDATE SET "
    "accounts = analytics_segment_book.accounts + excluded.accounts, "
    "npa_accounts = analytics_segment_book.npa_accounts + excluded.npa_accounts, "
    "principal = analytics_segment_book.principal + excluded.principal, "
    "npa_principal = analytics_segment_book.npa_principal + excluded.npa_principal, "
    "overdue = analytics_segment_book.overdue + excluded.overdue"
)
SEGMENT_PAYMENTS_UPSERT = (
    "ON CONFLICT (dimension, segment, paid_on) DO UPDATE SET "
    "amount = analytics_segment_payments.amount + excluded.amount"
)
SEGMENTS = ("product", "channel")
BOOK_COLUMNS = ("product", "channel", "bucket", "principal_outstanding", "overdue_amount")
PAYMENT_COLUMNS = ("account_id", "paid_at", "amount")


def _record(row: str, columns: Sequence[str]) -> str:
    """A trigger's OLD or NEW row as a one-row relation."""
    return f"(SELECT {', '.join(f'{row}.{c} AS {c}' for c in columns)})"


def _segment_book(rows: str, sign: str) -> str:
    """Add (sign 1) or take away (-1) the accounts `rows` from their product's and channel's
    figures: accounts, NPA accounts, principal, NPA principal, overdue (paise)."""
    parts = " UNION ALL ".join(
        f"SELECT '{dimension}' AS dimension, coalesce(r.{dimension}, '') AS segment, "
        "CASE WHEN r.bucket = 'NPA' THEN 1 ELSE 0 END AS npa, "
        "coalesce(r.principal_outstanding, 0) AS principal, "
        "CASE WHEN r.bucket = 'NPA' THEN coalesce(r.principal_outstanding, 0) ELSE 0 END "
        "AS npa_principal, r.overdue_amount AS overdue "
        f"FROM {rows} AS r"
        for dimension in SEGMENTS
    )
    return f"""
        INSERT INTO analytics_segment_book
            (dimension, segment, accounts, npa_accounts, principal, npa_principal, overdue)
        SELECT d.dimension, d.segment, {sign} * count(*), {sign} * sum(d.npa),
               {sign} * sum(d.principal), {sign} * sum(d.npa_principal), {sign} * sum(d.overdue)
        FROM ({parts}) AS d WHERE true GROUP BY d.dimension, d.segment
        {SEGMENT_BOOK_UPSERT};"""


def _segment_payments(rows: str, sign: str) -> str:
    """Add or take away the payments `rows` under their account's product and channel (now)."""
    parts = " UNION ALL ".join(
        f"SELECT '{dimension}' AS dimension, coalesce(a.{dimension}, '') AS segment, "
        "r.paid_at AS paid_on, r.amount AS amount "
        f"FROM {rows} AS r JOIN accounts AS a ON a.account_id = r.account_id"
        for dimension in SEGMENTS
    )
    return f"""
        INSERT INTO analytics_segment_payments (dimension, segment, paid_on, amount)
        SELECT d.dimension, d.segment, d.paid_on, {sign} * sum(d.amount)
        FROM ({parts}) AS d WHERE true GROUP BY d.dimension, d.segment, d.paid_on
        {SEGMENT_PAYMENTS_UPSERT};"""


def _segment_move_payments(distinct: str) -> str:
    """An account that changed product or channel takes its payments along."""
    statements = []
    for dimension in SEGMENTS:
        for row, sign in (("OLD", "-1"), ("NEW", "1")):
            statements.append(f"""
        INSERT INTO analytics_segment_payments (dimension, segment, paid_on, amount)
        SELECT '{dimension}', coalesce({row}.{dimension}, ''), y.paid_at, {sign} * sum(y.amount)
        FROM payments AS y
        WHERE y.account_id = NEW.account_id AND OLD.{dimension} {distinct} NEW.{dimension}
        GROUP BY y.paid_at
        {SEGMENT_PAYMENTS_UPSERT};""")
    return "".join(statements)


def _book_changed(distinct: str) -> str:
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in BOOK_COLUMNS)


def _payment_changed(distinct: str) -> str:
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in PAYMENT_COLUMNS)


# --- SQLite ----------------------------------------------------------------------------------


def _sqlite_month_rows(target: str, row: str, sign: str) -> str:
    """Carry a change of a per-day row into its month."""
    if target == "call":
        return (
            "INSERT INTO analytics_call_months "
            "(agent_key, disposition_key, month, calls, unreceipted) "
            f"VALUES ({row}.agent_key, {row}.disposition_key, date({row}.day, 'start of month'), "
            f"{sign}{row}.calls, {sign}{row}.unreceipted) {CALL_MONTHS_UPSERT};"
        )
    return (
        "INSERT INTO analytics_promise_months "
        "(agent_key, status, month, promises, amount, paid_amount) "
        f"VALUES ({row}.agent_key, {row}.status, date({row}.promised_on, 'start of month'), "
        f"{sign}{row}.promises, {sign}{row}.amount, {sign}{row}.paid_amount) "
        f"{PROMISE_MONTHS_UPSERT};"
    )


def _sqlite_agent_accounts(row: str, sign: str) -> str:
    return (
        "INSERT INTO analytics_agent_accounts (agent_id, accounts) "
        f"SELECT {row}.assigned_agent_id, {sign}1 WHERE {row}.assigned_agent_id IS NOT NULL "
        f"{AGENT_ACCOUNTS_UPSERT};"
    )


def _sqlite_first_call_days(paid_on: str, account: str, agent: str) -> str:
    """Whole days from the UTC date of the agent's first call to the account to `paid_on`."""
    first_call = (
        f"(SELECT min(c.started_at) FROM calls AS c "
        f"WHERE c.account_id = {account} AND c.agent_id = {agent})"
    )
    return f"CAST(julianday({paid_on}) - julianday(date({first_call})) AS INTEGER)"


def _sqlite_resolve(account: str) -> str:
    """Recompute the account's resolution row from the account, its payments and calls."""
    return f"""
        DELETE FROM analytics_resolutions WHERE account_id = {account};
        INSERT INTO analytics_resolutions (account_id, agent_id, paid_on, days)
        SELECT a.account_id, a.assigned_agent_id, p.paid_on,
               {_sqlite_first_call_days("p.paid_on", "a.account_id", "a.assigned_agent_id")}
        FROM accounts AS a,
             (SELECT max(paid_at) AS paid_on FROM payments WHERE account_id = {account}) AS p
        WHERE a.account_id = {account} AND a.assigned_agent_id IS NOT NULL
          AND a.overdue_amount = 0 AND p.paid_on IS NOT NULL;"""


def _sqlite_resolution_days(account: str, agent: str) -> str:
    """A call of the case's agent may change the first call of a resolved case."""
    days = _sqlite_first_call_days(
        "paid_on", "analytics_resolutions.account_id", "analytics_resolutions.agent_id"
    )
    return (
        f"UPDATE analytics_resolutions SET days = {days} "
        f"WHERE account_id = {account} AND agent_id = {agent};"
    )


def _sqlite_latest(account: str, month: str, *, exclude: str | None, add: str | None) -> str:
    """The bucket of the account's latest snapshot in the month starting `month`, in the table
    as it is (`exclude` and `add` None) or as it was before the row `exclude` was written and
    the row `add` was removed."""
    in_month = f"{{d}} >= {month} AND {{d}} < date({month}, '+1 month')"
    rows = (
        "SELECT s.as_of AS d, s.bucket AS b FROM snapshots AS s "
        f"WHERE s.account_id = {account} AND {in_month.format(d='s.as_of')}"
    )
    if exclude is not None:
        rows += f" AND NOT (s.account_id = {exclude}.account_id AND s.as_of = {exclude}.as_of)"
    if add is not None:
        rows += (
            f" UNION ALL SELECT {add}.as_of, {add}.bucket "
            f"WHERE {add}.account_id = {account} AND {in_month.format(d=f'{add}.as_of')}"
        )
    return f"(SELECT b FROM ({rows}) ORDER BY d DESC LIMIT 1)"


def _sqlite_roll_counts(rows: Sequence[str], *, exclude: str | None, add: str | None) -> str:
    """Recount the month pairs the written rows take part in: their month with the one before
    and with the one after, as they were (-1) and as they are (+1)."""
    pairs = " UNION ".join(
        f"SELECT {row}.account_id AS account_id, date({row}.as_of, 'start of month', '{shift}') "
        "AS month"
        for row in rows
        for shift in ("-1 month", "+0 months")
    )
    parts = []
    for sign, ex, ad in (("1", None, None), ("-1", exclude, add)):
        this = _sqlite_latest("p.account_id", "p.month", exclude=ex, add=ad)
        following = _sqlite_latest("p.account_id", "date(p.month, '+1 month')", exclude=ex, add=ad)
        parts.append(f"SELECT p.month AS month, {this} AS f, {following} AS t, {sign} AS d "
                     f"FROM ({pairs}) AS p")  # fmt: skip
    return f"""
        INSERT INTO analytics_roll_counts (month, from_bucket, to_bucket, accounts)
        SELECT month, f, t, sum(d) FROM ({" UNION ALL ".join(parts)})
        WHERE f IS NOT NULL AND t IS NOT NULL
        GROUP BY month, f, t HAVING sum(d) <> 0
        {ROLL_COUNTS_UPSERT};"""


def _sqlite_npa(account: str) -> str:
    """Recompute the account's first NPA snapshot."""
    return f"""
        DELETE FROM analytics_npa_accounts WHERE account_id = {account};
        INSERT INTO analytics_npa_accounts (account_id, npa_date, principal)
        SELECT s.account_id, s.as_of, s.principal_outstanding FROM snapshots AS s
        WHERE s.account_id = {account} AND s.bucket = 'NPA' ORDER BY s.as_of LIMIT 1;"""


def _sqlite_call_day_row(row: str, sign: str) -> str:
    return (
        "INSERT INTO analytics_call_days (day, agent_key, disposition_key, calls, unreceipted) "
        f"VALUES (date({row}.started_at), coalesce({row}.agent_id, ''), "
        f"coalesce({row}.disposition, ''), {sign}1, {sign}{_sqlite_unreceipted(row)}) "
        f"{CALL_DAYS_UPSERT};"
    )


def _sqlite_move_promise(agent: str, sign: str) -> str:
    return (
        "INSERT INTO analytics_promise_days "
        "(promised_on, agent_key, status, promises, amount, paid_amount) "
        f"SELECT p.promised_on, coalesce({agent}.agent_id, ''), p.status, {sign}1, "
        f"{sign}p.amount, {sign}coalesce(p.paid_amount, 0) FROM promises AS p "
        "WHERE p.call_id = NEW.call_id AND OLD.agent_id IS NOT NEW.agent_id "
        f"{PROMISE_DAYS_UPSERT};"
    )


_SQLITE_CALL_DAY_CHANGED = (
    "OLD.agent_id IS NOT NEW.agent_id OR date(OLD.started_at) IS NOT date(NEW.started_at) "
    "OR OLD.disposition IS NOT NEW.disposition "
    f"OR {_sqlite_unreceipted('OLD')} <> {_sqlite_unreceipted('NEW')}"
)
# 0004's update trigger, fired only when what it counts changes.
SQLITE_CALLS_UPDATE = f"""CREATE TRIGGER analytics_calls_update
    AFTER UPDATE OF agent_id, started_at, disposition, source, compliance_receipt ON calls
    WHEN {_SQLITE_CALL_DAY_CHANGED}
BEGIN
    {_sqlite_call_day_row("OLD", "-")}
    {_sqlite_call_day_row("NEW", "+")}
    {_sqlite_move_promise("OLD", "-")}
    {_sqlite_move_promise("NEW", "+")}
END"""
SQLITE_CALLS_UPDATE_0004 = f"""CREATE TRIGGER analytics_calls_update
    AFTER UPDATE OF agent_id, started_at, disposition, source, compliance_receipt ON calls
BEGIN
    {_sqlite_call_day_row("OLD", "-")}
    {_sqlite_call_day_row("NEW", "+")}
    {_sqlite_move_promise("OLD", "-")}
    {_sqlite_move_promise("NEW", "+")}
END"""

SQLITE_TRIGGERS = {
    # Months from days.
    "analytics_call_days_insert": f"""AFTER INSERT ON analytics_call_days BEGIN
        {_sqlite_month_rows("call", "NEW", "+")}
    END""",
    "analytics_call_days_delete": f"""AFTER DELETE ON analytics_call_days BEGIN
        {_sqlite_month_rows("call", "OLD", "-")}
    END""",
    "analytics_call_days_update": f"""AFTER UPDATE ON analytics_call_days BEGIN
        {_sqlite_month_rows("call", "OLD", "-")}
        {_sqlite_month_rows("call", "NEW", "+")}
    END""",
    "analytics_promise_days_insert": f"""AFTER INSERT ON analytics_promise_days BEGIN
        {_sqlite_month_rows("promise", "NEW", "+")}
    END""",
    "analytics_promise_days_delete": f"""AFTER DELETE ON analytics_promise_days BEGIN
        {_sqlite_month_rows("promise", "OLD", "-")}
    END""",
    "analytics_promise_days_update": f"""AFTER UPDATE ON analytics_promise_days BEGIN
        {_sqlite_month_rows("promise", "OLD", "-")}
        {_sqlite_month_rows("promise", "NEW", "+")}
    END""",
    # Cases: a new account has no payments yet (they reference it), so it is not resolved.
    "analytics_accounts_insert": f"""AFTER INSERT ON accounts BEGIN
        {_sqlite_agent_accounts("NEW", "+")}
        {_segment_book(_record("NEW", BOOK_COLUMNS), "1")}
    END""",
    "analytics_accounts_delete": f"""AFTER DELETE ON accounts BEGIN
        {_sqlite_agent_accounts("OLD", "-")}
        DELETE FROM analytics_resolutions WHERE account_id = OLD.account_id;
        {_segment_book(_record("OLD", BOOK_COLUMNS), "-1")}
    END""",
    # The account's payments go first (the foreign key would cascade), so that their triggers
    # still find the account's product and channel.
    "analytics_accounts_segment_delete": """BEFORE DELETE ON accounts BEGIN
        DELETE FROM payments WHERE account_id = OLD.account_id;
    END""",
    "analytics_accounts_segment_update": f"""AFTER UPDATE OF {", ".join(BOOK_COLUMNS)}
        ON accounts WHEN {_book_changed("IS NOT")}
    BEGIN
        {_segment_book(_record("OLD", BOOK_COLUMNS), "-1")}
        {_segment_book(_record("NEW", BOOK_COLUMNS), "1")}
        {_segment_move_payments("IS NOT")}
    END""",
    "analytics_accounts_update": f"""AFTER UPDATE OF account_id, assigned_agent_id,
        overdue_amount ON accounts
        WHEN OLD.account_id IS NOT NEW.account_id
          OR OLD.assigned_agent_id IS NOT NEW.assigned_agent_id
          OR (OLD.overdue_amount = 0) IS NOT (NEW.overdue_amount = 0)
    BEGIN
        {_sqlite_agent_accounts("OLD", "-")}
        {_sqlite_agent_accounts("NEW", "+")}
        {_sqlite_resolve("OLD.account_id")}
        {_sqlite_resolve("NEW.account_id")}
    END""",
    "analytics_payments_insert": f"""AFTER INSERT ON payments BEGIN
        {_sqlite_resolve("NEW.account_id")}
        {_segment_payments(_record("NEW", PAYMENT_COLUMNS), "1")}
    END""",
    "analytics_payments_delete": f"""AFTER DELETE ON payments BEGIN
        {_sqlite_resolve("OLD.account_id")}
        {_segment_payments(_record("OLD", PAYMENT_COLUMNS), "-1")}
    END""",
    "analytics_payments_segment_update": f"""AFTER UPDATE OF {", ".join(PAYMENT_COLUMNS)}
        ON payments WHEN {_payment_changed("IS NOT")}
    BEGIN
        {_segment_payments(_record("OLD", PAYMENT_COLUMNS), "-1")}
        {_segment_payments(_record("NEW", PAYMENT_COLUMNS), "1")}
    END""",
    "analytics_payments_update": f"""AFTER UPDATE OF account_id, paid_at ON payments
        WHEN OLD.account_id IS NOT NEW.account_id OR OLD.paid_at IS NOT NEW.paid_at
    BEGIN
        {_sqlite_resolve("OLD.account_id")}
        {_sqlite_resolve("NEW.account_id")}
    END""",
    "analytics_calls_resolution_insert": f"""AFTER INSERT ON calls BEGIN
        {_sqlite_resolution_days("NEW.account_id", "NEW.agent_id")}
    END""",
    "analytics_calls_resolution_delete": f"""AFTER DELETE ON calls BEGIN
        {_sqlite_resolution_days("OLD.account_id", "OLD.agent_id")}
    END""",
    "analytics_calls_resolution_update": f"""AFTER UPDATE OF account_id, agent_id, started_at
        ON calls
        WHEN OLD.account_id IS NOT NEW.account_id OR OLD.agent_id IS NOT NEW.agent_id
          OR OLD.started_at IS NOT NEW.started_at
    BEGIN
        {_sqlite_resolution_days("OLD.account_id", "OLD.agent_id")}
        {_sqlite_resolution_days("NEW.account_id", "NEW.agent_id")}
    END""",
    # Roll counts.
    "analytics_snapshots_insert": f"""AFTER INSERT ON snapshots BEGIN
        {_sqlite_roll_counts(["NEW"], exclude="NEW", add=None)}
    END""",
    "analytics_snapshots_delete": f"""AFTER DELETE ON snapshots BEGIN
        {_sqlite_roll_counts(["OLD"], exclude=None, add="OLD")}
    END""",
    "analytics_snapshots_update": f"""AFTER UPDATE OF account_id, as_of, bucket ON snapshots
        WHEN OLD.account_id IS NOT NEW.account_id OR OLD.as_of IS NOT NEW.as_of
          OR OLD.bucket IS NOT NEW.bucket
    BEGIN
        {_sqlite_roll_counts(["OLD", "NEW"], exclude="NEW", add="OLD")}
    END""",
    # First NPA snapshots: only an NPA snapshot, written or removed, can change one.
    "analytics_snapshots_npa_insert": f"""AFTER INSERT ON snapshots WHEN NEW.bucket = 'NPA'
    BEGIN
        {_sqlite_npa("NEW.account_id")}
    END""",
    "analytics_snapshots_npa_delete": f"""AFTER DELETE ON snapshots WHEN OLD.bucket = 'NPA'
    BEGIN
        {_sqlite_npa("OLD.account_id")}
    END""",
    "analytics_snapshots_npa_update": f"""AFTER UPDATE OF account_id, as_of, bucket,
        principal_outstanding ON snapshots
        WHEN (OLD.bucket = 'NPA' OR NEW.bucket = 'NPA') AND (
          OLD.account_id IS NOT NEW.account_id OR OLD.as_of IS NOT NEW.as_of
          OR OLD.bucket IS NOT NEW.bucket
          OR OLD.principal_outstanding IS NOT NEW.principal_outstanding)
    BEGIN
        {_sqlite_npa("OLD.account_id")}
        {_sqlite_npa("NEW.account_id")}
    END""",
}


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_month_rows(target: str, rows: str, sign: str) -> str:
    if target == "call":
        return f"""
        INSERT INTO analytics_call_months (agent_key, disposition_key, month, calls, unreceipted)
        SELECT r.agent_key, r.disposition_key, date_trunc('month', r.day)::date,
               {sign} * sum(r.calls), {sign} * sum(r.unreceipted)
        FROM {rows} AS r GROUP BY 1, 2, 3
        {CALL_MONTHS_UPSERT};"""
    return f"""
        INSERT INTO analytics_promise_months
            (agent_key, status, month, promises, amount, paid_amount)
        SELECT r.agent_key, r.status, date_trunc('month', r.promised_on)::date,
               {sign} * sum(r.promises), {sign} * sum(r.amount), {sign} * sum(r.paid_amount)
        FROM {rows} AS r GROUP BY 1, 2, 3
        {PROMISE_MONTHS_UPSERT};"""


def _pg_agent_accounts(rows: str, sign: str) -> str:
    return f"""
        INSERT INTO analytics_agent_accounts (agent_id, accounts)
        SELECT r.assigned_agent_id, {sign} * count(*) FROM {rows} AS r
        WHERE r.assigned_agent_id IS NOT NULL GROUP BY 1
        {AGENT_ACCOUNTS_UPSERT};"""


def _pg_resolve(accounts: str) -> str:
    """Recompute the resolution rows of the accounts `accounts` (a query of account_id)."""
    return f"""
        DELETE FROM analytics_resolutions WHERE account_id IN ({accounts});
        INSERT INTO analytics_resolutions (account_id, agent_id, paid_on, days)
        SELECT a.account_id, a.assigned_agent_id, p.paid_on,
               p.paid_on - (SELECT min(c.started_at) FROM calls AS c
                            WHERE c.account_id = a.account_id
                              AND c.agent_id = a.assigned_agent_id)::date
        FROM accounts AS a
        CROSS JOIN LATERAL (SELECT max(y.paid_at) AS paid_on FROM payments AS y
                            WHERE y.account_id = a.account_id) AS p
        WHERE a.account_id IN ({accounts}) AND a.assigned_agent_id IS NOT NULL
          AND a.overdue_amount = 0 AND p.paid_on IS NOT NULL;"""


def _pg_resolution_days(calls: str) -> str:
    """Recompute the first-call days of resolved cases that `calls` (account_id, agent_id)
    may have changed."""
    return f"""
        UPDATE analytics_resolutions AS r
        SET days = r.paid_on - (SELECT min(c.started_at) FROM calls AS c
                                WHERE c.account_id = r.account_id
                                  AND c.agent_id = r.agent_id)::date
        WHERE (r.account_id, r.agent_id) IN ({calls});"""


def _pg_roll_counts(old: str, new: str) -> str:
    """Recount the month pairs the changed snapshots take part in (see `_sqlite_roll_counts`):
    the table is as it is now; before the statement it was this minus `new` plus `old`."""
    return f"""
        WITH old_diff AS (
            SELECT account_id, as_of, bucket FROM {old}
            EXCEPT ALL SELECT account_id, as_of, bucket FROM {new}
        ), new_diff AS (
            SELECT account_id, as_of, bucket FROM {new}
            EXCEPT ALL SELECT account_id, as_of, bucket FROM {old}
        ), changed AS (
            SELECT account_id, date_trunc('month', as_of)::date AS month FROM old_diff
            UNION SELECT account_id, date_trunc('month', as_of)::date FROM new_diff
        ), pairs AS (
            SELECT account_id, month FROM changed
            UNION SELECT account_id, (month - interval '1 month')::date FROM changed
        ), cells AS (
            SELECT account_id, month FROM pairs
            UNION SELECT account_id, (month + interval '1 month')::date FROM pairs
        ), after_rows AS (
            SELECT c.account_id, c.month, s.as_of, s.bucket
            FROM cells AS c JOIN snapshots AS s ON s.account_id = c.account_id
             AND s.as_of >= c.month AND s.as_of < c.month + interval '1 month'
        ), before_rows AS (
            SELECT r.account_id, r.month, r.as_of, r.bucket FROM after_rows AS r
            WHERE NOT EXISTS (SELECT 1 FROM new_diff AS n
                              WHERE n.account_id = r.account_id AND n.as_of = r.as_of)
            UNION ALL
            SELECT o.account_id, date_trunc('month', o.as_of)::date, o.as_of, o.bucket
            FROM old_diff AS o
        ), after_latest AS (
            SELECT DISTINCT ON (account_id, month) account_id, month, bucket FROM after_rows
            ORDER BY account_id, month, as_of DESC
        ), before_latest AS (
            SELECT DISTINCT ON (account_id, month) account_id, month, bucket FROM before_rows
            ORDER BY account_id, month, as_of DESC
        ), deltas AS (
            SELECT p.month, f.bucket AS from_bucket, t.bucket AS to_bucket, 1 AS delta
            FROM pairs AS p
            JOIN after_latest AS f ON f.account_id = p.account_id AND f.month = p.month
            JOIN after_latest AS t ON t.account_id = p.account_id
             AND t.month = (p.month + interval '1 month')::date
            UNION ALL
            SELECT p.month, f.bucket, t.bucket, -1
            FROM pairs AS p
            JOIN before_latest AS f ON f.account_id = p.account_id AND f.month = p.month
            JOIN before_latest AS t ON t.account_id = p.account_id
             AND t.month = (p.month + interval '1 month')::date
        )
        INSERT INTO analytics_roll_counts (month, from_bucket, to_bucket, accounts)
        SELECT month, from_bucket, to_bucket, sum(delta) FROM deltas
        GROUP BY 1, 2, 3 HAVING sum(delta) <> 0
        {ROLL_COUNTS_UPSERT};"""


def _pg_npa(old: str, new: str) -> str:
    """Recompute the first NPA snapshot of the accounts with an NPA snapshot among `old` or
    `new` (no other write can change it)."""
    accounts = (
        f"SELECT account_id FROM {old} WHERE bucket = 'NPA' "
        f"UNION SELECT account_id FROM {new} WHERE bucket = 'NPA'"
    )
    return f"""
        DELETE FROM analytics_npa_accounts WHERE account_id IN ({accounts});
        INSERT INTO analytics_npa_accounts (account_id, npa_date, principal)
        SELECT DISTINCT ON (s.account_id) s.account_id, s.as_of, s.principal_outstanding
        FROM snapshots AS s WHERE s.account_id IN ({accounts}) AND s.bucket = 'NPA'
        ORDER BY s.account_id, s.as_of;"""


_PG_NO_SNAPSHOTS = (
    "(SELECT NULL::varchar AS account_id, NULL::date AS as_of, NULL::varchar AS bucket "
    "WHERE false) AS none"
)
_PG_NO_NPA = "(SELECT NULL::varchar AS account_id, NULL::varchar AS bucket WHERE false) AS none"


def _pg_function(name: str, body: str) -> str:
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
    RETURN NULL;
END
$$"""


def _pg_by_op(insert: str, delete: str, update: str) -> str:
    return f"""IF TG_OP = 'INSERT' THEN
        {insert}
    ELSIF TG_OP = 'DELETE' THEN
        {delete}
    ELSE
        {update}
    END IF;"""


_PG_CALL_DAY_ROW = (
    """
        INSERT INTO analytics_call_days (day, agent_key, disposition_key, calls, unreceipted)
        VALUES ({row}.started_at::date, coalesce({row}.agent_id, ''),
                coalesce({row}.disposition, ''), {sign}1, {sign}{unreceipted})
        """
    + CALL_DAYS_UPSERT
    + ";"
)
_PG_MOVE_PROMISE = (
    """
        INSERT INTO analytics_promise_days
            (promised_on, agent_key, status, promises, amount, paid_amount)
        SELECT p.promised_on, coalesce({row}.agent_id, ''), p.status, {sign}1, {sign}p.amount,
               {sign}coalesce(p.paid_amount, 0)
        FROM promises AS p WHERE p.call_id = NEW.call_id
        """
    + PROMISE_DAYS_UPSERT
    + ";"
)
_PG_CALL_DAY_KEY = "({row}.agent_id, {row}.started_at::date, {row}.disposition, {unreceipted})"


def _pg_call_day_key(row: str) -> str:
    return _PG_CALL_DAY_KEY.format(row=row, unreceipted=_pg_unreceipted(row))


POSTGRES_FUNCTIONS = {
    "analytics_call_days_changed": _pg_by_op(
        _pg_month_rows("call", "new_rows", "1"),
        _pg_month_rows("call", "old_rows", "-1"),
        _pg_month_rows("call", "old_rows", "-1") + _pg_month_rows("call", "new_rows", "1"),
    ),
    "analytics_promise_days_changed": _pg_by_op(
        _pg_month_rows("promise", "new_rows", "1"),
        _pg_month_rows("promise", "old_rows", "-1"),
        _pg_month_rows("promise", "old_rows", "-1") + _pg_month_rows("promise", "new_rows", "1"),
    ),
    # Cases: a new account has no payments yet (they reference it), so it is not resolved.
    "analytics_accounts_written": _pg_by_op(
        _pg_agent_accounts("new_rows", "1") + _segment_book("new_rows", "1"),
        _pg_agent_accounts("old_rows", "-1")
        + _segment_book("old_rows", "-1")
        + "\n        DELETE FROM analytics_resolutions "
        "WHERE account_id IN (SELECT account_id FROM old_rows);",
        "NULL;",
    ),
    "analytics_accounts_segment_updated": _segment_book(_record("OLD", BOOK_COLUMNS), "-1")
    + _segment_book(_record("NEW", BOOK_COLUMNS), "1")
    + _segment_move_payments("IS DISTINCT FROM"),
    "analytics_accounts_updated": f"""
        IF OLD.assigned_agent_id IS DISTINCT FROM NEW.assigned_agent_id THEN
            {_pg_agent_accounts("(SELECT OLD.assigned_agent_id)", "-1")}
            {_pg_agent_accounts("(SELECT NEW.assigned_agent_id)", "1")}
        END IF;
        {_pg_resolve("SELECT OLD.account_id UNION SELECT NEW.account_id")}""",
    "analytics_payments_written": _pg_by_op(
        _pg_resolve("SELECT DISTINCT account_id FROM new_rows")
        + _segment_payments("new_rows", "1"),
        _pg_resolve("SELECT DISTINCT account_id FROM old_rows")
        + _segment_payments("old_rows", "-1"),
        "NULL;",
    ),
    "analytics_payments_segment_updated": _segment_payments(_record("OLD", PAYMENT_COLUMNS), "-1")
    + _segment_payments(_record("NEW", PAYMENT_COLUMNS), "1"),
    "analytics_payments_updated": _pg_resolve("SELECT OLD.account_id UNION SELECT NEW.account_id"),
    "analytics_calls_written": _pg_by_op(
        _pg_resolution_days("SELECT account_id, agent_id FROM new_rows"),
        _pg_resolution_days("SELECT account_id, agent_id FROM old_rows"),
        "NULL;",
    ),
    # 0004's per-day counts and the resolutions, for an update of one call.
    "analytics_calls_updated": f"""
        IF {_pg_call_day_key("OLD")} IS DISTINCT FROM {_pg_call_day_key("NEW")} THEN
            {_PG_CALL_DAY_ROW.format(row="OLD", sign="-", unreceipted=_pg_unreceipted("OLD"))}
            {_PG_CALL_DAY_ROW.format(row="NEW", sign="", unreceipted=_pg_unreceipted("NEW"))}
        END IF;
        IF OLD.agent_id IS DISTINCT FROM NEW.agent_id THEN
            {_PG_MOVE_PROMISE.format(row="OLD", sign="-")}
            {_PG_MOVE_PROMISE.format(row="NEW", sign="")}
        END IF;
        {
        _pg_resolution_days(
            "SELECT OLD.account_id, OLD.agent_id UNION SELECT NEW.account_id, NEW.agent_id"
        )
    }""",
    "analytics_snapshots_changed": _pg_by_op(
        _pg_roll_counts(_PG_NO_SNAPSHOTS, "new_rows") + _pg_npa(_PG_NO_NPA, "new_rows"),
        _pg_roll_counts("old_rows", _PG_NO_SNAPSHOTS) + _pg_npa("old_rows", _PG_NO_NPA),
        _pg_roll_counts("old_rows", "new_rows") + _pg_npa("old_rows", "new_rows"),
    ),
}

_STATEMENT_EVENTS = (
    ("insert", "INSERT", "REFERENCING NEW TABLE AS new_rows"),
    ("delete", "DELETE", "REFERENCING OLD TABLE AS old_rows"),
    ("update", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
)


def _statement_triggers(
    prefix: str, table: str, function: str, events: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """Transition tables allow one event per trigger, hence a trigger per event."""
    return {
        f"{prefix}_{name}": (
            table,
            f"AFTER {event} ON {table} {referencing} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {function}()",
        )
        for name, event, referencing in _STATEMENT_EVENTS
        if name in events
    }


_ALL = ("insert", "delete", "update")
_PG_CALL_CHANGED = (
    f"{_pg_call_day_key('OLD')} IS DISTINCT FROM {_pg_call_day_key('NEW')} "
    "OR OLD.account_id IS DISTINCT FROM NEW.account_id "
    "OR OLD.started_at IS DISTINCT FROM NEW.started_at"
)
# name: (table, definition after CREATE TRIGGER name)
POSTGRES_TRIGGERS: dict[str, tuple[str, str]] = {
    **_statement_triggers(
        "analytics_call_days", "analytics_call_days", "analytics_call_days_changed", _ALL
    ),
    **_statement_triggers(
        "analytics_promise_days", "analytics_promise_days", "analytics_promise_days_changed", _ALL
    ),
    **_statement_triggers(
        "analytics_accounts", "accounts", "analytics_accounts_written", ("insert", "delete")
    ),
    "analytics_accounts_update": (
        "accounts",
        "AFTER UPDATE OF account_id, assigned_agent_id, overdue_amount ON accounts FOR EACH ROW "
        "WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id "
        "OR OLD.assigned_agent_id IS DISTINCT FROM NEW.assigned_agent_id "
        "OR (OLD.overdue_amount = 0) IS DISTINCT FROM (NEW.overdue_amount = 0)) "
        "EXECUTE FUNCTION analytics_accounts_updated()",
    ),
    "analytics_accounts_segment_update": (
        "accounts",
        f"AFTER UPDATE OF {', '.join(BOOK_COLUMNS)} ON accounts FOR EACH ROW "
        f"WHEN ({_book_changed('IS DISTINCT FROM')}) "
        "EXECUTE FUNCTION analytics_accounts_segment_updated()",
    ),
    "analytics_accounts_segment_delete": (
        "accounts",
        "BEFORE DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION analytics_accounts_deleting()",
    ),
    **_statement_triggers(
        "analytics_payments", "payments", "analytics_payments_written", ("insert", "delete")
    ),
    "analytics_payments_segment_update": (
        "payments",
        f"AFTER UPDATE OF {', '.join(PAYMENT_COLUMNS)} ON payments FOR EACH ROW "
        f"WHEN ({_payment_changed('IS DISTINCT FROM')}) "
        "EXECUTE FUNCTION analytics_payments_segment_updated()",
    ),
    "analytics_payments_update": (
        "payments",
        "AFTER UPDATE OF account_id, paid_at ON payments FOR EACH ROW "
        "WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id "
        "OR OLD.paid_at IS DISTINCT FROM NEW.paid_at) "
        "EXECUTE FUNCTION analytics_payments_updated()",
    ),
    **_statement_triggers(
        "analytics_calls_resolution", "calls", "analytics_calls_written", ("insert", "delete")
    ),
    # Replaces 0004's statement trigger of the same name, which ran on every update of a call.
    "analytics_calls_update": (
        "calls",
        "AFTER UPDATE OF account_id, agent_id, started_at, disposition, source, "
        "compliance_receipt ON calls FOR EACH ROW "
        f"WHEN ({_PG_CALL_CHANGED}) EXECUTE FUNCTION analytics_calls_updated()",
    ),
    **_statement_triggers("analytics_snapshots", "snapshots", "analytics_snapshots_changed", _ALL),
}
# The account's payments go first (the foreign key would cascade), so that their triggers still
# find the account's product and channel.
POSTGRES_ACCOUNTS_DELETING = """CREATE FUNCTION analytics_accounts_deleting() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM payments WHERE account_id = OLD.account_id;
    RETURN OLD;
END
$$"""
POSTGRES_CALLS_UPDATE_0004 = (
    "CREATE TRIGGER analytics_calls_update AFTER UPDATE ON calls "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION analytics_calls_changed()"
)

# --- tables and backfill ---------------------------------------------------------------------


def _create_tables() -> None:
    # A period's days outside its whole months are read by day.
    op.create_index("ix_analytics_call_days_day", "analytics_call_days", ["day"])
    op.create_index("ix_analytics_promise_days_day", "analytics_promise_days", ["promised_on"])
    # Keys lead with what a report groups by, so summing a period reads them in order (WITHOUT
    # ROWID on SQLite: the table is its key).
    op.create_table(
        "analytics_call_months",
        sa.Column("agent_key", sa.String(length=64), nullable=False),
        sa.Column("disposition_key", sa.String(length=16), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("unreceipted", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "agent_key", "disposition_key", "month", name=op.f("pk_analytics_call_months")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "analytics_promise_months",
        sa.Column("agent_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("promises", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "agent_key", "status", "month", name=op.f("pk_analytics_promise_months")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "analytics_agent_accounts",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("accounts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_analytics_agent_accounts")),
    )
    op.create_table(
        "analytics_resolutions",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_analytics_resolutions")),
    )
    op.create_index(
        "ix_analytics_resolutions_paid", "analytics_resolutions", ["paid_on", "agent_id", "days"]
    )
    op.create_table(
        "analytics_segment_book",
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=False),
        sa.Column("accounts", sa.BigInteger(), nullable=False),
        sa.Column("npa_accounts", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("npa_principal", sa.BigInteger(), nullable=False),
        sa.Column("overdue", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "segment", name=op.f("pk_analytics_segment_book")),
    )
    op.create_table(
        "analytics_segment_payments",
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "dimension", "segment", "paid_on", name=op.f("pk_analytics_segment_payments")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "analytics_npa_accounts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("npa_date", sa.Date(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_analytics_npa_accounts")),
    )
    op.create_table(
        "analytics_roll_counts",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("from_bucket", sa.String(length=16), nullable=False),
        sa.Column("to_bucket", sa.String(length=16), nullable=False),
        sa.Column("accounts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month", "from_bucket", "to_bucket", name=op.f("pk_analytics_roll_counts")
        ),
        sqlite_with_rowid=False,
    )


def _backfill(sqlite: bool) -> list[str]:
    if sqlite:
        month = "date({}, 'start of month')"
        next_month = "date({}, '+1 month')"
        first_call_day = "date({})"
        days = "CAST(julianday({paid}) - julianday({first}) AS INTEGER)"
    else:
        month = "date_trunc('month', {})::date"
        next_month = "({} + interval '1 month')::date"
        first_call_day = "{}::date"
        days = "{paid} - {first}"
    first_call = (
        "(SELECT min(c.started_at) FROM calls AS c "
        "WHERE c.account_id = a.account_id AND c.agent_id = a.assigned_agent_id)"
    )
    latest = f"""
        SELECT account_id, {month.format("as_of")} AS month,
               substr(max({"as_of" if sqlite else "as_of::text"} || bucket), 11) AS bucket
        FROM snapshots GROUP BY account_id, {month.format("as_of")}"""
    return [
        _segment_book("accounts", "1"),
        _segment_payments("payments", "1"),
        f"""INSERT INTO analytics_call_months
            (agent_key, disposition_key, month, calls, unreceipted)
        SELECT agent_key, disposition_key, {month.format("day")}, sum(calls), sum(unreceipted)
        FROM analytics_call_days GROUP BY agent_key, disposition_key, {month.format("day")}""",
        f"""INSERT INTO analytics_promise_months
            (agent_key, status, month, promises, amount, paid_amount)
        SELECT agent_key, status, {month.format("promised_on")}, sum(promises), sum(amount),
               sum(paid_amount)
        FROM analytics_promise_days GROUP BY agent_key, status, {month.format("promised_on")}""",
        """INSERT INTO analytics_agent_accounts (agent_id, accounts)
        SELECT assigned_agent_id, count(*) FROM accounts
        WHERE assigned_agent_id IS NOT NULL GROUP BY assigned_agent_id""",
        f"""INSERT INTO analytics_resolutions (account_id, agent_id, paid_on, days)
        SELECT a.account_id, a.assigned_agent_id, p.paid_on,
               {days.format(paid="p.paid_on", first=first_call_day.format(first_call))}
        FROM accounts AS a JOIN (
            SELECT account_id, max(paid_at) AS paid_on FROM payments GROUP BY account_id
        ) AS p ON p.account_id = a.account_id
        WHERE a.assigned_agent_id IS NOT NULL AND a.overdue_amount = 0""",
        """INSERT INTO analytics_npa_accounts (account_id, npa_date, principal)
        SELECT s.account_id, s.as_of, s.principal_outstanding
        FROM snapshots AS s JOIN (
            SELECT account_id, min(as_of) AS npa_date FROM snapshots WHERE bucket = 'NPA'
            GROUP BY account_id
        ) AS f ON f.account_id = s.account_id AND f.npa_date = s.as_of""",
        f"""INSERT INTO analytics_roll_counts (month, from_bucket, to_bucket, accounts)
        SELECT month, bucket, next_bucket, count(*) FROM (
            SELECT month, bucket,
                   lead(month) OVER (PARTITION BY account_id ORDER BY month) AS next_month,
                   lead(bucket) OVER (PARTITION BY account_id ORDER BY month) AS next_bucket
            FROM ({latest}) AS latest
        ) AS pairs
        WHERE next_month = {next_month.format("month")}
        GROUP BY month, bucket, next_bucket""",
    ]


def upgrade() -> None:
    _create_tables()
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _backfill(sqlite):
        op.execute(statement)
    if sqlite:
        op.execute("DROP TRIGGER analytics_calls_update")
        op.execute(SQLITE_CALLS_UPDATE)
        for name, definition in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {definition}")
        return
    op.execute("DROP TRIGGER analytics_calls_update ON calls")
    for name, body in POSTGRES_FUNCTIONS.items():
        op.execute(_pg_function(name, body))
    op.execute(POSTGRES_ACCOUNTS_DELETING)
    for name, (_table, definition) in POSTGRES_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TRIGGER analytics_calls_update")
        op.execute(SQLITE_CALLS_UPDATE_0004)
    else:
        for name, (table, _definition) in POSTGRES_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in [*POSTGRES_FUNCTIONS, "analytics_accounts_deleting"]:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        op.execute(POSTGRES_CALLS_UPDATE_0004)
    op.drop_table("analytics_roll_counts")
    op.drop_table("analytics_npa_accounts")
    op.drop_table("analytics_segment_payments")
    op.drop_table("analytics_segment_book")
    op.drop_index("ix_analytics_resolutions_paid", table_name="analytics_resolutions")
    op.drop_table("analytics_resolutions")
    op.drop_table("analytics_agent_accounts")
    op.drop_table("analytics_promise_months")
    op.drop_table("analytics_call_months")
    op.drop_index("ix_analytics_promise_days_day", table_name="analytics_promise_days")
    op.drop_index("ix_analytics_call_days_day", table_name="analytics_call_days")
