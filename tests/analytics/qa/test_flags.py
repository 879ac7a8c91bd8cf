"""Automatic flags on transcripts, in English, Hindi and Hinglish, and the call window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analytics.qa.flags import Flag, Turn, transcript_flags, window_flag
from compliance.policy import load_policy

GOOD_EN = "Hello, this is Meera calling from Demo Bank. This call is recorded. Am I speaking with Priya Sharma?"
GOOD_HI = "नमस्ते, मैं मीरा, डेमो बैंक की तरफ से बोल रही हूं। यह कॉल रिकॉर्ड की जा रही है। क्या मेरी प्रिया शर्मा से बात हो रही है?"


def flags(*turns: tuple[str, str]) -> set[Flag]:
    return {r.flag for r in transcript_flags([Turn(s, t) for s, t in turns])}


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        ((("agent", GOOD_EN), ("borrower", "Yes, speaking."), ("agent", "Your EMI of rupees 5000 is overdue.")), set()),
        ((("agent", GOOD_EN), ("borrower", "haan ji"), ("agent", "Aapki EMI baaki hai.")), set()),
        ((("agent", GOOD_HI), ("borrower", "हां मैं ही"), ("agent", "आपकी किस्त बकाया है।")), set()),
        ((("agent", "Hello, this is Meera calling from Demo Bank. Am I speaking with Priya?"), ("borrower", "yes")),
         {Flag.NO_RECORDING_DISCLOSURE}),
        ((("agent", "Hello. This call is recorded. Am I speaking with Priya?"), ("borrower", "yes")),
         {Flag.NO_IDENTIFICATION}),
        ((("agent", GOOD_EN), ("borrower", "who is this?"), ("agent", "Your loan of 5000 rupees is overdue.")),
         {Flag.DEBT_BEFORE_RPC}),
        ((("agent", GOOD_EN + " Your EMI is overdue."),), {Flag.DEBT_BEFORE_RPC}),
        ((("agent", GOOD_EN), ("borrower", "I am his wife"), ("agent", "He has not paid his EMI.")),
         {Flag.DEBT_TO_THIRD_PARTY}),
        ((("agent", GOOD_EN), ("borrower", "wrong number"), ("agent", "Sorry, your loan is overdue.")),
         {Flag.DEBT_TO_THIRD_PARTY}),
        ((("agent", GOOD_EN), ("borrower", "I am his wife"), ("agent", "Please ask him to call Demo Bank.")),
         set()),
        ((("agent", GOOD_EN), ("borrower", "Yes."), ("agent", "Pay today or the police will come.")),
         {Flag.ABUSIVE_LANGUAGE}),
        ((("agent", GOOD_EN), ("borrower", "haan"), ("agent", "saale paisa de warna jail bhej denge")),
         {Flag.ABUSIVE_LANGUAGE}),
        ((("agent", GOOD_HI), ("borrower", "हां मैं ही"), ("agent", "पैसे दो वरना पुलिस आएगी")),
         {Flag.ABUSIVE_LANGUAGE}),
        ((("borrower", "hello?"),), set()),
    ],
)  # fmt: skip
def test_transcript_flags(turns: tuple[tuple[str, str], ...], expected: set[Flag]) -> None:
    assert flags(*turns) == expected


def test_a_flag_names_the_words_and_the_turn() -> None:
    (raised,) = transcript_flags(
        [Turn("agent", GOOD_EN), Turn("borrower", "Yes."), Turn("agent", "You idiot, pay now.")]
    )
    assert raised.flag is Flag.ABUSIVE_LANGUAGE
    assert raised.turn == 2
    assert "idiot" in raised.detail


@pytest.mark.parametrize(
    ("utc", "dpd", "flagged"),
    [
        (datetime(2026, 3, 2, 2, 29, tzinfo=UTC), 12, True),  # 07:59 IST, overdue: 08:00–19:00
        (datetime(2026, 3, 2, 2, 30, tzinfo=UTC), 12, False),  # 08:00 IST
        (datetime(2026, 3, 2, 1, 30, tzinfo=UTC), 0, False),  # 07:00 IST, current: 07:00–19:00
        (datetime(2026, 3, 2, 13, 30, tzinfo=UTC), 0, True),  # 19:00 IST: the end is excluded
    ],
)
def test_window_flag(utc: datetime, dpd: int, flagged: bool) -> None:
    raised = window_flag(utc, zone="Asia/Kolkata", dpd=dpd, policy=load_policy("rbi"))
    assert (raised is not None) == flagged
