"""The scripted reminder call as a pure state machine.

`open_call(facts)` starts it; `respond(state, facts, said, now=...)` takes what the borrower
said (Twilio's SpeechResult or keypad digits) and returns the next state and a `Reply`: the
lines to say, whether to listen, hang up or transfer, and what to record now (the call's
outcome, avoid-requests). No I/O and no clock: the webhook (`agent.webhooks`) loads the facts,
stores the state on the call between turns and records what the reply says.

The order is the bank's call script under the RBI Fair Practices Code: greeting with the
lender's name and the recording notice; the borrower asked for by name; optional verification;
only then the amount overdue and the due date; the ask; the outcome; a read-back of any
promise; the close. Until the borrower has confirmed who they are, nothing said mentions the
loan, an amount, a payment or collection.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from agent.script import Script, script
from agent.understanding import (
    AmountKind,
    AvoidPreference,
    Expecting,
    Hardship,
    Intent,
    PaymentMethod,
    PhoneScope,
    Understanding,
    understand,
)
from crm.outcomes import AvoidRequest, Outcome, promise_amount_problems, promise_date_problems

MAX_TURNS = 20  # borrower turns before the agent closes and calls again another time
MAX_ASKS = 3  # the same question asked at most this often
DEFAULT_CALLBACK_TIME = time(11, 0)  # when the borrower wants a person but names no time


class Step(enum.StrEnum):
    IDENTITY = "identity"  # "Am I speaking with …?"
    KNOWS_BORROWER = "knows_borrower"  # not the borrower: "Does … use this number?"
    VERIFICATION = "verification"  # the last four digits of the loan account
    PAYMENT = "payment"  # the debt disclosed: "Can you pay the overdue amount today?"
    DATE = "date"
    AMOUNT = "amount"
    READ_BACK = "read_back"  # "To confirm: … Is that correct?"
    CALLBACK_TIME = "callback_time"
    CONFIRM = "confirm"  # low speech confidence: "Just to confirm, …"
    ENDED = "ended"


EXPECTING = {
    Step.IDENTITY: Expecting.IDENTITY,
    Step.KNOWS_BORROWER: Expecting.CONFIRMATION,
    Step.VERIFICATION: Expecting.VERIFICATION,
    Step.PAYMENT: Expecting.PAYMENT,
    Step.DATE: Expecting.DATE,
    Step.AMOUNT: Expecting.AMOUNT,
    Step.READ_BACK: Expecting.CONFIRMATION,
    Step.CALLBACK_TIME: Expecting.CALLBACK_TIME,
    Step.CONFIRM: Expecting.CONFIRMATION,
    Step.ENDED: Expecting.ANYTHING,
}
# Steps at which the borrower has confirmed who they are and may hear about the debt.
AFTER_RIGHT_PARTY = frozenset(
    {Step.PAYMENT, Step.DATE, Step.AMOUNT, Step.READ_BACK, Step.CALLBACK_TIME}
)
# What is recorded on a word alone: heard with low confidence, it is confirmed first.
CONSEQUENTIAL = frozenset(
    {Intent.WRONG_NUMBER, Intent.THIRD_PARTY, Intent.ALREADY_PAID, Intent.DISPUTE,
     Intent.REFUSE, Intent.CANNOT_PAY, Intent.BEREAVEMENT, Intent.CALLBACK, Intent.PREFERENCE}
)  # fmt: skip
_HEARD = {
    Intent.WRONG_NUMBER: "heard_wrong_number",
    Intent.THIRD_PARTY: "heard_third_party",
    Intent.ALREADY_PAID: "heard_already_paid",
    Intent.DISPUTE: "heard_dispute",
    Intent.REFUSE: "heard_refuse",
    Intent.CANNOT_PAY: "heard_cannot_pay",
    Intent.BEREAVEMENT: "heard_bereavement",
    Intent.CALLBACK: "heard_callback",
    Intent.PREFERENCE: "heard_preference",
}


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the agent knows about the call before it starts (from the CRM and settings)."""

    lender: str
    borrower_name: str
    language: str  # en | hi
    account_last4: str
    overdue: Decimal
    emi: Decimal | None
    due_date: date | None
    total_outstanding: Decimal
    bucket: str
    promise_horizon_days: int
    zone: ZoneInfo
    callback_number: str  # the lender's number a third party or voicemail is given
    verification: str | None = None  # expected digits; None: no extra verification
    transfer_number: str | None = None  # a tele-caller queue to transfer to, if any

    @property
    def first_name(self) -> str:
        return self.borrower_name.split()[0] if self.borrower_name.strip() else ""


