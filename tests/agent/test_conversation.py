"""The pure conversation machine and its script: what the webhook tests do not reach."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from agent import script as script_module
from agent.conversation import CallFacts, Said, Step, Then, open_call, respond
from agent.script import indian_grouping, script
from duecall.errors import ConfigurationError

MUMBAI = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=MUMBAI)


def facts(**changes: object) -> CallFacts:
    values: dict[str, object] = {
        "lender": "Demo Bank", "borrower_name": "Ravi Kumar", "language": "en",
        "account_last4": "0005", "overdue": Decimal("5000"), "emi": Decimal("5000"),
        "due_date": date(2026, 2, 18), "total_outstanding": Decimal("125000"), "bucket": "SMA-0",
        "promise_horizon_days": 30, "zone": MUMBAI, "callback_number": "+912240000000",
        "verification": "0005",
    }  # fmt: skip
    values.update(changes)
    return CallFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("answer", ["0005", "0 0 0 5", "zero zero zero five", "5"])
def test_account_digits_with_leading_zeros_verify(answer: str) -> None:
    state, _ = open_call(facts())
    state, _ = respond(state, facts(), Said("yes"), now=NOW)
    state, reply = respond(state, facts(), Said(answer), now=NOW)
    assert state.step is Step.PAYMENT and "overdue" in reply.text


def test_without_verification_the_debt_follows_the_name() -> None:
    state, _ = open_call(facts(verification=None))
    state, reply = respond(state, facts(verification=None), Said("yes"), now=NOW)
    assert state.step is Step.PAYMENT and reply.then is Then.LISTEN


def test_state_survives_its_json_form() -> None:
    state, _ = open_call(facts())
    for said in ("yes", "0005", "5000 on the 5th"):
        state, _ = respond(state, facts(), Said(said), now=NOW)
    assert type(state).from_json(state.to_json()) == state


@pytest.mark.parametrize(
    ("rupees", "spoken"),
    [("5000", "5,000"), ("123456.5", "1,23,456.50"), ("10000000", "1,00,00,000"), ("999", "999")],
)
def test_amounts_are_grouped_the_indian_way(rupees: str, spoken: str) -> None:
    assert indian_grouping(Decimal(rupees)) == spoken


def test_dates_and_amounts_in_each_language() -> None:
    assert script("en").date(date(2026, 3, 6)) == "Friday, 6 March"
    assert script("hi-IN").date(date(2026, 3, 6)) == "6 मार्च, शुक्रवार"
    assert script("hi").amount(Decimal("5000")) == "5,000 रुपये"


def test_a_script_whose_placeholders_differ_is_refused() -> None:
    english = script_module._load("en")
    broken = {**english, "identity": "Am I speaking with {nam}?"}
    with pytest.raises(ConfigurationError, match=r"identity: placeholders \['nam'\]"):
        script_module._check_same_shape("hi", broken, english)
    with pytest.raises(ConfigurationError, match="no call script for language 'ta'"):
        script("ta")
