"""The dial queue: which accounts a campaign works, in what order, and claiming the next ones.

Priority, most urgent first (`tier`), then by `score` within a tier:
1. a promise falls due today (the borrower said they would pay today: remind them);
2. a broken promise in the last 7 days (follow up while it is fresh);
3. a callback the borrower asked for (due at the time asked);
4. everything else, by amount at risk weighted by the chance of rolling to the next bucket:
   score = max(overdue, EMI) × roll probability of the bucket × urgency, where urgency grows
   from 1 to 2 over the last 10 days before the account's dpd reaches the next bucket.

`refresh` rebuilds a campaign's queue in SQL (it never loads the portfolio). `claim` picks the
next accounts that are due in priority order (read from the index ix_dial_queue_pick), screens
them with the compliance engine's batched form, each at its paced slot, and claims the ones that
may be called then, topping up with the next candidates until enough pass, all in one
transaction: the campaign row is locked first (so
claimers of one campaign take turns and the concurrency cap and pacing hold across processes),
the picked accounts are locked with FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite takes its
write lock at BEGIN), and only accounts without a live claim are picked, so no account is ever
claimed twice while a claim lives. Accounts the engine blocks are parked until their
next_allowed_at, in one statement. One number is never rung twice at once: a candidate whose
phone is on a live call (another loan of the same borrower, a tele-caller's call; read from the
partial index ix_calls_live_phone) or already chosen in this claim is parked for NUMBER_BUSY;
claims of every campaign take turns for that (an advisory lock on PostgreSQL, held to commit).
"""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Interval,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from compliance.policy import Policy
from compliance.screening import Batch, Screening
from crm.buckets import BUCKET_FLOORS, Bucket
from crm.models import LIVE_CALLS, LIVE_STATUSES, Account, AccountFlag, Call, Promise, PromiseStatus
from dialer.models import Campaign, Channel, DialQueueEntry
from duecall.db import UTCDateTime, table_of, upsert_from

# Chance that an account in a bucket rolls to the next one within a month, used until the
# portfolio's own roll rates are known (analytics), from typical Indian retail books.
ROLL_PROBABILITY = {
    Bucket.STANDARD: 0.10,
    Bucket.SMA_0: 0.30,
    Bucket.SMA_1: 0.40,
    Bucket.SMA_2: 0.50,
    Bucket.NPA: 0.05,
}
URGENT_DAYS = 10  # before the next bucket, when urgency starts to grow
CLAIM_TTL = timedelta(minutes=30)  # a claim its holder never released lapses after this
PARKED = timedelta(days=1)  # blocked with no end in sight: look again tomorrow
NUMBER_BUSY = timedelta(minutes=15)  # its number is on another call: look again after it
_CLAIM_LOCK = 0x6475_6563_616C_6C01  # PostgreSQL advisory lock key of claims ("duecall", 1)
MAX_PAGES = 4  # candidate pages one claim screens at most


@dataclass(frozen=True, slots=True)
class Claimed:
    call_id: str
    account_id: str
    phone: str
    slot_at: datetime  # when the call may be placed (calls per second across every dialer)