@dataclass(frozen=True, slots=True)
class Said:
    """One borrower turn as Twilio reports it."""

    text: str = ""
    confidence: float | None = None
    digits: str | None = None


class Then(enum.StrEnum):
    LISTEN = "listen"
    HANG_UP = "hang_up"
    TRANSFER = "transfer"
    RELAY = "relay"  # listen through a streaming session (ConversationRelay) from here on


@dataclass(frozen=True, slots=True)
class Reply:
    lines: tuple[str, ...]
    then: Then
    language: str  # Twilio's language tag: en-IN, hi-IN
    expecting: Expecting | None = None  # with LISTEN
    outcome: Outcome | None = None  # the call's outcome, to record now
    avoid: tuple[AvoidRequest, ...] = ()  # the borrower's avoid-requests, to store now
    understood: Understanding | None = None  # what the borrower's turn meant

    @property
    def text(self) -> str:
        return " ".join(self.lines)


@dataclass(frozen=True, slots=True)
class State:
    """Where the call is; stored on the call as JSON between webhooks."""

    step: Step = Step.IDENTITY
    question: str = ""  # the last question asked, repeated when not understood
    turn: int = 0  # borrower turns so far
    asked: int = 1  # how often the current question has been asked
    silences: int = 0  # in a row
    identity_confirmed: bool = False
    verification_failures: int = 0
    negotiated: bool = False  # a refusal or hardship answered once with a smaller ask
    promise_negotiated: bool = False  # a promise outside the rules answered once
    abuse_warnings: int = 0
    for_a_person: bool = False  # the callback being arranged is for a tele-caller
    amount: Decimal | None = None  # the promise being put together
    date: date | None = None
    pending: dict[str, Any] | None = field(default=None)  # a low-confidence turn to confirm
    unheard: bool = False  # the borrower cut the last question short: a yes or no waits for it

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["amount"] = None if self.amount is None else str(self.amount)
        data["date"] = None if self.date is None else self.date.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        return cls(
            **{
                **data,
                "step": Step(data["step"]),
                "amount": None if data.get("amount") is None else Decimal(data["amount"]),
                "date": None if data.get("date") is None else date.fromisoformat(data["date"]),
            }
        )


class Responder(Protocol):
    """What answers a borrower turn: `respond` (the script), or a reply prepared by the LLM."""

    def __call__(
        self, state: State, facts: CallFacts, said: Said, *, now: datetime
    ) -> tuple[State, Reply]: ...


def open_call(facts: CallFacts) -> tuple[State, Reply]:
    """The greeting, the recording notice and the question who is on the line."""
    lines = script(facts.language)
    question = lines.line("identity", name=facts.borrower_name)
    state = State(step=Step.IDENTITY, question=question)
    return state, _listen(state, facts, lines.line("greeting", lender=facts.lender), question)


def voicemail(facts: CallFacts) -> Reply:
    """An answering machine: a limited-content message only, never the debt (Reg F §1006.2(j))."""
    lines = script(facts.language)
    message = lines.line(
        "voicemail",
        lender=facts.lender,
        name=facts.borrower_name,
        callback_number=facts.callback_number,
    )
    return Reply((message,), Then.HANG_UP, lines.twilio_language, outcome=Outcome("VOICEMAIL"))


def window_closed(facts: CallFacts, why: str) -> Reply:
    """Answered, but the compliance window no longer holds: apologise and hang up."""
    lines = script(facts.language)
    outcome = Outcome("DROPPED", note=f"closed at answer: {why}")
    return Reply(
        (lines.line("window_closed"),), Then.HANG_UP, lines.twilio_language, outcome=outcome
    )


