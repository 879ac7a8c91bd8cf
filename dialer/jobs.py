"""Scheduled work: dialer passes, queue refreshes, recovery, the nightly jobs and the purge.

A scheduled dialer pass (`dial_tick`) first checks that it can dial safely: the database
answers (compliance and claims live there: no dialing blind) and the clock has not gone back
(a pass under an earlier time than one already run could reorder slots and windows). Otherwise
it skips, with a log line when that starts and ends and the `duecall_dialer_skips` metric.

APScheduler keeps the schedule in the CRM database (a persistent job store). Several
`duecall serve` replicas may share it; APScheduler 3 does not coordinate them, so every job is
safe to run twice at once: dialer passes claim accounts exclusively (dialer.queue), and jobs
meant to run once per period take a row in `job_runs` first (`once`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from analytics.promises import evaluate_promises
from compliance.facts import WEEKDAYS
from crm.models import LIVE_STATUSES, Call
from crm.service import refresh_buckets
from dialer.calls import NEVER_PLACED_AFTER, TERMINAL, Placement, apply_status, place, recover
from dialer.models import Campaign, Channel, JobRun
from dialer.queue import Claimed, claim, claim_turn, refresh, release
from dialer.retention import PurgeReport, purge
from dialer.telephony import CallLookup, ProviderCall, Telephony
from duecall.context import AppContext
from duecall.db import read_session, transaction
from duecall.errors import ProviderError
from duecall.middleware import database_outage
from duecall.throttle import forget_before

log = logging.getLogger(__name__)

DIAL_EVERY = timedelta(seconds=2)
REFRESH_EVERY = timedelta(minutes=15)
RECOVER_EVERY = timedelta(minutes=1)
RECONCILE_AFTER = timedelta(minutes=2)  # a live call this old is checked with the provider
CLOCK_SLACK = timedelta(seconds=1)  # clock readings this much apart count as the same time
JOBSTORE_RETRY = timedelta(seconds=2)
AUTH_FAILURES_KEPT = timedelta(days=1)  # longer than any throttle's window
NIGHTLY_AT = time(2, 0)  # lender's local time
PURGE_AT = time(3, 0)  # lender's local time


@dataclass
class PassReport:
    """What one dialer pass did, summed over the campaigns it worked."""

    claimed: int = 0
    blocked: int = 0  # candidates compliance blocked now: parked until they are allowed
    placed: int = 0
    failed: int = 0  # the provider refused or could not be reached
    unconfirmed: int = 0  # no answer in time from the provider: its callbacks will tell
    abandoned: int = 0  # claimed, then given back unplaced: the server began shutting down
    campaigns: list[str] = field(default_factory=list)


def campaign_open(campaign: Campaign, now: datetime, zone: ZoneInfo) -> bool:
    """The campaign's own calling days and hours (the policy's windows apply on top)."""
    local = now.astimezone(zone)
    return (
        WEEKDAYS[local.weekday()] in campaign.days and campaign.start <= local.time() < campaign.end
    )


def dial_pass(context: AppContext, telephony: Telephony) -> PassReport:
    """Claim and place the calls every open bot campaign has room for, now."""
    report = PassReport()
    zone = ZoneInfo(context.settings.default_timezone)
    with read_session(context.sessions) as session:
        campaign_ids = list(session.scalars(select(Campaign.id).where(Campaign.active)))
    for campaign_id in campaign_ids:
        if context.drain.draining:
            break
        with transaction(context.sessions) as session:
            # Locked first, so `now` is read after the previous claimer committed: a slot never
            # starts before a call that claimer saw live had ended.
            claim_turn(session)
            campaign = session.get(Campaign, campaign_id, with_for_update=True)
            now = context.clock.now()
            if campaign is None or not campaign_open(campaign, now, zone):
                continue
            result = claim(
                session, campaign, channel=Channel.BOT, count=campaign.max_concurrent, now=now,
                policy=context.policy,
            )  # fmt: skip
            name = campaign.name
        report.blocked += result.blocked
        context.metrics.compliance_blocked(result.blocking_rules.elements())
        report.claimed += len(result.claimed)
        if result.claimed:
            report.campaigns.append(name)
        for n, item in enumerate(result.claimed):
            if context.drain.draining:
                report.abandoned += abandon(context, result.claimed[n:])
                break
            placement = place(
                context.sessions, telephony, item, clock=context.clock,
                public_base_url=context.settings.public_base_url, policy=context.policy, zone=zone,
            )  # fmt: skip
            if placement is Placement.PLACED:
                report.placed += 1
            elif placement is Placement.FAILED:
                report.failed += 1
            else:
                report.unconfirmed += 1
    return report


class DialGuard:
    """Whether a scheduled dialer pass may dial now (see the module docstring).

    The latest clock reading a pass ran at is kept: a clock read earlier than that (by more than
    CLOCK_SLACK) holds dialing until the clock has caught up with it again.
    """

    def __init__(self) -> None:
        self.latest: datetime | None = None
        self.holding: str | None = None  # why passes are being skipped, while they are

    def hold(self, context: AppContext) -> str | None:
        """The reason to skip this pass, or None to dial (then `now` becomes the latest)."""
        now = context.clock.now()
        if self.latest is not None and now < self.latest - CLOCK_SLACK:
            return "clock_backwards"
        try:
            with context.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return "database_unreachable"
        self.latest = now if self.latest is None else max(self.latest, now)
        return None

    def skipped(self, context: AppContext, reason: str) -> None:
        """A pass did not run: counted, and logged when the pause starts (`dial_tick` logs its
        end). The job store calls it too when it cannot say which jobs are due."""
        context.metrics.dialer_skips.labels(reason=reason).inc()
        if self.holding == reason:
            return
        detail = (
            f"the clock reads {context.clock.now().isoformat()}, before the last pass at "
            f"{self.latest.isoformat() if self.latest else '?'}; holding until it catches up"
            if reason == "clock_backwards"
            else "no calls are placed until it answers"
        )
        log.warning("dialer paused: %s: %s", reason.replace("_", " "), detail)
        self.holding = reason


def dial_tick(context: AppContext, telephony: Telephony, guard: DialGuard) -> PassReport | None:
    """The scheduled dialer pass: a pass when the guard allows it, else None (skipped)."""
    reason = guard.hold(context)
    if reason is None:
        try:
            report = dial_pass(context, telephony)
        except SQLAlchemyError as exc:
            if not database_outage(exc):
                raise
            reason = "database_unreachable"  # it went away during the pass
            log.warning("dialer pass interrupted: database error (%s)", type(exc).__name__)
        else:
            if guard.holding is not None:
                log.info("dialer resumed (held: %s)", guard.holding.replace("_", " "))
                guard.holding = None
            return report
    guard.skipped(context, reason)
    return None


def abandon(context: AppContext, items: list[Claimed]) -> int:
    """Give back claims that will not be placed, as if never made: no attempt, account free."""
    with transaction(context.sessions) as session:
        for item in items:
            session.execute(
                delete(Call).where(
                    Call.call_id == item.call_id,
                    Call.status == "queued",
                    Call.provider_call_sid.is_(None),
                )
            )
            release(session, account_id=item.account_id, call_id=item.call_id)
    return len(items)


def refresh_queues(context: AppContext) -> dict[str, int]:
    """Rebuild every active campaign's queue (in SQL)."""
    zone = ZoneInfo(context.settings.default_timezone)
    now = context.clock.now()
    sizes: dict[str, int] = {}
    with transaction(context.sessions) as session:
        for campaign in session.scalars(select(Campaign).where(Campaign.active)):
            sizes[campaign.name] = refresh(
                session, campaign, now=now, today=now.astimezone(zone).date(), policy=context.policy
            )
    return sizes


