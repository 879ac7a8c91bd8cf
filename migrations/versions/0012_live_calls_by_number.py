"""dialer: live calls by number, so that a claim skips a number already on a call

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 23:00:00.000000

A borrower with several loans has one phone on several accounts; claims are per account, so two
of those accounts could be rung at once. The claim now reads the numbers on a live call first:
this partial index holds only live calls (a few hundred rows however long the history).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "status IN ('queued', 'initiated', 'ringing', 'in-progress')"


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calls_live_phone",
            ["phone"],
            unique=False,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_calls_live_phone", sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE)
        )
