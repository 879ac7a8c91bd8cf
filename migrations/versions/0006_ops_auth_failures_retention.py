"""ops: failed logins and tokens shared by every replica; retention purge audit

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_failures")),
    )
    op.create_index("ix_auth_failures_key", "auth_failures", ["scope", "key_hash", "at"])
    op.create_table(
        "retention_purges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ran_at", sa.DateTime(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("transcripts_before", sa.DateTime(), nullable=False),
        sa.Column("recordings_before", sa.DateTime(), nullable=False),
        sa.Column("calls_with_transcripts", sa.Integer(), nullable=False),
        sa.Column("transcript_turns", sa.Integer(), nullable=False),
        sa.Column("recordings", sa.Integer(), nullable=False),
        sa.Column("recordings_failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_purges")),
    )


def downgrade() -> None:
    op.drop_table("retention_purges")
    op.drop_index("ix_auth_failures_key", table_name="auth_failures")
    op.drop_table("auth_failures")
