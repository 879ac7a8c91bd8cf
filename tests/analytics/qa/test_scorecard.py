"""Scorecards: weighted items, auto-fail items, complete answers only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from analytics.qa.scorecard import DEFAULT, Item, Scorecard, score
from duecall.errors import InvalidInput

CARD = Scorecard(
    "t",
    (Item("disclosure", "d", 0, auto_fail=True), Item("facts", "f", 30), Item("promise", "p", 70)),
)


@pytest.mark.parametrize(
    ("answers", "expected", "auto_failed", "missed"),
    [
        ({"disclosure": True, "facts": True, "promise": True}, "100.0", (), ()),
        ({"disclosure": True, "facts": False, "promise": True}, "70.0", (), ("facts",)),
        ({"disclosure": True, "facts": True, "promise": False}, "30.0", (), ("promise",)),
        ({"disclosure": False, "facts": True, "promise": True}, "0.0", ("disclosure",), ()),
    ],
)
def test_score(
    answers: dict[str, bool], expected: str, auto_failed: tuple[str, ...], missed: tuple[str, ...]
) -> None:
    result = score(CARD, answers)
    assert (result.score, result.auto_failed, result.missed) == (
        Decimal(expected),
        auto_failed,
        missed,
    )


def test_every_item_needs_an_answer_and_unknown_items_are_refused() -> None:
    with pytest.raises(InvalidInput, match="no answer for promise"):
        score(CARD, {"disclosure": True, "facts": True})
    with pytest.raises(InvalidInput, match="not on scorecard t: extra"):
        score(CARD, {"disclosure": True, "facts": True, "promise": True, "extra": True})


def test_the_default_card_weighs_100_points_and_its_regulatory_items_auto_fail() -> None:
    assert sum(i.weight for i in DEFAULT.items) == 100
    assert {i.key for i in DEFAULT.items if i.auto_fail} == {
        "disclosure", "identification", "right_party", "no_third_party", "courtesy",
    }  # fmt: skip
