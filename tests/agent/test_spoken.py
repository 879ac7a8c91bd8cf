from decimal import Decimal

import pytest

from agent.spoken_numbers import find_numbers
from agent.spoken_text import Phrases, fold, hear


@pytest.mark.parametrize(
    ("said", "numbers"),
    [
        ("5000", ["5000"]),
        ("5,000 rupees", ["5000"]),
        ("1,00,000", ["100000"]),
        ("₹5000", ["5000"]),
        ("Rs. 5000", ["5000"]),
        ("5k", ["5000"]),
        ("2.5 k", ["2500"]),
        ("5 thousand", ["5000"]),
        ("1.5 lakh", ["150000"]),
        ("one lakh", ["100000"]),
        ("a thousand", ["1000"]),
        ("five thousand two hundred", ["5200"]),
        ("two and a half thousand", ["2500"]),
        ("one thousand nine hundred and eighty five", ["1985"]),
        ("paanch hazaar", ["5000"]),
        ("पांच हज़ार", ["5000"]),
        ("paanch hazaar do sau", ["5200"]),
        ("ek lakh bees hazaar", ["120000"]),
        ("बारह हजार पांच सौ", ["12500"]),
        ("dedh hazaar", ["1500"]),
        ("dhai hazaar", ["2500"]),
        ("saadhe teen hazaar", ["3500"]),
        ("sava lakh", ["125000"]),
        ("paune do hazaar", ["1750"]),
        ("unnees sau pachaasi", ["1985"]),
        ("hazaar", ["1000"]),
        ("sau rupaye", ["100"]),
        ("Paanch. Hazaar.", ["5000"]),
        ("nineteen eighty five", ["19", "85"]),
        ("twenty twenty six", ["20", "26"]),
        ("four three two one", ["4", "3", "2", "1"]),
        ("5000 3000", ["5000", "3000"]),
        ("5 thousand 5 thousand", ["5000", "5000"]),
        ("saadhe 6 baje", ["6.5"]),
        ("no numbers here", []),
    ],
)
def test_numbers_as_spoken(said: str, numbers: list[str]) -> None:
    assert [n.value for n in find_numbers(hear(said).keys)] == [Decimal(v) for v in numbers]


def test_a_lone_ambiguous_word_is_marked_and_a_clock_time_kept() -> None:
    alone, with_scale = find_numbers(hear("do").keys), find_numbers(hear("do hazaar").keys)
    assert alone[0].ambiguous and not with_scale[0].ambiguous
    assert find_numbers(hear("6.30 baje").keys)[0].clock


@pytest.mark.parametrize(
    ("variants", "same"),
    [
        (("hazaar", "hazar", "hajar", "hazzar"), True),
        (("somvaar", "somwar", "somvar"), True),
        (("shaam", "sham"), True),
        (("पाँच", "पांच"), True),
        (("हज़ार", "हजार"), True),
        (("kal", "call"), False),
        (("now", "nau"), False),
    ],
)
def test_spellings_fold_together_only_when_they_are_one_word(
    variants: tuple[str, ...], same: bool
) -> None:
    keys = {hear(v).keys for v in variants}
    assert (len(keys) == 1) is same


def test_contractions_open_and_punctuation_marks_clauses() -> None:
    assert hear("I can't, won't").keys == ("i", "can", "not", "|", fold("will"), "not")
    assert hear("20.03.2026").keys == ("20", "/", "03", "/", "2026")


def test_phrases_match_whole_words_gaps_and_anchors() -> None:
    phrases = Phrases(["never took * loan", "^ kya $"])
    assert phrases.first(hear("I never took this loan")) == (1, 5)
    assert phrases.first(hear("I never took any kind of personal loan")) is None  # gap of 4
    assert phrases.first(hear("kya")) == (0, 1)
    assert phrases.first(hear("kya aap bank se ho")) is None
    assert Phrases(["call"]).first(hear("callback")) is None