def respond(state: State, facts: CallFacts, said: Said, *, now: datetime) -> tuple[State, Reply]:
    """The agent's answer to one borrower turn. `now` is aware; its local day is `today`."""
    return decide(state, facts, said, understand_turn(state, facts, said, now=now), now=now)


def understand_turn(state: State, facts: CallFacts, said: Said, *, now: datetime) -> Understanding:
    """What the borrower's turn means, read by the rules against what the agent just asked."""
    return _understand(state.step, facts, said, now.astimezone(facts.zone))


def decide(
    state: State, facts: CallFacts, said: Said, heard: Understanding, *, now: datetime
) -> tuple[State, Reply]:
    """The agent's answer to a borrower turn already understood (by the rules, or an LLM's
    reading of it; a reading the borrower must confirm comes with `low_confidence`)."""
    if state.step is Step.ENDED:
        raise ValueError("the conversation has ended")
    local = now.astimezone(facts.zone)
    state = replace(state, turn=state.turn + 1)
    if state.turn > MAX_TURNS:
        return _close(state, facts, "close_too_long", _no_outcome(state, "too many turns"), heard)
    if heard.intent is Intent.SILENCE:
        if state.silences >= 1:
            return _close(state, facts, "close_silence", _no_outcome(state, "silence"), heard)
        state = replace(state, silences=state.silences + 1)
        return state, _listen(state, facts, _say(facts, "listening"), state.question, heard=heard)
    state = replace(state, silences=0)
    if state.unheard:
        state = replace(state, unheard=False)
        if state.step in (Step.READ_BACK, Step.CONFIRM) and heard.intent in (
            Intent.AFFIRM,
            Intent.DENY,
        ):
            # A yes or no to a question the borrower did not hear to the end: ask it again.
            return state, _listen(state, facts, state.question, heard=heard)
    if state.step is Step.CONFIRM:
        return _confirmed(state, facts, heard, local, said)
    return _handle(state, facts, heard, local, said)


def interrupted(state: State) -> State:
    """The borrower spoke over the agent before its last question ended (a streaming session
    reports what was heard): a confirmation is not taken for a question not heard in full."""
    if state.step in (Step.READ_BACK, Step.CONFIRM):
        return replace(state, unheard=True)
    return state


# --- turns ------------------------------------------------------------------------------------


def _understand(step: Step, facts: CallFacts, said: Said, local: datetime) -> Understanding:
    return understand(
        said.text,
        expecting=EXPECTING[step],
        today=local.date(),
        now=local,
        zone=facts.zone,
        language=facts.language,
        overdue=facts.overdue,
        emi=facts.emi,
        confidence=said.confidence,
        digits=said.digits,
    )


def _handle(
    state: State, facts: CallFacts, heard: Understanding, local: datetime, said: Said
) -> tuple[State, Reply]:
    intent = heard.intent
    if heard.low_confidence and intent in CONSEQUENTIAL:
        return _ask_to_confirm(state, facts, heard, local, said)
    if intent is Intent.ABUSE:
        if state.abuse_warnings == 0:
            state = replace(state, abuse_warnings=1)
            return state, _listen(
                state, facts, _say(facts, "abuse_warning"), state.question, heard=heard
            )
        outcome = Outcome("ESCALATED", note="abusive language after a warning")
        return _close(state, facts, "close_abuse", outcome, heard)
    if intent is Intent.BEREAVEMENT:
        return _close(state, facts, "close_bereavement", _bereavement(state, heard), heard)
    if intent is Intent.ASK_HUMAN:
        return _a_person_please(state, facts, heard)
    if intent is Intent.ASK_WHO:
        who = _say(facts, "who_is_calling", lender=facts.lender, name=facts.borrower_name)
        return _ask_again(state, facts, heard, who)
    if intent is Intent.ASK_REPEAT:
        return _ask_again(state, facts, heard)
    if state.step is Step.IDENTITY:
        return _identity(state, facts, heard)
    if state.step is Step.KNOWS_BORROWER:
        return _knows_borrower(state, facts, heard, local, said)
    if state.step is Step.VERIFICATION:
        return _verification(state, facts, heard)
    return _after_right_party(state, facts, heard, local)


