"""The conversation agent's edge: one webhook turn against the store.

A turn loads the call's facts and conversation state, lets `agent.conversation` decide, and in
the same transaction stores the transcript, the new state, any outcome and its effects, and the
TwiML answered. Twilio retries a webhook it did not get an answer to in time; a retried turn is
recognised by its number and gets the stored TwiML back, so no turn or effect is ever applied
twice. The call's row is locked for the turn, so a retry racing the original waits for it.
At most `TURNS_AT_ONCE` turns (SQLite: one) are in their transaction at once per store.

A turn is the agent's hot path (100 calls in progress are tens of turns a second on one worker),
so it is a handful of prebuilt Core statements rather than ORM loads: one that locks the call
(PostgreSQL; SQLite's write lock is taken at BEGIN), one that reads the call, account, borrower,
state and any stored reply together, and the writes (on PostgreSQL one statement). The rare
effects (an outcome, a preference, what LLM mode keeps) go through the ORM in the same
transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Select,
    Update,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from agent.conversation import (
    CallFacts,
    Reply,
    Responder,
    Said,
    State,
    Step,
    Then,
    open_call,
    respond,
    voicemail,
    window_closed,
)
from agent.models import LlmTurn
from agent.streaming import relay_twiml
from compliance.engine import Decision, decide
from compliance.facts import AccountFacts, Case
from compliance.screening import decide_for_phone
from compliance.zones import phone_zones, zone
from crm.buckets import Bucket
from crm.models import (
    Account,
    AccountFlag,
    Borrower,
    Call,
    ContactPreference,
    Hold,
    Phone,
    PhoneStatus,
    Speaker,
    TranscriptTurn,
)
from crm.outcomes import record_outcome, record_preferences
from dialer.calls import MACHINE, STATUS_RANK, TERMINAL
from dialer.models import WebhookEvent
from dialer.providers import credentials
from duecall.context import AppContext
from duecall.db import table_of

log = logging.getLogger(__name__)

GATHER_TIMEOUT_S = 5  # seconds of silence before Twilio gives up listening
VOICEMAIL_TURN = "voicemail"

# Turns in their transaction at once, per store. A turn is a few milliseconds of Python and a
# short transaction; more of them at once only contend for the GIL and the store and make every
# one slower. SQLite has a single writer anyway (a turn waiting for its lock would poll with
# growing sleeps).
TURNS_AT_ONCE_SQLITE = 1
TURNS_AT_ONCE = 4
_slots: WeakKeyDictionary[Engine, threading.BoundedSemaphore] = WeakKeyDictionary()
_slots_made = threading.Lock()


def turns_at_once(engine: Engine) -> int:
    """How many turns `engine`'s store takes in their transaction at once."""
    return TURNS_AT_ONCE_SQLITE if engine.dialect.name == "sqlite" else TURNS_AT_ONCE


@contextmanager
def _turn_slot(engine: Engine) -> Iterator[None]:
    """One of the store's turn slots, held for the turn's transaction (the thread waits)."""
    slot = _slots.get(engine)
    if slot is None:
        with _slots_made:
            slot = _slots.get(engine)
            if slot is None:
                slot = _slots[engine] = threading.BoundedSemaphore(turns_at_once(engine))
    with slot:
        yield


@dataclass(frozen=True, slots=True)
class Turn:
    """One webhook request of the conversation: which turn, and what Twilio reported."""

    call_id: str
    provider_call_sid: str
    number: int  # 0: the call was answered; n: the borrower's n-th answer
    said: Said
    answered_by: str | None = None


def take_turn(
    context: AppContext,
    turn: Turn,
    responder: Responder | None = None,
    also: Mapping[str, Any] | None = None,
) -> str:
    """The TwiML for `turn`, applying it once; a replayed turn gets the same TwiML again.

    `responder` computes the borrower turn's reply (LLM mode prepares one); default the script.
    `also` is the turn's use of the model (LLM mode: an `llm_turns` row), stored with the turn
    when it is applied (on PostgreSQL in the same statement).
    """
    sid, key = turn.provider_call_sid or turn.call_id, str(turn.number)
    with _turn_slot(context.engine), context.engine.begin() as conn:
        now = context.clock.now()
        row = _load(conn, turn.call_id, sid, key, answer=turn.number == 0)
        if row is None:
            log.warning("voice webhook for unknown call %s", turn.call_id)
            return hang_up()
        if row.replay is not None:
            return str(row.replay)
        state = state_of(row.conversation)
        if row.status in TERMINAL or (state is not None and state.step is Step.ENDED):
            return hang_up()
        facts = facts_of(context, row)
        heard, answered_by = None, None
        if turn.number == 0 or state is None:
            state, reply = _answer(conn, row, facts, turn, context, now)
            answered_by = turn.answered_by or ""
        else:
            heard = turn.said
            state, reply = (responder or respond)(state, facts, turn.said, now=now)
        return _store(
            conn, context, row, facts, state, reply, now, heard=heard, answered_by=answered_by,
            sid=sid, key=key, next_turn=turn.number + 1, also=also,
        )  # fmt: skip