def refresh(
    session: Session, campaign: Campaign, *, now: datetime, today: date, policy: Policy
) -> int:
    """Rebuild `campaign`'s queue from the portfolio in SQL; returns the accounts queued."""
    accounts, queue = table_of(Account), table_of(DialQueueEntry)
    promises, calls, flags = table_of(Promise), table_of(Call), table_of(AccountFlag)

    due_today = (
        select(promises.c.account_id)
        .where(promises.c.promised_date == today, promises.c.status == PromiseStatus.PENDING.value)
        .distinct()
        .subquery("due_today")
    )
    broken = (
        select(promises.c.account_id)
        .where(
            promises.c.status == PromiseStatus.BROKEN.value,
            promises.c.promised_date >= today - timedelta(days=7),
        )
        .distinct()
        .subquery("broken")
    )
    callbacks = (
        select(calls.c.account_id, func.max(calls.c.callback_at).label("callback_at"))
        .where(calls.c.callback_at >= now - policy.callback_tolerance)
        .group_by(calls.c.account_id)
        .subquery("callbacks")
    )
    bot_calls = (
        select(calls.c.account_id, func.count().label("attempts"))
        .where(calls.c.agent_id == "BOT", calls.c.started_at > now - timedelta(days=7))
        .group_by(calls.c.account_id)
        .subquery("bot_calls")
    )

    tier = case(
        (due_today.c.account_id.is_not(None), 1),
        (broken.c.account_id.is_not(None), 2),
        (callbacks.c.account_id.is_not(None), 3),
        else_=4,
    )
    channel_for_bucket = case(
        *((accounts.c.bucket == b, literal(campaign.channels[b])) for b in campaign.channels),
        else_=literal(Channel.AGENT.value),
    )
    channel = case(
        (
            and_(
                channel_for_bucket == Channel.BOT_THEN_AGENT.value,
                func.coalesce(bot_calls.c.attempts, 0) >= campaign.bot_attempts_before_agent,
            ),
            literal(Channel.AGENT.value),
        ),
        (channel_for_bucket == Channel.BOT_THEN_AGENT.value, literal(Channel.BOT.value)),
        else_=channel_for_bucket,
    )
    due_at = case(
        (
            callbacks.c.callback_at.is_not(None),
            _earlier(session.connection(), callbacks.c.callback_at, policy.callback_tolerance),
        ),
        else_=literal(now, type_=Account.updated_at.type),
    )
    conditions: list[ColumnElement[bool]] = [accounts.c.bucket.in_(campaign.buckets)]
    if campaign.products:
        conditions.append(accounts.c.product.in_(campaign.products))
    if campaign.agencies:
        conditions.append(accounts.c.agency_id.in_(campaign.agencies))
    if campaign.predue_days is not None:
        conditions.append(
            or_(
                accounts.c.bucket != Bucket.STANDARD.value,
                accounts.c.due_date <= today + timedelta(days=campaign.predue_days),
            )
        )
    blocked = select(flags.c.account_id).where(flags.c.flag.in_(sorted(policy.blocking_flags)))
    conditions.append(accounts.c.account_id.not_in(blocked))

    source = (
        select(
            literal(campaign.id),
            accounts.c.account_id,
            channel,
            tier,
            _score(accounts),
            due_at,
            literal(now, type_=Account.updated_at.type),
        )
        .select_from(
            accounts.outerjoin(due_today, due_today.c.account_id == accounts.c.account_id)
            .outerjoin(broken, broken.c.account_id == accounts.c.account_id)
            .outerjoin(callbacks, callbacks.c.account_id == accounts.c.account_id)
            .outerjoin(bot_calls, bot_calls.c.account_id == accounts.c.account_id)
        )
        .where(*conditions)
    )
    columns = ["campaign_id", "account_id", "channel", "tier", "score", "due_at", "refreshed_at"]
    upsert_from(
        session.connection(), queue, source, columns, ["campaign_id", "account_id"],
        ["channel", "tier", "score", "refreshed_at"],
    )  # fmt: skip
    session.execute(
        delete(queue).where(queue.c.campaign_id == campaign.id, queue.c.refreshed_at < now)
    )
    return (
        session.scalar(
            select(func.count()).select_from(queue).where(queue.c.campaign_id == campaign.id)
        )
        or 0
    )


def _earlier(conn: Connection, instant: Any, delta: timedelta) -> Any:
    """The UTCDateTime column `instant` minus `delta`, in SQL on either backend."""
    if conn.dialect.name == "sqlite":
        # The text form UTCDateTime stores, to the millisecond.
        shifted = func.strftime(
            "%Y-%m-%d %H:%M:%f000", instant, f"-{delta.total_seconds():.3f} seconds"
        )
    else:
        shifted = instant - literal(delta, Interval)
    return type_coerce(shifted, UTCDateTime)


