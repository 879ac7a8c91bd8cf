"""cheaper dialer claims: room for claims in account pages, no redundant index on calls

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 16:35:00

A dialer's claim writes `claimed_by` and `claimed_until` on a thousand account rows at a time.
On PostgreSQL an update that finds no room on the row's page writes a new entry into every
index of `accounts`; with a tenth of each page left free (fillfactor 90) the claim is a
heap-only update that touches no index. The setting applies to pages written from now on: an
existing store gets the room for its current rows from `VACUUM FULL accounts` (not run here: it
locks the table while it rewrites it).

Every call row inserted (a thousand per claim) pays for each index on `calls`:
`ix_calls_started` (started_at) duplicates the leading column of `ix_calls_recent_history`
(started_at, account_id, …), which serves the same ranges and orderings.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_started")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE accounts SET (fillfactor = 90)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE accounts RESET (fillfactor)")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_started", ["started_at"], unique=False)