def leave_voicemail(context: AppContext, call_id: str, provider_call_sid: str) -> str:
    """An answering machine was detected: the limited-content message, once."""
    sid = provider_call_sid or call_id
    with _turn_slot(context.engine), context.engine.begin() as conn:
        now = context.clock.now()
        row = _load(conn, call_id, sid, VOICEMAIL_TURN, answer=False)
        if row is None:
            return hang_up()
        if row.replay is not None:
            return str(row.replay)
        state = state_of(row.conversation) or State()
        if state.identity_confirmed:
            return hang_up()  # a person confirmed who they are: not a machine after all
        facts = facts_of(context, row)
        ended = State(step=Step.ENDED, turn=state.turn)
        return _store(
            conn, context, row, facts, ended, voicemail(facts), now,
            heard=None, answered_by=None, sid=sid, key=VOICEMAIL_TURN, next_turn=state.turn + 1,
            also=None,
        )  # fmt: skip


def conversation_open(session: Session, call_id: str) -> bool:
    """Whether the bot is still talking on `call_id` (a machine may still get the voicemail)."""
    call = session.get(Call, call_id)
    if call is None or call.status in TERMINAL:
        return False
    state = state_of(call.conversation)
    return state is None or (state.step is not Step.ENDED and not state.identity_confirmed)


def call_facts(session: Session, call: Call, context: AppContext) -> CallFacts:
    account = session.get(Account, call.account_id)
    assert account is not None, f"call {call.call_id} has no account"
    return facts_of(
        context,
        _FactsRow(
            account_id=account.account_id,
            phone=call.phone,
            language=call.language,
            account_language=account.language,
            borrower_name=account.borrower.name,
            overdue_amount=account.overdue_amount,
            emi_amount=account.emi_amount,
            due_date=account.due_date,
            principal_outstanding=account.principal_outstanding,
            bucket=account.bucket,
            timezone=account.timezone,
        ),
    )


@dataclass(frozen=True, slots=True)
class _FactsRow:
    """What `facts_of` reads, as `_load`'s row has it."""

    account_id: str
    phone: str | None
    language: str | None
    account_language: str | None
    borrower_name: str
    overdue_amount: Decimal
    emi_amount: Decimal | None
    due_date: Any
    principal_outstanding: Decimal | None
    bucket: Bucket
    timezone: str | None


def facts_of(context: AppContext, row: Any) -> CallFacts:
    """The call's facts from a row of `with_facts` (or anything with the same attributes)."""
    settings = context.settings
    digits = "".join(ch for ch in row.account_id if ch.isdigit())
    overdue = row.overdue_amount
    return CallFacts(
        lender=settings.lender_name,
        borrower_name=row.borrower_name,
        language=row.language or row.account_language or "en",
        account_last4=digits[-4:],
        overdue=overdue,
        emi=row.emi_amount,
        due_date=row.due_date,
        total_outstanding=(row.principal_outstanding or Decimal(0)) + overdue,
        bucket=row.bucket,
        promise_horizon_days=context.policy.promise_horizon(row.bucket),
        zone=_borrower_zone(row.timezone, row.phone, settings.default_timezone),
        callback_number=settings.lender_phone or credentials(settings)[2],
        verification=(
            digits[-4:]
            if settings.agent_verification == "loan_last4" and len(digits) >= 4
            else None
        ),
        transfer_number=settings.transfer_number,
    )


# --- the turn's statements, built once --------------------------------------------------------

_calls, _accounts, _borrowers = table_of(Call), table_of(Account), table_of(Borrower)
_turns, _events = table_of(TranscriptTurn), table_of(WebhookEvent)


def _of_this_account(table: Any) -> ColumnElement[bool]:
    return table.c.account_id == _calls.c.account_id  # type: ignore[no-any-return]