def _identity(state: State, facts: CallFacts, heard: Understanding) -> tuple[State, Reply]:
    intent = heard.intent
    if intent in (Intent.IDENTITY_CONFIRMED, Intent.AFFIRM) and not heard.low_confidence:
        state = replace(state, identity_confirmed=True)
        if facts.verification is not None:
            return _next(state, facts, Step.VERIFICATION, heard)
        return _next(state, facts, Step.PAYMENT, heard)
    if intent in (Intent.NOT_THE_PERSON, Intent.DENY):
        return _next(state, facts, Step.KNOWS_BORROWER, heard)
    if intent is Intent.THIRD_PARTY:
        return _third_party(state, facts, heard, note="someone else answered")
    if intent is Intent.WRONG_NUMBER:
        return _close(state, facts, "wrong_number", Outcome("WRONG_NUMBER"), heard)
    again = _say(facts, "identity_again", name=facts.borrower_name)
    return _ask_again(state, facts, heard, question=again)


def _knows_borrower(
    state: State, facts: CallFacts, heard: Understanding, local: datetime, said: Said
) -> tuple[State, Reply]:
    intent = heard.intent
    if intent in (Intent.DENY, Intent.WRONG_NUMBER):
        if heard.low_confidence:
            wrong = replace(heard, intent=Intent.WRONG_NUMBER)
            return _ask_to_confirm(state, facts, wrong, local, said)
        return _close(state, facts, "wrong_number", Outcome("WRONG_NUMBER"), heard)
    if intent in (Intent.AFFIRM, Intent.THIRD_PARTY, Intent.NOT_THE_PERSON, Intent.CALLBACK):
        return _third_party(state, facts, heard, note="the borrower uses this number")
    if state.asked >= MAX_ASKS:
        return _third_party(state, facts, heard, note="not the borrower; unclear whose number")
    return _ask_again(state, facts, heard)


def _verification(state: State, facts: CallFacts, heard: Understanding) -> tuple[State, Reply]:
    given = "".join(ch for ch in (heard.verification or heard.digits or "") if ch.isdigit())
    # Spoken "0005" may come back as the number 5: compare as four digits.
    if facts.verification is not None and given and given.zfill(4)[-4:] == facts.verification:
        verified = _say(facts, "verified", first_name=facts.first_name)
        return _next(state, facts, Step.PAYMENT, heard, verified)
    failures = state.verification_failures + 1
    if failures >= 2:
        # Not verified: treated as someone else, so nothing about the debt is said (RBI FPC).
        outcome = Outcome("THIRD_PARTY", note="verification failed; nothing disclosed")
        return _close(
            state, facts, "close_verification_failed", outcome, heard,
            lender=facts.lender, callback_number=facts.callback_number,
        )  # fmt: skip
    state = replace(state, verification_failures=failures)
    return state, _listen(
        state, facts, _say(facts, "verification_mismatch"), state.question, heard=heard
    )


