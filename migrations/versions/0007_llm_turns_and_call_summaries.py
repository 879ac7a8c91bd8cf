"""LLM-assisted conversations: each LLM turn's tokens, latency and fate; after-call summaries

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:02:57
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_summaries",
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("ptp_amount", sa.BigInteger(), nullable=True),
        sa.Column("ptp_date", sa.Date(), nullable=True),
        sa.Column("callback_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=True),
        sa.Column("decided_disposition", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.call_id"], name=op.f("fk_call_summaries_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_disposition"], ["dispositions.code"],
            name=op.f("fk_call_summaries_decided_disposition_dispositions"),
        ),
        sa.ForeignKeyConstraint(
            ["disposition"], ["dispositions.code"],
            name=op.f("fk_call_summaries_disposition_dispositions"),
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_call_summaries")),
    )  # fmt: skip
    op.create_table(
        "llm_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("first_token_ms", sa.Float(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.call_id"], name=op.f("fk_llm_turns_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_turns")),
    )  # fmt: skip
    with op.batch_alter_table("llm_turns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_llm_turns_call_id"), ["call_id"], unique=False)
        batch_op.create_index("ix_llm_turns_outcome_at", ["outcome", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("llm_turns", schema=None) as batch_op:
        batch_op.drop_index("ix_llm_turns_outcome_at")
        batch_op.drop_index(batch_op.f("ix_llm_turns_call_id"))
    op.drop_table("llm_turns")
    op.drop_table("call_summaries")