# Whatever could make the answer-time check differ from the dial's besides the clock.
_EXTRAS = or_(
    exists().where(_of_this_account(table_of(AccountFlag))),
    exists().where(_of_this_account(table_of(Hold)), table_of(Hold).c.released_at.is_(None)),
    exists().where(
        _of_this_account(table_of(ContactPreference)),
        table_of(ContactPreference).c.kind == "avoid",
    ),
    exists().where(_of_this_account(table_of(Phone)), table_of(Phone).c.status != PhoneStatus.OK),
)
_REPLAY = (
    select(_events.c.response)
    .where(
        _events.c.provider_call_sid == bindparam("p_sid"),
        _events.c.kind == "voice",
        _events.c.key == bindparam("p_key"),
    )
    .scalar_subquery()
)
# What `facts_of` reads.
_FACTS_COLUMNS = (
    _calls.c.account_id, _calls.c.phone, _calls.c.language,
    _accounts.c.language.label("account_language"), _accounts.c.timezone, _accounts.c.bucket,
    _accounts.c.overdue_amount, _accounts.c.emi_amount, _accounts.c.due_date,
    _accounts.c.principal_outstanding, _borrowers.c.name.label("borrower_name"),
)  # fmt: skip


def with_facts(*columns: ColumnElement[Any]) -> Select[Any]:
    """`columns` and what `facts_of` reads, of the call `:p_call` (a select to add to)."""
    return (
        select(*columns, *_FACTS_COLUMNS)
        .join(_accounts, _accounts.c.account_id == _calls.c.account_id)
        .join(_borrowers, _borrowers.c.borrower_id == _accounts.c.borrower_id)
        .where(_calls.c.call_id == bindparam("p_call"))
    )


_LOAD = with_facts(
    _calls.c.call_id, _calls.c.status, _calls.c.answered_at, _calls.c.answered_by,
    _calls.c.conversation, _accounts.c.dpd, _REPLAY.label("replay"),
)  # fmt: skip
_LAST_SEQ = select(func.coalesce(func.max(_turns.c.seq), 0)).where(
    _turns.c.call_id == bindparam("p_call")
)
# At the answer: what the compliance check needs, and the transcript's last number (no state yet).
_LOAD_AT_ANSWER = _LOAD.add_columns(
    _calls.c.compliance_receipt,
    _EXTRAS.label("extras"),
    _LAST_SEQ.scalar_subquery().label("last_seq"),
)
_LOCK = select(_calls.c.call_id).where(_calls.c.call_id == bindparam("p_call")).with_for_update()
_ANSWERED_STATUSES = [s for s, rank in STATUS_RANK.items() if rank >= STATUS_RANK["in-progress"]]


@cache
def _save_state(answer: bool) -> Update:
    """The state's update of the call; at the answer it also marks the call answered."""
    values: dict[str, Any] = {
        "conversation": bindparam("p_conversation", type_=_calls.c.conversation.type),
        "language": func.coalesce(
            _calls.c.language, bindparam("p_language", type_=_calls.c.language.type)
        ),
    }
    if answer:
        values |= {
            "answered_at": func.coalesce(
                _calls.c.answered_at, bindparam("p_at", type_=_calls.c.answered_at.type)
            ),
            "status": case(
                (_calls.c.status.in_(_ANSWERED_STATUSES), _calls.c.status), else_="in-progress"
            ),
            "answered_by": func.coalesce(
                _calls.c.answered_by,
                bindparam("p_answered_by", type_=_calls.c.answered_by.type),
            ),
        }
    return update(_calls).where(_calls.c.call_id == bindparam("p_call")).values(values)


_SAVE_REPLY = insert(_events).values(
    provider_call_sid=bindparam("p_sid", type_=_events.c.provider_call_sid.type),
    kind="voice",
    key=bindparam("p_key", type_=_events.c.key.type),
    received_at=bindparam("p_at", type_=_events.c.received_at.type),
    response=bindparam("p_twiml", type_=_events.c.response.type),
)
_SAVE_TURNS = insert(_turns)
_TURN_COLUMNS = ("seq", "speaker", "text", "confidence")
_llm_turns = table_of(LlmTurn)
_SAVE_LLM_TURN = insert(_llm_turns)