def recover_calls(context: AppContext, telephony: Telephony | None = None) -> int:
    """Ask the provider about calls whose callbacks never came (when it can say), then finish
    the calls nobody will finish (dialer.calls.recover); returns how many were finished."""
    # One instant for both: a call that came of age between the two reads would be written off
    # as never placed without its provider record ever being asked for.
    now = context.clock.now()
    settled, unanswered = reconcile(context, telephony, now) if telephony is not None else (0, [])
    zone = ZoneInfo(context.settings.default_timezone)
    with transaction(context.sessions) as session:
        return settled + recover(
            session, now=now, policy=context.policy, zone=zone, spare=unanswered
        )


def reconcile(context: AppContext, telephony: Telephony, now: datetime) -> tuple[int, list[str]]:
    """Apply the provider's own record to calls still open here long after they began.

    Status callbacks sent while this server was down or its database unreachable are lost
    (Twilio does not retry them by default): the call stays open here though it ended there.
    A call with a provider sid is fetched; one without (the dialer died between the provider
    accepting it and storing its sid) is looked up among the provider's calls to its number,
    the newest one no call here has. Returns the calls it finished and the sid-less calls the
    provider could not be asked about (not to be written off as never placed this time).
    """
    lookup = getattr(telephony, "inner", telephony)
    if not isinstance(lookup, CallLookup):
        return 0, []
    with read_session(context.sessions) as session:
        stuck = session.execute(
            select(Call.call_id, Call.provider_call_sid, Call.phone, Call.started_at).where(
                Call.status.in_(LIVE_STATUSES),
                Call.started_at < now - RECONCILE_AFTER,
            )
        ).all()
    finished = 0
    unanswered: list[str] = []
    for call_id, sid, phone, started_at in stuck:
        try:
            if sid is not None:
                found: ProviderCall | None = lookup.fetch_call(sid)
            elif phone and started_at < now - NEVER_PLACED_AFTER:
                found = _unclaimed_call(context, lookup.calls_to(phone))
            else:
                continue
        except ProviderError as exc:
            log.warning("call %s: the provider could not say what became of it (%s)", call_id, exc)
            if sid is None:
                unanswered.append(call_id)
            continue
        if found is None:
            continue
        finished += _apply_provider_record(context, call_id, found, now)
    if finished:
        log.info("reconciled %d calls with the provider's record", finished)
    return finished, unanswered


