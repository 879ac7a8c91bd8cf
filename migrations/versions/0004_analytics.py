"""analytics: per-day call and promise counts, kept exact by triggers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:40:00.000000

The counts are updated by triggers in the same transaction as every write to `calls` and
`promises`: row triggers on SQLite, statement triggers with transition tables on PostgreSQL
(one aggregate per statement, so a bulk import pays once per batch, not once per row).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
    """1 for a call the dialer or the API placed without a compliance receipt, else 0."""
    return (
        f"CASE WHEN {row}.source <> 'import' AND ({row}.compliance_receipt IS NULL "
        f"OR {json_null}) THEN 1 ELSE 0 END"
    )


def _sqlite_call_row(row: str, sign: str) -> str:
    unreceipted = _unreceipted(row, f"{row}.compliance_receipt = 'null'")
    return (
        "INSERT INTO analytics_call_days (day, agent_key, disposition_key, calls, unreceipted) "
        f"VALUES (date({row}.started_at), coalesce({row}.agent_id, ''), "
        f"coalesce({row}.disposition, ''), {sign}1, {sign}{unreceipted}) {CALL_DAYS_UPSERT};"
    )


def _sqlite_promise_row(row: str, sign: str) -> str:
    return (
        "INSERT INTO analytics_promise_days "
        "(promised_on, agent_key, status, promises, amount, paid_amount) "
        f"VALUES ({row}.promised_on, "
        f"coalesce((SELECT agent_id FROM calls WHERE call_id = {row}.call_id), ''), "
        f"{row}.status, {sign}1, {sign}{row}.amount, {sign}coalesce({row}.paid_amount, 0)) "
        f"{PROMISE_DAYS_UPSERT};"
    )


def _sqlite_move_promise(agent: str, sign: str) -> str:
    """The promise of a call whose agent changed moves from the old agent to the new one."""
    return (
        "INSERT INTO analytics_promise_days "
        "(promised_on, agent_key, status, promises, amount, paid_amount) "
        f"SELECT p.promised_on, coalesce({agent}.agent_id, ''), p.status, {sign}1, "
        f"{sign}p.amount, {sign}coalesce(p.paid_amount, 0) FROM promises AS p "
        "WHERE p.call_id = NEW.call_id AND OLD.agent_id IS NOT NEW.agent_id "
        f"{PROMISE_DAYS_UPSERT};"
    )


SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER analytics_calls_insert AFTER INSERT ON calls BEGIN
        {_sqlite_call_row("NEW", "+")}
    END""",
    f"""CREATE TRIGGER analytics_calls_delete AFTER DELETE ON calls BEGIN
        {_sqlite_call_row("OLD", "-")}
    END""",
    f"""CREATE TRIGGER analytics_calls_update
        AFTER UPDATE OF agent_id, started_at, disposition, source, compliance_receipt ON calls
    BEGIN
        {_sqlite_call_row("OLD", "-")}
        {_sqlite_call_row("NEW", "+")}
        {_sqlite_move_promise("OLD", "-")}
        {_sqlite_move_promise("NEW", "+")}
    END""",
    f"""CREATE TRIGGER analytics_promises_insert AFTER INSERT ON promises BEGIN
        {_sqlite_promise_row("NEW", "+")}
    END""",
    f"""CREATE TRIGGER analytics_promises_delete AFTER DELETE ON promises BEGIN
        {_sqlite_promise_row("OLD", "-")}
    END""",
    f"""CREATE TRIGGER analytics_promises_update
        AFTER UPDATE OF call_id, promised_on, status, amount, paid_amount ON promises
    BEGIN
        {_sqlite_promise_row("OLD", "-")}
        {_sqlite_promise_row("NEW", "+")}
    END""",
)

_PG_UNRECEIPTED = _unreceipted("r", "r.compliance_receipt::text = 'null'")
_PG_CALL_ROWS = f"""
    INSERT INTO analytics_call_days (day, agent_key, disposition_key, calls, unreceipted)
    SELECT d.day, d.agent_key, d.disposition_key, sum(d.sign), sum(d.sign * d.unreceipted)
    FROM (
        SELECT r.started_at::date AS day, coalesce(r.agent_id, '') AS agent_key,
               coalesce(r.disposition, '') AS disposition_key, {{sign}} AS sign,
               {_PG_UNRECEIPTED} AS unreceipted
        FROM {{rows}} AS r
    ) AS d
    GROUP BY d.day, d.agent_key, d.disposition_key
    HAVING sum(d.sign) <> 0 OR sum(d.sign * d.unreceipted) <> 0
    {CALL_DAYS_UPSERT};
"""
_PG_PROMISE_ROWS = f"""
    INSERT INTO analytics_promise_days
        (promised_on, agent_key, status, promises, amount, paid_amount)
    SELECT r.promised_on, coalesce(c.agent_id, ''), r.status, sum({{sign}}),
           sum({{sign}} * r.amount), sum({{sign}} * coalesce(r.paid_amount, 0))
    FROM {{rows}} AS r LEFT JOIN calls AS c ON c.call_id = r.call_id
    GROUP BY r.promised_on, coalesce(c.agent_id, ''), r.status
    {PROMISE_DAYS_UPSERT};
"""
_PG_MOVE_PROMISES = f"""
    INSERT INTO analytics_promise_days
        (promised_on, agent_key, status, promises, amount, paid_amount)
    SELECT p.promised_on, m.agent_key, p.status, sum(m.sign), sum(m.sign * p.amount),
           sum(m.sign * coalesce(p.paid_amount, 0))
    FROM (
        SELECT o.call_id, coalesce(o.agent_id, '') AS agent_key, -1 AS sign
        FROM old_rows AS o JOIN new_rows AS n ON n.call_id = o.call_id
        WHERE o.agent_id IS DISTINCT FROM n.agent_id
        UNION ALL
        SELECT n.call_id, coalesce(n.agent_id, ''), 1
        FROM old_rows AS o JOIN new_rows AS n ON n.call_id = o.call_id
        WHERE o.agent_id IS DISTINCT FROM n.agent_id
    ) AS m JOIN promises AS p ON p.call_id = m.call_id
    GROUP BY p.promised_on, m.agent_key, p.status
    {PROMISE_DAYS_UPSERT};
"""