def _score(accounts: Any) -> Any:
    at_risk = (
        cast(
            case(
                (
                    accounts.c.overdue_amount >= func.coalesce(accounts.c.emi_amount, 0),
                    accounts.c.overdue_amount,
                ),
                else_=accounts.c.emi_amount,
            ),
            Float,
        )
        / 100
    )  # paise to rupees
    probability = case(
        *((accounts.c.bucket == b.value, literal(p)) for b, p in ROLL_PROBABILITY.items()),
        else_=literal(0.0),
    )
    next_floor = case(
        *((accounts.c.dpd < floor, literal(floor)) for floor, _ in reversed(BUCKET_FLOORS[:-1])),
        else_=literal(None),
    )
    days_left = next_floor - accounts.c.dpd
    urgency = 1.0 + case(
        (days_left < URGENT_DAYS, cast(URGENT_DAYS - days_left, Float) / URGENT_DAYS),
        else_=literal(0.0),
    )
    return at_risk * probability * urgency


def claim_turn(session: Session) -> None:
    """Wait for the claims of every campaign under way to commit (they take turns, so that the
    numbers on a call a claim reads include those another campaign's claim just took: two loans
    of one borrower in two buckets). An advisory lock on PostgreSQL, held to commit and taken
    again at no cost; SQLite's write lock, taken at BEGIN, already does this. Take it before
    reading the clock for a claim: a claim's `now` must not be older than its turn."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})


@dataclass(frozen=True, slots=True)
class Claim:
    """What one claim did: the calls it claimed, and the candidates compliance blocked (those
    whose number was on another call are parked too, but not counted here)."""

    claimed: list[Claimed]
    blocked: int
    blocking_rules: Counter[str] = field(default_factory=Counter)  # one per blocked candidate


def claim(
    session: Session,
    campaign: Campaign,
    *,
    channel: Channel,
    count: int,
    now: datetime,
    policy: Policy,
    overfetch: float = 1.2,
) -> Claim:
    """Claim up to `count` accounts of `campaign` that may be called now (see module docstring).

    Calls are paced `1 / calls_per_second` apart from the campaign's next free slot, and each
    claimed account is allowed at the instant of its own slot, so a call paced a few seconds
    later never crosses a window's end or a daily cap; a candidate blocked at its slot is
    parked until its next_allowed_at. The caller commits the session; nothing is claimed unless
    it does.
    """
    claim_turn(session)
    # Serialises claimers of one campaign across processes, so the concurrency cap holds, and
    # reloads it: next_call_at as the previous claimer committed it (calls per second).
    session.refresh(campaign, with_for_update=True)
    active = (
        session.scalar(
            select(func.count())
            .select_from(Call)
            .where(Call.campaign_id == campaign.id, Call.status.in_(LIVE_STATUSES))
        )
        or 0
    )
    # Every live call counts until it ends: a stuck one until recover() ends it, so the cap
    # holds on the calls table (a call occupies its slot from started_at to ended_at).
    slots = min(count, campaign.max_concurrent - active)
    if slots <= 0:
        return Claim([], 0)
    accounts, queue = table_of(Account), table_of(DialQueueEntry)
    interval = timedelta(seconds=1 / campaign.calls_per_second)
    first_slot = max(campaign.next_call_at or now, now)
    last_slot = first_slot + interval * (slots - 1)
    conn = session.connection()
    pick = (
        select(queue.c.account_id, queue.c.tier, queue.c.score)
        .join(accounts, accounts.c.account_id == queue.c.account_id)
        .where(
            queue.c.campaign_id == campaign.id,
            queue.c.channel == channel.value,
            queue.c.due_at <= now,
            or_(accounts.c.claimed_until.is_(None), accounts.c.claimed_until < now),
        )
        .order_by(queue.c.tier, queue.c.score.desc(), queue.c.account_id)
        .with_for_update(of=accounts, skip_locked=True)
    )
    # Candidates in priority order, each screened at the instant of its own paced slot (so a
    # call paced a few seconds later never crosses a window's end, a preference or a cap), until
    # the slots are filled; more candidates are picked after the last one seen if too few pass.
    chosen: list[Screening] = []
    parked: list[tuple[str, datetime, str]] = []
    rules: Counter[str] = Counter()
    blocked = 0
    # One number, one call: a borrower with several loans (one phone on several accounts) is not
    # rung for two of them at once, nor while a tele-caller has them on the line. (A live call
    # older than a claim's life is one recover() is about to end, as its claim has lapsed.) The
    # statuses are the partial index's own WHERE text: SQLite uses a partial index only for a
    # query that repeats its condition, never one with bound parameters in their place.
    busy = set(
        conn.scalars(
            select(Call.phone).where(
                text(LIVE_CALLS), Call.phone.is_not(None), Call.started_at > now - CLAIM_TTL
            )
        )
    )
    after: tuple[int, float, str] | None = None
    screened = 0
    # A bounded number of pages, so that a claim made as a window closes (every candidate
    # blocked) parks a few pages and lets go of the locks; the next pass goes on from there.
    for _page in range(MAX_PAGES):
        if len(chosen) >= slots:
            break
        wanted = _page_size(slots, len(chosen), screened, overfetch)
        page = pick if after is None else pick.where(_after(queue, *after))
        candidates = conn.execute(page.limit(wanted)).all()
        if not candidates:
            break
        last = candidates[-1]
        after = (last.tier, last.score, last.account_id)
        batch = Batch.load(
            conn, [c[0] for c in candidates], start=first_slot, end=last_slot, policy=policy
        )
        for account_id, _, _ in candidates:
            if len(chosen) == slots:
                break
            screened += 1
            screening = batch.decide(account_id, first_slot + interval * len(chosen))
            decision = screening.decision
            if decision.allowed and screening.phone in busy:
                parked.append((account_id, now + NUMBER_BUSY, "number busy: on another call"))
                continue
            if decision.allowed and screening.phone is not None:
                chosen.append(screening)
                busy.add(screening.phone)
                continue
            blocked += 1
            rules.update(r.rule for r in decision.reasons)
            parked.append(
                (
                    account_id,
                    decision.next_allowed_at or now + PARKED,
                    "; ".join(f"{r.rule}: {r.detail}" for r in decision.reasons),
                )
            )
        if len(candidates) < wanted:
            break
    # Each write is one statement over the rows as one JSON document: a thousand statements, a
    # thousand sets of bound parameters, or arrays of long texts (which the driver quotes one by
    # one) cost many times more.
    stored = _instants(conn)
    writes = _WRITES[conn.dialect.name]
    if parked:
        rows = [(account_id, stored(until), why) for account_id, until, why in parked]
        conn.execute(writes.park, {"campaign": campaign.id, "rows": json.dumps(rows)})
    if not chosen:
        return Claim([], blocked, rules)
    claimed = [
        Claimed(new_call_id(), s.account_id, s.phone, first_slot + interval * n)
        for n, s in enumerate(chosen)
        if s.phone is not None
    ]
    receipts = {s.account_id: s.decision.receipt(s.phone) for s in chosen if s.phone is not None}
    # The candidates' rows are locked (FOR UPDATE on PostgreSQL, the write lock on SQLite) and
    # were unclaimed when picked, so every one of these claims takes.
    claims = [(c.account_id, c.call_id, stored(c.slot_at + CLAIM_TTL)) for c in claimed]
    conn.execute(writes.claim, {"rows": json.dumps(claims)})
    calls = [
        (c.call_id, c.account_id, c.phone, stored(c.slot_at), receipts[c.account_id])
        for c in claimed
    ]
    conn.execute(writes.calls, {"campaign": campaign.id, "rows": json.dumps(calls)})
    campaign.next_call_at = claimed[-1].slot_at + interval
    session.flush()
    return Claim(claimed, blocked, rules)


@dataclass(frozen=True, slots=True)
class _Writes:
    """A claim's writes, each over its rows given as one JSON array of arrays (`:rows`)."""

    park: Any  # (account_id, until, why): not before `until` in this campaign's queue
    claim: Any  # (account_id, call_id, until): the account is claimed for the call
    calls: Any  # (call_id, account_id, phone, started_at, receipt object): the queued calls