def _after_right_party(
    state: State, facts: CallFacts, heard: Understanding, local: datetime
) -> tuple[State, Reply]:
    intent, step = heard.intent, state.step
    if intent is Intent.PREFERENCE and heard.preference is not None:
        avoid = _avoid(heard)
        reply = _listen(state, facts, _say(facts, "preference_noted"), state.question, heard=heard)
        return state, replace(reply, avoid=(avoid,))
    if intent is Intent.ALREADY_PAID:
        note = "says already paid" + (f" on {heard.date}" if heard.date else "")
        if heard.payment_method is not None:
            note += f" by {heard.payment_method.value}"
        return _close(state, facts, "close_paid", Outcome("PAID", note=note), heard)
    if intent is Intent.DISPUTE:
        return _close(state, facts, "close_dispute", Outcome("DISPUTE", note=_said(heard)), heard)
    if intent in (Intent.REFUSE, Intent.CANNOT_PAY):
        return _refusal_or_hardship(state, facts, heard)
    if intent is Intent.CALLBACK or step is Step.CALLBACK_TIME:
        return _callback(state, facts, heard, local)
    if intent is Intent.PROMISE:
        return _promise(state, facts, heard, local)
    if step is Step.PAYMENT and intent is Intent.AFFIRM:
        # "Yes, I will pay it today": the whole overdue amount, today.
        return _promise(
            state, facts, replace(heard, amount=facts.overdue, date=local.date()), local
        )
    if step is Step.PAYMENT and intent is Intent.DENY:
        return _next(state, facts, Step.DATE, heard)
    if step is Step.READ_BACK and intent is Intent.AFFIRM:
        assert state.amount is not None and state.date is not None
        outcome = Outcome("PTP", ptp_amount=state.amount, ptp_date=state.date)
        lines = script(facts.language)
        return _close(
            state, facts, "close_promise", outcome, heard,
            amount=lines.amount(state.amount), date=lines.date(state.date),
        )  # fmt: skip
    if step is Step.READ_BACK and intent is Intent.DENY:
        state = replace(state, date=None)  # a new date; an amount said with it replaces the old
        return _next(state, facts, Step.DATE, heard, _say(facts, "correction"))
    return _ask_again(state, facts, heard)


def _promise(
    state: State, facts: CallFacts, heard: Understanding, local: datetime
) -> tuple[State, Reply]:
    amount = heard.amount if heard.amount is not None else state.amount
    when = heard.date if heard.date is not None else state.date
    if amount is None and when is not None and state.step is Step.PAYMENT:
        amount = facts.overdue  # a date in answer to "can you pay the overdue amount today?"
    state = replace(state, amount=amount, date=when)
    today = local.date()
    lines = script(facts.language)
    # The bank's collection policy: a promise beyond the horizon or the outstanding is
    # negotiated once; after that what was said is recorded, but not as a promise.
    if when is not None and promise_date_problems(
        when, horizon_days=facts.promise_horizon_days, bucket=facts.bucket, today=today
    ):
        if state.promise_negotiated:
            return _close(
                state, facts, "close_hardship", _outside_rules(heard, when, amount), heard
            )
        last = today + timedelta(days=facts.promise_horizon_days)
        why = (
            lines.line("date_passed")
            if when < today
            else lines.line(
                "date_too_far", last_date=lines.date(last), horizon=facts.promise_horizon_days
            )
        )
        state = replace(state, promise_negotiated=True, date=None)
        return _next(state, facts, Step.DATE, heard, why)
    if amount is not None and promise_amount_problems(
        amount, total_outstanding=facts.total_outstanding
    ):
        if state.promise_negotiated:
            return _close(
                state, facts, "close_hardship", _outside_rules(heard, when, amount), heard
            )
        why = (
            lines.line("amount_zero")
            if amount <= 0
            else lines.line("amount_too_high", total=lines.amount(facts.total_outstanding))
        )
        state = replace(state, promise_negotiated=True, amount=None)
        return _next(state, facts, Step.AMOUNT, heard, why)
    if when is None:
        if heard.needs_date and state.step is Step.DATE:
            # Asked once for a concrete date and given none again: record what was said.
            return _close(
                state, facts, "close_hardship", _outside_rules(heard, None, amount), heard
            )
        if heard.needs_date:
            return _next(state, facts, Step.DATE, heard, question_key="need_concrete_date")
        return _next(state, facts, Step.DATE, heard)
    if amount is None:
        return _next(state, facts, Step.AMOUNT, heard)
    return _next(state, facts, Step.READ_BACK, heard)


