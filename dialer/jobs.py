"""Scheduled work: dialer passes, queue refreshes, recovery, the nightly jobs and the purge.

APScheduler keeps the schedule in the CRM database (a persistent job store). Several
`duecall serve` replicas may share it; APScheduler 3 does not coordinate them, so every job is
safe to run twice at once: dialer passes claim accounts exclusively (dialer.queue), and jobs
meant to run once per period take a row in `job_runs` first (`once`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from analytics.promises import evaluate_promises
from compliance.facts import WEEKDAYS
from crm.models import Call
from crm.service import refresh_buckets
from dialer.calls import Placement, place, recover
from dialer.models import Campaign, Channel, JobRun
from dialer.queue import Claimed, claim, refresh, release
from dialer.retention import PurgeReport, purge
from dialer.telephony import Telephony
from duecall.context import AppContext
from duecall.db import transaction
from duecall.throttle import forget_before

log = logging.getLogger(__name__)

DIAL_EVERY = timedelta(seconds=2)
REFRESH_EVERY = timedelta(minutes=15)
RECOVER_EVERY = timedelta(minutes=1)
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
    with context.sessions() as session:
        campaign_ids = list(session.scalars(select(Campaign.id).where(Campaign.active)))
    for campaign_id in campaign_ids:
        if context.drain.draining:
            break
        with transaction(context.sessions) as session:
            # Locked first, so `now` is read after the previous claimer committed: a slot never
            # starts before a call that claimer saw live had ended.
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


def recover_calls(context: AppContext) -> int:
    zone = ZoneInfo(context.settings.default_timezone)
    with transaction(context.sessions) as session:
        return recover(session, now=context.clock.now(), policy=context.policy, zone=zone)


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


class Scheduler:
    def __init__(self, context: AppContext, telephony: Telephony) -> None:
        self._context = context
        zone = ZoneInfo(context.settings.default_timezone)
        store = SQLAlchemyJobStore(engine=context.engine, tablename="apscheduler_jobs")
        self._scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=zone)
        _RUNTIME.update(
            dial=lambda: dial_pass(context, telephony),
            refresh=lambda: refresh_queues(context),
            recover=lambda: recover_calls(context),
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