_CALL_COLUMNS = (
    "call_id, account_id, campaign_id, agent_id, phone, mode, source, status, started_at, "
    "compliance_receipt"
)
_WRITES = {
    "sqlite": _Writes(
        park=text(
            "UPDATE dial_queue SET due_at = json_extract(r.value, '$[1]'), "
            "reason = json_extract(r.value, '$[2]') FROM json_each(:rows) AS r "
            "WHERE dial_queue.campaign_id = :campaign "
            "AND dial_queue.account_id = json_extract(r.value, '$[0]')"
        ),
        claim=text(
            "UPDATE accounts SET claimed_by = json_extract(r.value, '$[1]'), "
            "claimed_until = json_extract(r.value, '$[2]') FROM json_each(:rows) AS r "
            "WHERE accounts.account_id = json_extract(r.value, '$[0]')"
        ),
        calls=text(
            f"INSERT INTO calls ({_CALL_COLUMNS}) "
            "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), :campaign, 'BOT', "
            "json_extract(value, '$[2]'), 'bot', 'dialer', 'queued', json_extract(value, '$[3]'), "
            "json_extract(value, '$[4]') FROM json_each(:rows) ORDER BY key"
        ),
    ),
    "postgresql": _Writes(
        park=text(
            "UPDATE dial_queue SET due_at = CAST(r.v ->> 1 AS timestamp), reason = r.v ->> 2 "
            "FROM json_array_elements(CAST(:rows AS json)) AS r (v) "
            "WHERE dial_queue.campaign_id = :campaign AND dial_queue.account_id = r.v ->> 0"
        ),
        claim=text(
            "UPDATE accounts SET claimed_by = r.v ->> 1, "
            "claimed_until = CAST(r.v ->> 2 AS timestamp) "
            "FROM json_array_elements(CAST(:rows AS json)) AS r (v) "
            "WHERE accounts.account_id = r.v ->> 0"
        ),
        calls=text(
            f"INSERT INTO calls ({_CALL_COLUMNS}) "
            "SELECT r.v ->> 0, r.v ->> 1, :campaign, 'BOT', r.v ->> 2, 'bot', 'dialer', "
            "'queued', CAST(r.v ->> 3 AS timestamp), r.v -> 4 "
            "FROM json_array_elements(CAST(:rows AS json)) WITH ORDINALITY AS r (v, n) "
            "ORDER BY r.n"
        ),
    ),
}