def _refusal_or_hardship(
    state: State, facts: CallFacts, heard: Understanding
) -> tuple[State, Reply]:
    refused = heard.intent is Intent.REFUSE
    if not state.negotiated:
        state = replace(state, negotiated=True, step=Step.PAYMENT, asked=1)
        ask = _say(facts, "negotiate_refusal" if refused else "negotiate_hardship")
        state = replace(state, question=ask)
        return state, _listen(state, facts, ask, heard=heard)
    if refused:
        return _close(state, facts, "close_refused", Outcome("REFUSED", note=_said(heard)), heard)
    note = f"hardship: {heard.hardship.value}" if heard.hardship else "cannot pay for now"
    return _close(state, facts, "close_hardship", Outcome("HARDSHIP", note=note), heard)


def _callback(
    state: State, facts: CallFacts, heard: Understanding, local: datetime
) -> tuple[State, Reply]:
    at = heard.callback_at
    if at is None and heard.date is not None:
        at = datetime.combine(heard.date, DEFAULT_CALLBACK_TIME, facts.zone)
    if at is not None and at <= local:
        at = None
    if at is None and state.step is not Step.CALLBACK_TIME:
        key = "ask_callback_time_human" if state.for_a_person else "ask_callback_time"
        return _next(state, facts, Step.CALLBACK_TIME, heard, question_key=key)
    if at is None:
        if not state.for_a_person and state.asked < MAX_ASKS - 1:
            return _ask_again(state, facts, heard)
        # No time understood: the next day's late morning (a tele-caller picks it up).
        at = datetime.combine(local.date() + timedelta(days=1), DEFAULT_CALLBACK_TIME, facts.zone)
    note = "asked for a person" if state.for_a_person else None
    outcome = Outcome("CALLBACK", callback_at=at, note=note)
    when = script(facts.language).when(at.astimezone(facts.zone))
    return _close(state, facts, "close_callback", outcome, heard, when=when)


def _a_person_please(state: State, facts: CallFacts, heard: Understanding) -> tuple[State, Reply]:
    if facts.transfer_number is not None:
        lines = script(facts.language)
        outcome = Outcome("ESCALATED", note="asked for a person; transferred to the tele-callers")
        state = replace(state, step=Step.ENDED)
        reply = Reply(
            (lines.line("transfer"),), Then.TRANSFER, lines.twilio_language,
            outcome=outcome, understood=heard,
        )  # fmt: skip
        return state, reply
    state = replace(state, for_a_person=True)
    return _next(state, facts, Step.CALLBACK_TIME, heard, question_key="ask_callback_time_human")


def _ask_to_confirm(
    state: State, facts: CallFacts, heard: Understanding, local: datetime, said: Said
) -> tuple[State, Reply]:
    """Heard with low confidence: say back what was understood before recording it."""
    lines = script(facts.language)
    if heard.intent is Intent.CALLBACK and heard.callback_at is None:
        return _callback(state, facts, heard, local)  # asking for the time confirms it
    when = "" if heard.callback_at is None else lines.when(heard.callback_at.astimezone(facts.zone))
    what = lines.line(_HEARD[heard.intent], name=facts.borrower_name, when=when)
    question = lines.line("just_to_confirm", what=what)
    pending = {
        "step": state.step.value, "intent": heard.intent.value,
        "text": said.text, "digits": said.digits, "understood": understanding_json(heard),
    }  # fmt: skip
    state = replace(state, step=Step.CONFIRM, question=question, asked=1, pending=pending)
    return state, _listen(state, facts, question, heard=heard)


def _confirmed(
    state: State, facts: CallFacts, heard: Understanding, local: datetime, said: Said
) -> tuple[State, Reply]:
    pending = state.pending
    assert pending is not None
    back = Step(pending["step"])
    question = _question_for(back, state, facts)
    restored = replace(state, step=back, pending=None, asked=1, question=question)
    if heard.intent is Intent.AFFIRM:
        # What was heard before, now confirmed: taken at full confidence.
        if pending.get("understood") is not None:
            meant = understanding_from_json(pending["understood"])
        else:
            said_then = Said(pending["text"], None, pending["digits"])
            meant = _understand(back, facts, said_then, local)
        meant = replace(meant, intent=Intent(pending["intent"]), low_confidence=False)
        if meant.intent is Intent.WRONG_NUMBER:
            return _close(restored, facts, "wrong_number", Outcome("WRONG_NUMBER"), meant)
        return _handle(restored, facts, meant, local, Said())
    if heard.intent is Intent.DENY:
        sorry = _say(facts, "sorry_repeat")
        return restored, _listen(restored, facts, sorry, restored.question, heard=heard)
    return _handle(restored, facts, heard, local, said)


