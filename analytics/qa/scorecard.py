"""QA scorecards: weighted items, and auto-fail items that fail the whole call when missed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from duecall.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    label: str
    weight: int  # points when met; auto-fail items weigh 0 and fail the call when not met
    auto_fail: bool = False


@dataclass(frozen=True, slots=True)
class Scorecard:
    name: str
    items: tuple[Item, ...]

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items if i.key == key), None)


@dataclass(frozen=True, slots=True)
class Result:
    score: Decimal  # 0–100: points met over points possible; 0 when an auto-fail item is missed
    auto_failed: tuple[str, ...]  # keys of the auto-fail items missed
    missed: tuple[str, ...]  # keys of the weighted items missed


# Auto-fail items are the regulatory ones (RBI Fair Practices Code and the Master Direction on
# outsourcing: disclosure, identity, no third-party disclosure, no intimidation, call window).
DEFAULT = Scorecard(
    "collections-v1",
    (
        Item("disclosure", "Said the call is recorded, in the opening", 0, auto_fail=True),
        Item("identification", "Said who is calling and for which lender", 0, auto_fail=True),
        Item("right_party", "Confirmed the borrower's identity before any debt detail", 0,
             auto_fail=True),
        Item("no_third_party", "Told no one else about the debt", 0, auto_fail=True),
        Item("courtesy", "Courteous: no threats, abuse or shaming", 0, auto_fail=True),
        Item("facts", "Stated the amount overdue and the due date correctly", 20),
        Item("listening", "Listened and answered the borrower's objections", 20),
        Item("promise", "Asked for a specific amount and date (or a callback time)", 25),
        Item("options", "Offered payment options that fit the borrower's situation", 15),
        Item("disposition", "Recorded the right disposition and notes", 10),
        Item("closing", "Summarised what was agreed and closed politely", 10),
    ),
)  # fmt: skip


def score(card: Scorecard, answers: Mapping[str, bool]) -> Result:
    """The result of a review whose `answers` say, for every item, whether it was met."""
    missing = [i.key for i in card.items if i.key not in answers]
    if missing:
        raise InvalidInput("answers", f"no answer for {', '.join(missing)}")
    unknown = sorted(set(answers) - {i.key for i in card.items})
    if unknown:
        raise InvalidInput("answers", f"not on scorecard {card.name}: {', '.join(unknown)}")
    auto_failed = tuple(i.key for i in card.items if i.auto_fail and not answers[i.key])
    missed = tuple(i.key for i in card.items if not i.auto_fail and not answers[i.key])
    possible = sum(i.weight for i in card.items if not i.auto_fail)
    met = sum(i.weight for i in card.items if not i.auto_fail and answers[i.key])
    if auto_failed:
        value = Decimal(0)
    else:
        value = Decimal(100 * met) / possible if possible else Decimal(100)
    return Result(value.quantize(Decimal("0.1"), ROUND_HALF_UP), auto_failed, missed)