def _pg_function(name: str, insert: str, delete: str, update: str) -> str:
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {insert}
    ELSIF TG_OP = 'DELETE' THEN
        {delete}
    ELSE
        {update}
    END IF;
    RETURN NULL;
END
$$"""


POSTGRES_FUNCTIONS = (
    _pg_function(
        "analytics_calls_changed",
        _PG_CALL_ROWS.format(rows="new_rows", sign="1"),
        _PG_CALL_ROWS.format(rows="old_rows", sign="-1"),
        _PG_CALL_ROWS.format(rows="old_rows", sign="-1")
        + _PG_CALL_ROWS.format(rows="new_rows", sign="1")
        + _PG_MOVE_PROMISES,
    ),
    _pg_function(
        "analytics_promises_changed",
        _PG_PROMISE_ROWS.format(rows="new_rows", sign="1"),
        _PG_PROMISE_ROWS.format(rows="old_rows", sign="-1"),
        _PG_PROMISE_ROWS.format(rows="old_rows", sign="-1")
        + _PG_PROMISE_ROWS.format(rows="new_rows", sign="1"),
    ),
)
# Transition tables allow one event per trigger, hence three triggers per table.
POSTGRES_TRIGGERS = tuple(
    f"CREATE TRIGGER analytics_{table}_{event.lower()} AFTER {event} ON {table} "
    f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION analytics_{table}_changed()"
    for table in ("calls", "promises")
    for event, referencing in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    )
)
TRIGGER_NAMES = tuple(
    f"analytics_{table}_{event}"
    for table in ("calls", "promises")
    for event in ("insert", "delete", "update")
)


def _backfill(sqlite: bool) -> tuple[str, str]:
    if sqlite:
        day, unreceipted = "date(r.started_at)", _unreceipted("r", "r.compliance_receipt = 'null'")
    else:
        day, unreceipted = "r.started_at::date", _PG_UNRECEIPTED
    calls = f"""
        INSERT INTO analytics_call_days (day, agent_key, disposition_key, calls, unreceipted)
        SELECT {day}, coalesce(r.agent_id, ''), coalesce(r.disposition, ''), count(*),
               sum({unreceipted})
        FROM calls AS r
        GROUP BY {day}, coalesce(r.agent_id, ''), coalesce(r.disposition, '')
    """
    promises = """
        INSERT INTO analytics_promise_days
            (promised_on, agent_key, status, promises, amount, paid_amount)
        SELECT r.promised_on, coalesce(c.agent_id, ''), r.status, count(*), sum(r.amount),
               sum(coalesce(r.paid_amount, 0))
        FROM promises AS r LEFT JOIN calls AS c ON c.call_id = r.call_id
        GROUP BY r.promised_on, coalesce(c.agent_id, ''), r.status
    """
    return calls, promises


def upgrade() -> None:
    # Keyed agent first, so a period's sums per agent read the key in order (WITHOUT ROWID on
    # SQLite: the table is its key).
    op.create_table(
        "analytics_call_days",
        sa.Column("agent_key", sa.String(length=64), nullable=False),
        sa.Column("disposition_key", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("unreceipted", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "agent_key", "disposition_key", "day", name=op.f("pk_analytics_call_days")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "analytics_promise_days",
        sa.Column("agent_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("promised_on", sa.Date(), nullable=False),
        sa.Column("promises", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "agent_key", "status", "promised_on", name=op.f("pk_analytics_promise_days")
        ),
        sqlite_with_rowid=False,
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _backfill(sqlite):
        op.execute(statement)
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_FUNCTIONS + POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in TRIGGER_NAMES:
        table = name.split("_")[1]
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else f" ON {table}"))
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS analytics_calls_changed()")
        op.execute("DROP FUNCTION IF EXISTS analytics_promises_changed()")
    op.drop_table("analytics_promise_days")
    op.drop_table("analytics_call_days")