def understanding_json(heard: Understanding) -> dict[str, Any]:
    """What a confirmation must remember of an understanding (never the verification)."""
    preference = heard.preference
    return {
        "intent": heard.intent.value,
        "date": heard.date.isoformat() if heard.date else None,
        "amount": None if heard.amount is None else str(heard.amount),
        "amount_kind": heard.amount_kind.value if heard.amount_kind else None,
        "needs_date": heard.needs_date,
        "callback_at": heard.callback_at.isoformat() if heard.callback_at else None,
        "preference": None
        if preference is None
        else {
            "phone": preference.phone.value,
            "days": list(preference.days),
            "start": preference.start.isoformat() if preference.start else None,
            "end": preference.end.isoformat() if preference.end else None,
            "phone_label": preference.phone_label,
        },
        "hardship": heard.hardship.value if heard.hardship else None,
        "payment_method": heard.payment_method.value if heard.payment_method else None,
        "borrower_deceased": heard.borrower_deceased,
        "evidence": list(heard.evidence),
    }


def understanding_from_json(data: dict[str, Any]) -> Understanding:
    preference = data.get("preference")
    return Understanding(
        intent=Intent(data["intent"]),
        date=date.fromisoformat(data["date"]) if data.get("date") else None,
        amount=None if data.get("amount") is None else Decimal(data["amount"]),
        amount_kind=AmountKind(data["amount_kind"]) if data.get("amount_kind") else None,
        needs_date=bool(data.get("needs_date")),
        callback_at=datetime.fromisoformat(data["callback_at"])
        if data.get("callback_at")
        else None,
        preference=None
        if preference is None
        else AvoidPreference(
            phone=PhoneScope(preference["phone"]),
            days=tuple(preference["days"]),
            start=time.fromisoformat(preference["start"]) if preference["start"] else None,
            end=time.fromisoformat(preference["end"]) if preference["end"] else None,
            phone_label=preference.get("phone_label"),
        ),
        hardship=Hardship(data["hardship"]) if data.get("hardship") else None,
        payment_method=PaymentMethod(data["payment_method"])
        if data.get("payment_method")
        else None,
        borrower_deceased=data.get("borrower_deceased"),
        evidence=tuple(data.get("evidence", ())),
    )


# --- building replies ----------------------------------------------------------------------


def _question_for(step: Step, state: State, facts: CallFacts, key: str | None = None) -> str:
    lines = script(facts.language)
    if key is not None:
        return lines.line(key)
    if step is Step.IDENTITY:
        return lines.line("identity", name=facts.borrower_name)
    if step is Step.KNOWS_BORROWER:
        return lines.line("knows_borrower", name=facts.borrower_name)
    if step is Step.VERIFICATION:
        return lines.line("verification_loan_last4", lender=facts.lender)
    if step is Step.PAYMENT:
        return _disclosure(lines, facts)
    if step is Step.DATE:
        return lines.line("ask_date")
    if step is Step.AMOUNT:
        if state.date is None:
            return lines.line("ask_amount_no_date")
        return lines.line("ask_amount", date=lines.date(state.date))
    if step is Step.READ_BACK:
        assert state.amount is not None and state.date is not None
        return lines.line(
            "read_back", amount=lines.amount(state.amount), date=lines.date(state.date)
        )
    if step is Step.CALLBACK_TIME:
        return lines.line("ask_callback_time_human" if state.for_a_person else "ask_callback_time")
    return state.question


def disclosure(facts: CallFacts) -> str:
    """The line that first tells the borrower about the debt (after verification)."""
    return _disclosure(script(facts.language), facts)


