"""What the LLM-assisted agent stores: each use of the LLM, its cost and what became of it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from duecall.db import Base, UTCDateTime


class LlmOutcome(enum.StrEnum):
    """What became of one use of the LLM."""

    SPOKEN = "spoken"  # its words were said (or shown) as they were
    PROPOSAL = "proposal"  # it reported an outcome; the state machine's line for it was said
    REPLACED = "replaced"  # a guard failed: the scripted line was said instead
    TIMEOUT = "timeout"  # no answer within the turn's budget: scripted line
    ERROR = "error"  # the endpoint failed: scripted line
    MALFORMED = "malformed"  # the answer was not a chat completion: scripted line
    INVALID_TOOL = "invalid_tool"  # a tool call the rules refuse: scripted line
    INJECTION = "injection"  # the borrower spoke to the model: not asked, scripted line


# Outcomes where the borrower heard the scripted line because the LLM could not be used.
FALLBACKS = frozenset(
    {
        LlmOutcome.REPLACED,
        LlmOutcome.TIMEOUT,
        LlmOutcome.ERROR,
        LlmOutcome.MALFORMED,
        LlmOutcome.INVALID_TOOL,
        LlmOutcome.INJECTION,
    }
)


class LlmTurn(Base):
    """One use of the LLM on a call: a turn of the conversation, a suggestion or a summary."""

    __tablename__ = "llm_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    turn: Mapped[int] = mapped_column(Integer)  # the borrower's turn number; 0 for the screens
    task: Mapped[str] = mapped_column(String(16))  # phrase | understand | suggest | summarise
    outcome: Mapped[str] = mapped_column(String(16))  # LlmOutcome
    detail: Mapped[str | None] = mapped_column(Text)  # the guard or error, never a secret
    model: Mapped[str] = mapped_column(String(100))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)  # request to whole answer
    first_token_ms: Mapped[float | None] = mapped_column(Float)  # request to first streamed text
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_llm_turns_outcome_at", "outcome", "at"),)
