"""Prometheus metrics of one duecall process, served at /metrics.

Every process has its own registry and its own counts (no shared state between `duecall serve`
replicas, and none between apps built in one test process): Prometheus scrapes each replica and
sums with `sum by (...)`. Counters restart at zero with the process, which `rate()` and
`increase()` handle. The process collectors add CPU, memory, open files and GC figures.

- `duecall_calls_placed_total{outcome}`: calls handed to the telephony provider, by what it
  answered (`placed`, `failed`, `unconfirmed` when it did not answer in time).
- `duecall_dispositions_total{disposition}`: dispositions recorded on calls (committed).
- `duecall_compliance_blocks_total{rule}`: calls the compliance engine refused, once per
  blocking rule.
- `duecall_webhook_duration_seconds{route}`: time to answer each Twilio webhook, by route.
- `duecall_llm_fallbacks_total{reason}`: LLM turns that fell back to the scripted agent.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction, sessionmaker

from agent.models import FALLBACKS, LlmTurn
from compliance.engine import RULES
from crm.dispositions import DISPOSITIONS
from crm.models import Call
from dialer.telephony import OutboundCall, PlacedCall, Telephony
from duecall.errors import ProviderError, ProviderTimeout

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Twilio gives a webhook 15 s; most answers take milliseconds.
WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
_PENDING = "duecall.metrics.dispositions"
_FALLBACKS = "duecall.metrics.llm_fallbacks"


class Metrics:
    """The process's registry and the counters duecall keeps in it."""

    def __init__(self, *, process: bool = True) -> None:
        self.registry = CollectorRegistry()
        if process:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self.calls_placed = Counter(
            "duecall_calls_placed",
            "Calls handed to the telephony provider, by its answer.",
            ["outcome"],
            registry=self.registry,
        )
        self.dispositions = Counter(
            "duecall_dispositions",
            "Dispositions recorded on calls, by code.",
            ["disposition"],
            registry=self.registry,
        )
        self.compliance_blocks = Counter(
            "duecall_compliance_blocks",
            "Calls the compliance engine refused, once per blocking rule.",
            ["rule"],
            registry=self.registry,
        )
        self.webhook_duration = Histogram(
            "duecall_webhook_duration_seconds",
            "Time to answer a Twilio webhook, by route.",
            ["route"],
            buckets=WEBHOOK_BUCKETS,
            registry=self.registry,
        )
        self.llm_fallbacks = Counter(
            "duecall_llm_fallbacks",
            "LLM conversation turns that fell back to the scripted agent, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.dialer_skips = Counter(
            "duecall_dialer_skips",
            "Dialer passes skipped instead of dialing blind, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.database_unavailable = Counter(
            "duecall_database_unavailable",
            "Requests answered without the database (webhooks: polite close or 503), by kind.",
            ["kind"],
            registry=self.registry,
        )
        # Every known series exists from the start, at zero, so rates work from the first scrape.
        for outcome in ("placed", "failed", "unconfirmed"):
            self.calls_placed.labels(outcome=outcome)
        for disposition in DISPOSITIONS:
            self.dispositions.labels(disposition=disposition.code)
        for rule in RULES:
            self.compliance_blocks.labels(rule=rule)
        for reason in ("database_unreachable", "clock_backwards"):
            self.dialer_skips.labels(reason=reason)
        for kind in ("twiml", "callback", "api"):
            self.database_unavailable.labels(kind=kind)

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)

    def compliance_blocked(self, rules: Iterable[str]) -> None:
        """One refused call: counts each compliance rule that blocked it (others are not ours)."""
        for rule in set(rules) & set(RULES):
            self.compliance_blocks.labels(rule=rule).inc()

    def watch_outcomes(self, sessions: sessionmaker[Session]) -> None:
        """Count dispositions set on calls and LLM fallbacks stored through `sessions`, when
        their transaction commits.

        Every use of the LLM, in a turn or on the screens, is stored as an `llm_turns` row with
        what became of it; a fallback outcome counts under its reason.

        Every path that records an outcome (conversation, status callbacks, call screens) sets
        `Call.disposition` on a loaded call; one changed later (a tele-caller's outcome after the
        line's) counts again under its new code. Calls inserted with one already (history
        imports) are not live outcomes and are not counted.
        """
        event.listen(sessions, "after_flush", _collect_outcomes)
        event.listen(sessions, "after_commit", self._count_committed)
        event.listen(sessions, "after_rollback", _forget_dispositions)

    def _count_committed(self, session: Session) -> None:
        pending: Tally[str] | None = session.info.pop(_PENDING, None)
        for code, count in (pending or {}).items():
            self.dispositions.labels(disposition=code).inc(count)
        fallbacks: Tally[str] | None = session.info.pop(_FALLBACKS, None)
        for reason, count in (fallbacks or {}).items():
            self.llm_fallbacks.labels(reason=reason).inc(count)


def _collect_outcomes(session: Session, _flush: UOWTransaction) -> None:
    for instance in session.new:
        if isinstance(instance, LlmTurn) and instance.outcome in FALLBACKS:
            fallbacks: Tally[str] = session.info.setdefault(_FALLBACKS, Tally())
            fallbacks[instance.outcome] += 1
    for instance in session.dirty:
        if not isinstance(instance, Call):
            continue
        history = inspect(instance).attrs.disposition.history
        if history.added and history.added[0] is not None:
            pending: Tally[str] = session.info.setdefault(_PENDING, Tally())
            pending[str(history.added[0])] += 1


def _forget_dispositions(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_FALLBACKS, None)


class MeteredTelephony:
    """The provider, counting what it is asked to place (the Telephony protocol, delegated)."""

    def __init__(self, inner: Telephony, metrics: Metrics) -> None:
        self.inner = inner
        self._metrics = metrics

    def place_call(self, call: OutboundCall) -> PlacedCall:
        try:
            placed = self.inner.place_call(call)
        except ProviderTimeout:
            self._metrics.calls_placed.labels(outcome="unconfirmed").inc()
            raise
        except ProviderError:
            self._metrics.calls_placed.labels(outcome="failed").inc()
            raise
        self._metrics.calls_placed.labels(outcome="placed").inc()
        return placed

    def end_call(self, provider_call_sid: str) -> None:
        self.inner.end_call(provider_call_sid)

    def redirect_call(self, provider_call_sid: str, url: str) -> None:
        self.inner.redirect_call(provider_call_sid, url)

    def fetch_recording(self, url: str) -> bytes:
        return self.inner.fetch_recording(url)

    def delete_recording(self, provider_recording_sid: str) -> None:
        self.inner.delete_recording(provider_recording_sid)

    def signature_valid(
        self, url: str, params: Mapping[str, str | list[str]], signature: str
    ) -> bool:
        return self.inner.signature_valid(url, params, signature)