def _disclosure(lines: Script, facts: CallFacts) -> str:
    # Only reached after right-party confirmation (and verification when configured).
    values = {"last4": " ".join(facts.account_last4), "overdue": lines.amount(facts.overdue)}
    if facts.due_date is None:
        return lines.line("disclosure_no_due_date", **values)
    return lines.line("disclosure", due_date=lines.date(facts.due_date), **values)


def _next(
    state: State,
    facts: CallFacts,
    step: Step,
    heard: Understanding,
    *before: str,
    question_key: str | None = None,
) -> tuple[State, Reply]:
    state = replace(state, step=step, asked=1)
    question = _question_for(step, state, facts, question_key)
    state = replace(state, question=question)
    return state, _listen(state, facts, *before, question, heard=heard)


def _ask_again(
    state: State,
    facts: CallFacts,
    heard: Understanding,
    *before: str,
    question: str | None = None,
) -> tuple[State, Reply]:
    if state.asked >= MAX_ASKS:
        return _close(state, facts, "close_unclear", _no_outcome(state, "not understood"), heard)
    state = replace(state, asked=state.asked + 1, question=question or state.question)
    lead = before or (_say(facts, "sorry_repeat"),)
    return state, _listen(state, facts, *lead, state.question, heard=heard)


def _listen(
    state: State, facts: CallFacts, *lines: str, heard: Understanding | None = None
) -> Reply:
    return Reply(
        tuple(line for line in lines if line),
        Then.LISTEN,
        script(facts.language).twilio_language,
        expecting=EXPECTING[state.step],
        understood=heard,
    )


def _close(
    state: State,
    facts: CallFacts,
    key: str,
    outcome: Outcome,
    heard: Understanding | None,
    **values: object,
) -> tuple[State, Reply]:
    lines = script(facts.language)
    line = lines.line(key, **values)
    return replace(state, step=Step.ENDED), Reply(
        (line,), Then.HANG_UP, lines.twilio_language, outcome=outcome, understood=heard
    )


def _third_party(
    state: State, facts: CallFacts, heard: Understanding, *, note: str
) -> tuple[State, Reply]:
    # Someone other than the borrower hears only the lender's name and a number to call back.
    outcome = Outcome("THIRD_PARTY", callback_at=heard.callback_at, note=note)
    return _close(
        state, facts, "third_party", outcome, heard,
        name=facts.borrower_name, lender=facts.lender, callback_number=facts.callback_number,
    )  # fmt: skip


def _bereavement(state: State, heard: Understanding) -> Outcome:
    if heard.borrower_deceased or (
        heard.borrower_deceased is None and not state.identity_confirmed
    ):
        return Outcome("DECEASED", bereavement=True, note=_said(heard))
    if state.identity_confirmed:
        return Outcome("HARDSHIP", bereavement=True, note="bereavement in the family")
    return Outcome("THIRD_PARTY", bereavement=True, note="bereavement reported")


def _outside_rules(heard: Understanding, when: date | None, amount: Decimal | None) -> Outcome:
    said = ", ".join(
        part for part in (amount and f"₹{amount:,.2f}", when and f"by {when.isoformat()}") if part
    )
    return Outcome(
        "HARDSHIP",
        note=f"no promise within the lender's rules; said: {said or 'no date'} ({_said(heard)})",
    )


def _no_outcome(state: State, why: str) -> Outcome:
    # Answered but nobody spoke: no contact (RNR); after confirmation: a dropped contact.
    return Outcome("DROPPED" if state.identity_confirmed else "RNR", note=why)


def _avoid(heard: Understanding) -> AvoidRequest:
    assert heard.preference is not None
    preference = heard.preference
    return AvoidRequest(
        this_phone_only=preference.phone is PhoneScope.THIS,
        days=preference.days,
        start=preference.start,
        end=preference.end,
        note=preference.phone_label,
    )


def _said(heard: Understanding) -> str:
    return "; ".join(heard.evidence) or heard.intent.value


def _say(facts: CallFacts, key: str, **values: object) -> str:
    return script(facts.language).line(key, **values)