def _unclaimed_call(context: AppContext, calls: list[ProviderCall]) -> ProviderCall | None:
    if not calls:
        return None
    with read_session(context.sessions) as session:
        known = set(
            session.scalars(
                select(Call.provider_call_sid).where(
                    Call.provider_call_sid.in_([c.provider_call_sid for c in calls])
                )
            )
        )
    return next((c for c in calls if c.provider_call_sid not in known), None)


def _apply_provider_record(
    context: AppContext, call_id: str, found: ProviderCall, now: datetime
) -> int:
    zone = ZoneInfo(context.settings.default_timezone)
    with transaction(context.sessions) as session:
        call = session.get(Call, call_id, with_for_update=True)
        if call is None or call.status in TERMINAL:
            return 0
        apply_status(
            session, call, status=found.status, provider_call_sid=found.provider_call_sid,
            duration_s=found.duration_s, answered_by=found.answered_by,
            now=min(found.ended_at or now, now), policy=context.policy, zone=zone,
        )  # fmt: skip
        return 1 if call.status in TERMINAL else 0


def once(context: AppContext, job: str, period: str) -> bool:
    """Take the run of `job` for `period`; False when another replica already has it."""
    try:
        with transaction(context.sessions) as session:
            session.add(JobRun(job=job, period=period, started_at=context.clock.now()))
    except IntegrityError:
        return False
    return True


def nightly(context: AppContext) -> bool:
    """Age and rebucket the book, settle promises, rebuild the queues; once per local night."""
    zone = ZoneInfo(context.settings.default_timezone)
    today = context.clock.now().astimezone(zone).date()
    if not once(context, "nightly", today.isoformat()):
        return False
    with transaction(context.sessions) as session:
        aged = refresh_buckets(session.connection(), today=today)
        policy, now = context.policy, context.clock.now()
        evaluate_promises(session, today=today, grace_days=policy.promise_grace_days, now=now)
    sizes = refresh_queues(context)
    log.info("nightly: %d accounts aged; queues %s", aged, sizes)
    return True


def purge_expired(
    context: AppContext, telephony: Telephony, *, trigger: str, dry_run: bool = False
) -> PurgeReport:
    """Erase recordings and transcripts past their retention (see dialer.retention)."""
    settings, now = context.settings, context.clock.now()
    report = purge(
        context.engine,
        telephony,
        now=now,
        transcript_days=settings.retention_transcript_days,
        recording_days=settings.retention_recording_days,
        trigger=trigger,
        dry_run=dry_run,
    )
    if not dry_run:
        with context.engine.begin() as conn:
            forget_before(conn, now - AUTH_FAILURES_KEPT)
    return report


def nightly_purge(context: AppContext, telephony: Telephony) -> PurgeReport | None:
    """The purge, once per local night whatever the number of replicas."""
    today = context.clock.now().astimezone(ZoneInfo(context.settings.default_timezone)).date()
    if not once(context, "purge", today.isoformat()):
        return None
    return purge_expired(context, telephony, trigger="nightly")


