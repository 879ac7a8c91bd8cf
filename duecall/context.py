"""What a running duecall needs, built once from the settings and passed around explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from compliance.policy import Policy, load_policy
from duecall.clock import Clock, clock_for
from duecall.db import make_engine, make_sessionmaker
from duecall.lifecycle import Drain
from duecall.metrics import Metrics
from duecall.settings import Settings

if TYPE_CHECKING:
    from agent.llm.model import LanguageModel


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    policy: Policy  # the compliance policy every call is checked against
    metrics: Metrics = field(default_factory=Metrics)  # this process's, served at /metrics
    drain: Drain = field(default_factory=Drain)  # shutting down: no new calls
    llm: LanguageModel | None = None  # DUECALL_AGENT_MODE=llm: set by the server (server.py)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> AppContext:
        """Everything the settings describe; a bad policy file fails here, at start-up."""
        policy = load_policy(settings.policy)
        engine = make_engine(settings.database_url)
        context = cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            clock=clock or clock_for(settings.clock, settings.clock_rate, settings.clock_origin),
            policy=policy,
        )
        context.metrics.watch_outcomes(context.sessions)
        return context

    def close(self) -> None:
        self.engine.dispose()
