"""analytics: a call's new disposition is counted at commit (PostgreSQL)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 16:30:00.000000

Every dialer call is counted under the same (day, agent 'BOT', disposition) rows of
analytics_call_days and analytics_call_months, and setting a call's disposition moves it from
one of those rows to another. 0009's row trigger did that at the UPDATE, so the transaction
ending a call (a status callback, the conversation's last turn) kept the day's and the month's
shared rows locked until it committed, several statements later: every other call ending
meanwhile, on every replica, waited for it. Here the disposition-only change is counted by a
deferred constraint trigger, at commit, so those rows are locked only while committing. The
counts are sums, so adding at commit instead of at the statement gives the same figures.
Changes of the call's account, agent, start or receipt are still counted at once (0009's
trigger, narrowed to them); each change is counted by exactly one of the two triggers.
SQLite has a single writer: nothing to do there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "account_id, agent_id, started_at, disposition, source, compliance_receipt"


def _unreceipted(row: str) -> str:
    """1 for a call placed without a compliance receipt (as 0004 and 0009 count it)."""
    return (
        f"CASE WHEN {row}.source <> 'import' AND ({row}.compliance_receipt IS NULL "
        f"OR {row}.compliance_receipt::text = 'null') THEN 1 ELSE 0 END"
    )


# What the call is counted under, apart from its disposition.
IDENTITY_CHANGED = (
    "OLD.account_id IS DISTINCT FROM NEW.account_id "
    "OR OLD.agent_id IS DISTINCT FROM NEW.agent_id "
    "OR OLD.started_at IS DISTINCT FROM NEW.started_at "
    f"OR {_unreceipted('OLD')} <> {_unreceipted('NEW')}"
)
AT_ONCE = (
    f"CREATE TRIGGER analytics_calls_update AFTER UPDATE OF {COLUMNS} ON calls "
    f"FOR EACH ROW WHEN ({IDENTITY_CHANGED}) EXECUTE FUNCTION analytics_calls_updated()"
)
AT_COMMIT = (
    "CREATE CONSTRAINT TRIGGER analytics_calls_disposition AFTER UPDATE OF disposition ON calls "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
    f"WHEN (OLD.disposition IS DISTINCT FROM NEW.disposition AND NOT ({IDENTITY_CHANGED})) "
    "EXECUTE FUNCTION analytics_calls_updated()"
)


def _day_key(row: str) -> str:
    return f"({row}.agent_id, {row}.started_at::date, {row}.disposition, {_unreceipted(row)})"


# 0009's trigger, as it was.
AS_IN_0009 = (
    f"CREATE TRIGGER analytics_calls_update AFTER UPDATE OF {COLUMNS} ON calls FOR EACH ROW "
    f"WHEN ({_day_key('OLD')} IS DISTINCT FROM {_day_key('NEW')} "
    "OR OLD.account_id IS DISTINCT FROM NEW.account_id "
    "OR OLD.started_at IS DISTINCT FROM NEW.started_at) EXECUTE FUNCTION analytics_calls_updated()"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TRIGGER analytics_calls_update ON calls")
    op.execute(AT_ONCE)
    op.execute(AT_COMMIT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TRIGGER analytics_calls_disposition ON calls")
    op.execute("DROP TRIGGER analytics_calls_update ON calls")
    op.execute(AS_IN_0009)