# --- the scheduler ---------------------------------------------------------------------

# APScheduler stores jobs by reference to module-level functions; the one running scheduler of
# this process registers what those functions need here when it starts.
_RUNTIME: dict[str, Callable[[], Any]] = {}


def run_job(name: str) -> None:
    """The job APScheduler calls; failures are logged and the next run goes ahead."""
    job = _RUNTIME.get(name)
    if job is None:
        log.warning("job %s has no runtime in this process", name)
        return
    try:
        job()
    except Exception:  # the scheduler's boundary: one failed run must not stop the schedule
        log.exception("job %s failed", name)


class OutageTolerantJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """The job store in the CRM database, surviving the database going away.

    APScheduler 3 retries `get_due_jobs` when the store fails, but an error from `update_job` or
    `get_next_run_time` escapes its main loop and ends the scheduler's thread for good: no more
    dialing, ever, after a database blip at the wrong moment. Here those are logged instead; a
    job whose next run could not be saved is simply due again (runs coalesce).

    While the store cannot say which jobs are due, no pass runs at all: `on_outage` is told, so
    that the dialer's pause is logged and counted as when a pass finds the database gone.
    """

    def __init__(self, *args: Any, on_outage: Callable[[], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._on_outage = on_outage

    def get_due_jobs(self, now: datetime) -> list[Any]:
        try:
            due: list[Any] = super().get_due_jobs(now)
        except SQLAlchemyError:
            if self._on_outage is not None:
                self._on_outage()
            raise  # APScheduler logs it and asks again after jobstore_retry_interval
        return due

    def update_job(self, job: Any) -> None:
        try:
            super().update_job(job)
        except SQLAlchemyError as exc:
            log.warning("job store: next run of %s not saved (%s)", job.id, type(exc).__name__)

    def get_next_run_time(self) -> datetime | None:
        try:
            next_run: datetime | None = super().get_next_run_time()
        except SQLAlchemyError as exc:
            log.warning("job store unreachable (%s); retrying", type(exc).__name__)
            return datetime.now(UTC) + JOBSTORE_RETRY
        return next_run


class Scheduler:
    def __init__(self, context: AppContext, telephony: Telephony) -> None:
        self._context = context
        zone = ZoneInfo(context.settings.default_timezone)
        guard = DialGuard()
        store = OutageTolerantJobStore(
            engine=context.engine,
            tablename="apscheduler_jobs",
            on_outage=lambda: guard.skipped(context, "database_unreachable"),
        )
        self._scheduler = BackgroundScheduler(
            jobstores={"default": store},
            timezone=zone,
            jobstore_retry_interval=JOBSTORE_RETRY.total_seconds(),
        )
        _RUNTIME.update(
            dial=lambda: dial_tick(context, telephony, guard),
            refresh=lambda: refresh_queues(context),
            recover=lambda: recover_calls(context, telephony),
            nightly=lambda: nightly(context),
            purge=lambda: nightly_purge(context, telephony),
        )

    def start(self) -> None:
        common: dict[str, Any] = {"replace_existing": True, "coalesce": True, "max_instances": 1}
        add = self._scheduler.add_job
        add(
            run_job,
            "interval",
            args=["dial"],
            id="dial",
            seconds=DIAL_EVERY.total_seconds(),
            **common,
        )
        add(
            run_job,
            "interval",
            args=["refresh"],
            id="refresh",
            seconds=REFRESH_EVERY.total_seconds(),
            **common,
        )
        add(
            run_job,
            "interval",
            args=["recover"],
            id="recover",
            seconds=RECOVER_EVERY.total_seconds(),
            # At start too: after a crash, calls whose callbacks were missed are settled at once.
            next_run_time=datetime.now(UTC),
            **common,
        )
        add(
            run_job,
            "cron",
            args=["nightly"],
            id="nightly",
            hour=NIGHTLY_AT.hour,
            minute=NIGHTLY_AT.minute,
            **common,
        )
        add(
            run_job,
            "cron",
            args=["purge"],
            id="purge",
            hour=PURGE_AT.hour,
            minute=PURGE_AT.minute,
            **common,
        )
        self._scheduler.start()

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def shutdown(self) -> None:
        """Stop taking new runs and wait for the ones in progress (calls being placed)."""
        self._scheduler.shutdown(wait=True)
        _RUNTIME.clear()