@cache
def _save_all(turns: int, answer: bool, llm: bool) -> Insert:
    """PostgreSQL: the transcript, the state, the reply and the use of the model in one
    statement (one round trip)."""
    statement = _SAVE_REPLY.add_cte(_save_state(answer).cte("saved_state"))
    if llm:
        values = {
            c.name: bindparam(f"p_llm_{c.name}", type_=c.type)
            for c in _llm_turns.columns
            if not c.primary_key
        }
        statement = statement.add_cte(insert(_llm_turns).values(values).cte("saved_llm_turn"))
    if turns:
        # The lines as one SELECT per line, in order (they get their ids in that order): the
        # compiled form of a multi-row VALUES insert is not cached by SQLAlchemy, and compiling
        # it anew costs more than the rest of the turn's client work.
        lines = [
            select(  # typed: a UNION takes its column types from its values, NULL being none
                cast(bindparam("p_call", type_=_turns.c.call_id.type), _turns.c.call_id.type),
                *(
                    cast(bindparam(f"p_{c}{n}", type_=_turns.c[c].type), _turns.c[c].type)
                    for c in _TURN_COLUMNS
                ),
                cast(bindparam("p_at", type_=_turns.c.at.type), _turns.c.at.type),
            )
            for n in range(turns)
        ]
        rows = insert(_turns).from_select(
            ["call_id", *_TURN_COLUMNS, "at"], union_all(*lines) if turns > 1 else lines[0]
        )
        statement = statement.add_cte(rows.cte("saved_turns"))
    return statement


def _load(conn: Connection, call_id: str, sid: str, key: str, *, answer: bool) -> Any:
    """The call's row with its account, borrower and state, and the reply stored for this turn
    if it was answered before; None for an unknown call. The call is locked until commit."""
    # On PostgreSQL the lock is its own statement, so that what is read next is read after a
    # racing turn (a retry) committed; SQLite's BEGIN IMMEDIATE already took the write lock.
    if conn.dialect.name != "sqlite" and conn.execute(_LOCK, {"p_call": call_id}).first() is None:
        return None
    return conn.execute(
        _LOAD_AT_ANSWER if answer else _LOAD, {"p_call": call_id, "p_sid": sid, "p_key": key}
    ).first()


def _answer(
    conn: Connection, row: Any, facts: CallFacts, turn: Turn, context: AppContext, now: datetime
) -> tuple[State, Reply]:
    """The call was answered (the call's row is marked so as the turn is stored)."""
    if turn.answered_by in MACHINE:
        return State(step=Step.ENDED), voicemail(facts)
    decision = _still_allowed(conn, row, context, now)
    if decision is not None and not decision.allowed:
        why = "; ".join(f"{r.rule}: {r.detail}" for r in decision.reasons)
        context.metrics.compliance_blocked(r.rule for r in decision.reasons)
        return State(step=Step.ENDED), window_closed(facts, why)
    return open_call(facts)


def _still_allowed(
    conn: Connection, row: Any, context: AppContext, now: datetime
) -> Decision | None:
    """The compliance check again at answer: the window may have closed while the call rang or
    queued (RBI recovery-call hours; this call itself does not count against the caps).

    Since the dial only the clock moved, unless a hold, flag, preference or wrong-number report
    was recorded meanwhile: the rules on past attempts only relax as time passes, so when the
    dial's receipt shows an ordinary (not a callback) decision and the account has none of those,
    the decision is taken on the account alone, without reading its history again.
    """
    if not row.phone:
        return None
    receipt = getattr(row, "compliance_receipt", None)
    ordinary = (
        isinstance(receipt, dict) and receipt.get("allowed") is True
        and receipt.get("callback") is False and getattr(row, "extras", True) is False
    )  # fmt: skip
    if not ordinary:
        return decide_for_phone(
            conn, row.account_id, row.phone, at=now, policy=context.policy,
            excluding_call=row.call_id,
        )  # fmt: skip
    account = AccountFacts(
        account_id=row.account_id, dpd=row.dpd, timezone=row.timezone, phones=(row.phone,),
        phones_known_valid=True,
    )  # fmt: skip
    return decide(Case(now, row.phone, account), context.policy)