def _instants(conn: Connection) -> Callable[[datetime], str]:
    """Instants as text in the form the UTCDateTime columns take on this backend (naive UTC)."""
    process = UTCDateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
    assert process is not None  # a TypeDecorator with process_bind_param always has one
    return lambda instant: str(process(instant))


def _page_size(slots: int, chosen: int, screened: int, overfetch: float) -> int:
    """Candidates to pick for the slots still open: `overfetch` times as many as the share of
    candidates passing so far (all, before any were screened) suggests, at most a first page.

    Every candidate picked is locked and has its facts read whether or not it is screened, so
    a page larger than needed costs as much as the candidates used; a second page costs a few
    more statements.
    """
    first = max(math.ceil(slots * overfetch), 1)
    if not chosen:  # none screened yet, or every one screened was blocked
        return first
    return min(math.ceil((slots - chosen) * overfetch * screened / chosen), first)


def _after(queue: Any, tier: int, score: float, account_id: str) -> ColumnElement[bool]:
    """Entries after (tier, score, account_id) in the pick's order (tier, score desc, id)."""
    return or_(
        queue.c.tier > tier,
        and_(queue.c.tier == tier, queue.c.score < score),
        and_(queue.c.tier == tier, queue.c.score == score, queue.c.account_id > account_id),
    )


def release(session: Session, *, account_id: str, call_id: str) -> None:
    """Give up the claim a call holds on its account (if it still holds it)."""
    session.execute(
        update(Account)
        .where(Account.account_id == account_id, Account.claimed_by == call_id)
        .values(claimed_by=None, claimed_until=None)
    )


def park(
    session: Session, *, campaign_id: int, account_id: str, until: datetime, reason: str
) -> None:
    """Not before `until` for this campaign (retries, callbacks, promises, compliance)."""
    session.execute(
        update(DialQueueEntry)
        .where(DialQueueEntry.campaign_id == campaign_id, DialQueueEntry.account_id == account_id)
        .values(due_at=until, reason=reason)
    )


def new_call_id() -> str:
    return uuid.uuid4().hex
