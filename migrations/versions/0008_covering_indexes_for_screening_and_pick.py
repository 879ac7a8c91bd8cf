"""covering indexes for screening and the dial queue's pick

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 13:05:00

The batched compliance screening reads attempts by account (a batch of candidates) or by time
(a whole portfolio's recent calls): both read every column they need from one index. The dial
queue is picked in priority order (tier, then score, highest first, then account), which an
index on score ascending cannot give without sorting the whole queue. A claim counts its
campaign's live calls (the concurrency cap) without scanning every call.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HISTORY = ["disposition", "callback_at", "phone", "call_id"]


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_account_started")
        batch_op.create_index(
            "ix_calls_account_history", ["account_id", "started_at", *HISTORY], unique=False
        )
        batch_op.create_index(
            "ix_calls_recent_history", ["started_at", "account_id", *HISTORY], unique=False
        )
        batch_op.create_index("ix_calls_campaign_status", ["campaign_id", "status"], unique=False)
    with op.batch_alter_table("dial_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_dial_queue_pick")
        batch_op.create_index(
            "ix_dial_queue_pick",
            ["campaign_id", "channel", "tier", sa.column("score").desc(), "account_id", "due_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("dial_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_dial_queue_pick")
        batch_op.create_index(
            "ix_dial_queue_pick", ["campaign_id", "channel", "tier", "score"], unique=False
        )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_campaign_status")
        batch_op.drop_index("ix_calls_recent_history")
        batch_op.drop_index("ix_calls_account_history")
        batch_op.create_index(
            "ix_calls_account_started", ["account_id", "started_at"], unique=False
        )