def _store(
    conn: Connection,
    context: AppContext,
    row: Any,
    facts: CallFacts,
    state: State,
    reply: Reply,
    now: datetime,
    *,
    heard: Said | None,
    answered_by: str | None,
    sid: str,
    key: str,
    next_turn: int,
    also: Mapping[str, Any] | None,
) -> str:
    """Store the turn: transcript, state, outcome and effects, and the TwiML, which it returns.

    `answered_by` is not None at the answer: the call is marked answered (with what answered,
    when Twilio said).
    """
    call_id = row.call_id
    seq = _last_seq(conn, row)
    turns = []
    for speaker, said in ((Speaker.BORROWER, heard), (Speaker.AGENT, Said(reply.text))):
        text = _transcript_text(said) if said is not None else ""
        if text:  # silence: the agent's next line says so
            seq += 1
            turns.append((seq, speaker, text, said.confidence if said is not None else None))
    if reply.then is Then.RELAY:
        twiml = relay_twiml(
            reply, call_id=call_id, public_base_url=context.settings.public_base_url
        )
    else:
        base = f"{context.settings.public_base_url}/twilio"
        twiml = render(
            reply,
            action_url=f"{base}/voice/{call_id}?turn={next_turn}",
            transfer_url=f"{base}/transferred/{call_id}",
            transfer_to=context.settings.transfer_number,
        )
    params: dict[str, Any] = {
        "p_call": call_id, "p_sid": sid, "p_key": key, "p_at": now, "p_twiml": twiml,
        "p_conversation": {"state": state.to_json(), "seq": seq},
        "p_language": reply.language.split("-")[0],
    }  # fmt: skip
    answer = answered_by is not None
    if answer:
        params["p_answered_by"] = answered_by or None
    if conn.dialect.name == "postgresql":
        for n, values in enumerate(turns):
            params.update({f"p_{c}{n}": v for c, v in zip(_TURN_COLUMNS, values, strict=True)})
        params.update({f"p_llm_{c}": v for c, v in (also or {}).items()})
        conn.execute(_save_all(len(turns), answer, also is not None), params)
    else:
        if turns:
            conn.execute(
                _SAVE_TURNS,
                [
                    {"call_id": call_id, "at": now, **dict(zip(_TURN_COLUMNS, values, strict=True))}
                    for values in turns
                ],
            )
        conn.execute(_save_state(answer), params)
        conn.execute(_SAVE_REPLY, params)
        if also is not None:
            conn.execute(_SAVE_LLM_TURN, also)
    if reply.avoid or reply.outcome is not None:
        _effects(conn, context, call_id, facts, reply, now)
    return twiml


def _effects(
    conn: Connection,
    context: AppContext,
    call_id: str,
    facts: CallFacts,
    reply: Reply,
    now: datetime,
) -> None:
    """The turn's outcome and effects, through the ORM, in the turn's transaction."""
    with Session(bind=conn) as session:  # joins the connection's transaction, never commits it
        call = session.get(Call, call_id)
        assert call is not None, f"call {call_id} vanished during its turn"
        if reply.avoid:
            record_preferences(session, call, reply.avoid, now=now)
        if reply.outcome is not None:
            today = now.astimezone(facts.zone).date()
            record_outcome(
                session, call, reply.outcome, now=now, today=today, policy=context.policy
            )
        session.flush()


def _last_seq(conn: Connection, row: Any) -> int:
    """The call's last transcript number: kept with the state; read when the state lacks it."""
    conversation = row.conversation
    if isinstance(conversation, dict) and isinstance(conversation.get("seq"), int):
        return int(conversation["seq"])
    if getattr(row, "last_seq", None) is not None:
        return int(row.last_seq)
    return int(conn.scalar(_LAST_SEQ, {"p_call": row.call_id}) or 0)


def _transcript_text(said: Said) -> str:
    return said.text.strip() or (f"[keypad {said.digits}]" if said.digits else "")


def render(reply: Reply, *, action_url: str, transfer_url: str, transfer_to: str | None) -> str:
    """The reply as TwiML: Say inside a speech-and-keypad Gather, or before Hangup or Dial."""
    response = VoiceResponse()
    if reply.then is Then.LISTEN:
        gather = response.gather(
            input="speech dtmf", action=action_url, method="POST", language=reply.language,
            timeout=GATHER_TIMEOUT_S, speech_timeout="auto", action_on_empty_result=True,
        )  # fmt: skip
        for line in reply.lines:
            gather.say(line, language=reply.language)
        return str(response)
    for line in reply.lines:
        response.say(line, language=reply.language)
    if reply.then is Then.TRANSFER and transfer_to:
        response.dial(transfer_to, action=transfer_url, method="POST", timeout=30)
    else:
        response.hangup()
    return str(response)


def state_of(conversation: Mapping[str, Any] | None) -> State | None:
    """The conversation's state as stored with the call (`calls.conversation`); None before
    the answer."""
    if not conversation or "state" not in conversation:
        return None
    return State.from_json(conversation["state"])


def _borrower_zone(account_zone: str | None, phone: str | None, default: str) -> ZoneInfo:
    if account_zone:
        return zone(account_zone)
    zones = phone_zones(phone) if phone else ()
    return zone(zones[0] if zones else default)


def hang_up() -> str:
    """TwiML that ends the call."""
    response = VoiceResponse()
    response.hangup()
    return str(response)
