"""Simulated borrowers, pure: cue classification, each persona's replies, speech forms, draws."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import date

import pytest

from crm.buckets import Bucket
from dialer.simulator.personas import (
    CUES,
    PERSONA_WEIGHTS,
    Borrower,
    BorrowerFacts,
    Cue,
    PersonaKind,
    classify_prompt,
    draw_facts,
    draw_persona,
    normalize,
    ordinal,
    prompt_language,
    say_amount,
    say_date,
    say_hour,
)
from dialer.simulator.phrasebook import ENGLISH, HINDI, Intent

FACTS = BorrowerFacts(
    name="Priya Sharma",
    gender="female",
    language="en",
    year_of_birth=1988,
    loan_last4="4321",
    promise_amount=5000,
    promise_date=date(2026, 3, 5),
    paid_on=date(2026, 2, 27),
    callback_hour=18,
    after_salary=False,
)
HINDI_FACTS = BorrowerFacts(
    name="Ramesh Patel",
    gender="male",
    language="hi",
    year_of_birth=1975,
    loan_last4="0907",
    promise_amount=3000,
    promise_date=date(2026, 3, 10),
    paid_on=date(2026, 2, 28),
    callback_hour=11,
    after_salary=False,
)
DEVANAGARI = re.compile(r"[\u0900-\u097f]")

IDENTITY = "Hello, this is Demo Bank. Am I speaking with Priya Sharma?"
IDENTITY_HI = "नमस्ते, मैं डेमो बैंक से बोल रही हूँ। क्या मेरी बात प्रिया शर्मा से हो रही है?"
YEAR = "For security, please tell me your year of birth."
LAST4 = "Please tell me the last four digits of your loan account."
PAYMENT = "Your EMI of 5000 rupees is overdue. Can you pay it today?"
PAYMENT_HI = "आपकी 5000 रुपये की किस्त बकाया है। क्या आप आज भुगतान कर सकते हैं?"
DATE = "By which date can you pay?"
AMOUNT = "How much can you pay?"
READ_BACK = "To confirm, you will pay 5000 rupees by 5 March. Is that right?"
CALLBACK = "What time should we call you back?"
CLOSING = "Thank you for your time. Goodbye."


@pytest.mark.parametrize(
    ("prompt", "cue"),
    [
        (IDENTITY, Cue.IDENTITY),
        ("Am I speaking to Mr Rahul Verma?", Cue.IDENTITY),
        (IDENTITY_HI, Cue.IDENTITY),
        ("Namaste, kya meri baat Priya ji se ho rahi hai?", Cue.IDENTITY),
        (YEAR, Cue.VERIFY_YEAR),
        ("To confirm your identity, what is your year of birth?", Cue.VERIFY_YEAR),
        ("कृपया अपना जन्म का वर्ष बताइए", Cue.VERIFY_YEAR),
        ("Apna janam ka saal bataiye", Cue.VERIFY_YEAR),
        (LAST4, Cue.VERIFY_LAST4),
        ("Please say the last 4 digits of your loan", Cue.VERIFY_LAST4),
        ("लोन नंबर के आख़िरी चार अंक बताइए", Cue.VERIFY_LAST4),
        ("लोन नंबर के आखिरी चार अंक बताइए", Cue.VERIFY_LAST4),  # written without the nukta
        ("Loan ke aakhri chaar ank bataiye", Cue.VERIFY_LAST4),
        (PAYMENT, Cue.PAYMENT),
        ("Your payment is overdue by 12 days.", Cue.PAYMENT),
        (PAYMENT_HI, Cue.PAYMENT),
        ("Aapka 5000 ka bakaya hai", Cue.PAYMENT),
        (DATE, Cue.DATE),
        ("आप किस तारीख तक भुगतान करेंगे?", Cue.DATE),
        ("Aap kis tareekh tak payment karenge?", Cue.DATE),
        (AMOUNT, Cue.AMOUNT),
        ("आप कितनी राशि का भुगतान कर सकते हैं?", Cue.AMOUNT),
        (READ_BACK, Cue.READ_BACK),
        ("पुष्टि के लिए: आप 5 मार्च तक 5000 रुपये का भुगतान करेंगे?", Cue.READ_BACK),
        (CALLBACK, Cue.CALLBACK_TIME),
        ("हम आपको किस समय कॉल करें?", Cue.CALLBACK_TIME),
        (CLOSING, Cue.CLOSING),
        ("आपके समय के लिए धन्यवाद", Cue.CLOSING),
        ("Hello, this is Demo Bank calling.", Cue.NONE),
        ("", Cue.NONE),
        ("  AM I   SPEAKING WITH  PRIYA?  ", Cue.IDENTITY),
    ],
)
def test_classifies_agent_prompts(prompt: str, cue: Cue) -> None:
    assert classify_prompt(prompt) == cue


def test_every_cue_but_none_has_keywords_in_english_and_hindi() -> None:
    for cue, keywords in CUES:
        assert any(DEVANAGARI.search(k) for k in keywords), cue
        assert any(k.isascii() for k in keywords), cue
    assert {cue for cue, _ in CUES} == set(Cue) - {Cue.NONE}


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (IDENTITY, "en"),
        (IDENTITY_HI, "hi"),
        ("Kya meri baat Priya ji se ho rahi hai?", "hi"),
        ("Is this a good time to talk?", "en"),
    ],
)
def test_tells_the_agents_language(text: str, language: str) -> None:
    assert prompt_language(text) == language


def test_normalize_drops_case_spacing_and_nukta() -> None:
    assert normalize("  आख़िरी   FOUR ") == normalize("आखिरी four") == "आखिरी four"


def _conversation(
    persona: PersonaKind,
    prompts: list[str],
    facts: BorrowerFacts = FACTS,
    language: str = "en-IN",
    seed: int = 3,
) -> list[tuple[tuple[Intent, ...], str | None, bool]]:
    rng = random.Random(seed)
    borrower = Borrower.meet(persona, facts, rng)
    replies = [borrower.respond(p, gather_language=language, rng=rng) for p in prompts]
    return [(r.intents, r.speech, r.hang_up) for r in replies]


FLOW = [IDENTITY, YEAR, PAYMENT, DATE, AMOUNT, READ_BACK, CALLBACK, CLOSING]


@pytest.mark.parametrize(
    ("persona", "intents"),
    [
        (
            PersonaKind.PAYER,
            [
                Intent.CONFIRM_IDENTITY,
                Intent.GIVE_YEAR,
                Intent.ALREADY_PAID,
                Intent.ALREADY_PAID,
                Intent.ALREADY_PAID,
                Intent.AGREE,
                Intent.ALREADY_PAID,
                Intent.BYE,
            ],
        ),
        (
            PersonaKind.PROMISER,
            [
                Intent.CONFIRM_IDENTITY,
                Intent.GIVE_YEAR,
                Intent.PROMISE,
                Intent.GIVE_DATE,
                Intent.GIVE_AMOUNT,
                Intent.AGREE,
                Intent.GIVE_CALLBACK_TIME,
                Intent.BYE,
            ],
        ),
        (
            PersonaKind.DISPUTER,
            [
                Intent.CONFIRM_IDENTITY,
                Intent.GIVE_YEAR,
                Intent.DISPUTE,
                Intent.DISPUTE,
                Intent.DISPUTE,
                Intent.DISPUTE,
                Intent.GIVE_CALLBACK_TIME,
                Intent.BYE,
            ],
        ),
        (
            PersonaKind.THIRD_PARTY,
            [
                Intent.NOT_AT_HOME,
                Intent.DONT_KNOW,
                Intent.TAKE_MESSAGE,
                Intent.TAKE_MESSAGE,
                Intent.TAKE_MESSAGE,
                Intent.TAKE_MESSAGE,
                Intent.GIVE_CALLBACK_TIME,
                Intent.BYE,
            ],
        ),
    ],
)
def test_personas_answer_each_cue_by_their_goal(
    persona: PersonaKind, intents: list[Intent]
) -> None:
    replies = _conversation(persona, FLOW)
    assert [r[0][0] for r in replies] == intents
    assert not any(hang_up for *_, hang_up in replies)


@pytest.mark.parametrize(
    ("persona", "prompts", "intent", "hangs_up_after"),
    [
        (PersonaKind.REFUSER, [IDENTITY] + [PAYMENT] * 4, Intent.REFUSE, 5),
        (PersonaKind.WRONG_NUMBER, [IDENTITY, PAYMENT, DATE], Intent.WRONG_NUMBER, 3),
        (PersonaKind.ABUSIVE, [IDENTITY, PAYMENT, DATE, AMOUNT], Intent.ABUSE, 4),
        (PersonaKind.BEREAVED, [IDENTITY, PAYMENT, CALLBACK], Intent.MOURNING, 3),
    ],
)
def test_impatient_personas_hang_up(
    persona: PersonaKind, prompts: list[str], intent: Intent, hangs_up_after: int
) -> None:
    replies = _conversation(persona, prompts)
    assert [hang_up for *_, hang_up in replies] == [False] * (hangs_up_after - 1) + [True]
    assert replies[-1][0] == (intent,) or intent in replies[-2][0]


def test_bereaved_relative_reports_the_death_and_never_confirms() -> None:
    intents, speech, _ = _conversation(PersonaKind.BEREAVED, [IDENTITY])[0]
    assert intents == (Intent.DECEASED,)
    assert speech is not None
    assert "speaking" not in speech.lower()


def test_abusive_borrower_confirms_rudely_then_abuses() -> None:
    replies = _conversation(PersonaKind.ABUSIVE, [IDENTITY, PAYMENT])
    assert [r[0] for r in replies] == [(Intent.RUDE_CONFIRM,), (Intent.ABUSE,)]


def test_promiser_says_after_salary_first_when_that_is_their_habit() -> None:
    facts = BorrowerFacts(**{**vars(FACTS), "after_salary": True})
    replies = _conversation(PersonaKind.PROMISER, [PAYMENT, PAYMENT, DATE], facts)
    assert [r[0] for r in replies] == [
        (Intent.AFTER_SALARY,),
        (Intent.PROMISE,),
        (Intent.GIVE_DATE,),
    ]


def test_promises_carry_the_amount_and_date_the_borrower_means() -> None:
    amounts = {"5000", "5,000", "Rs 5000", "₹5,000", "5000 rupees", "5k"}
    dates = {"the 5th", "5th", "5 March", "March 5th"}
    for seed in range(40):
        [(_, speech, _)] = _conversation(PersonaKind.PROMISER, [PAYMENT], seed=seed)
        assert speech is not None
        assert any(a in speech for a in amounts), speech
        assert any(d in speech for d in dates), speech


@pytest.mark.parametrize("persona", [PersonaKind.SILENT, PersonaKind.VOICEMAIL])
def test_silent_lines_say_nothing(persona: PersonaKind) -> None:
    assert _conversation(persona, [IDENTITY, PAYMENT]) == [((), None, False), ((), None, False)]


def test_verification_answers_with_the_borrowers_facts_as_speech_and_keys() -> None:
    rng = random.Random(1)
    borrower = Borrower.meet(PersonaKind.PAYER, FACTS, rng)
    year = borrower.respond(YEAR, gather_language="en-IN", rng=rng)
    last4 = borrower.respond(LAST4, gather_language="en-IN", rng=rng)
    assert year.digits == "1988" and year.speech is not None and "1988" in year.speech
    assert last4.digits == "4321"
    assert last4.speech is not None and ("4321" in last4.speech or "4 3 2 1" in last4.speech)


def test_a_person_presses_the_key_the_agent_asks_for() -> None:
    rng = random.Random(1)
    borrower = Borrower.meet(PersonaKind.PROMISER, FACTS, rng)
    reply = borrower.respond(IDENTITY + " Press 1 for yes.", gather_language="en-IN", rng=rng)
    assert reply.digits == "1"
    assert borrower.respond(PAYMENT, gather_language="en-IN", rng=rng).digits is None


def test_hindi_speaker_answers_in_devanagari_to_hi_in_and_in_hinglish_otherwise() -> None:
    for seed in range(20):
        [(intents, deva, _)] = _conversation(
            PersonaKind.HINDI_SPEAKER, [PAYMENT_HI], HINDI_FACTS, "hi-IN", seed
        )
        assert intents == (Intent.PROMISE,)
        assert deva is not None and DEVANAGARI.search(deva), deva
        [(_, roman, _)] = _conversation(
            PersonaKind.HINDI_SPEAKER, [PAYMENT_HI], HINDI_FACTS, "en-IN", seed
        )
        assert roman is not None and not DEVANAGARI.search(roman), roman
        assert "3000" in roman or "3,000" in roman or "teen hazaar" in roman


def test_hindi_speaker_asks_for_hindi_once_when_spoken_to_in_english() -> None:
    replies = _conversation(PersonaKind.HINDI_SPEAKER, [IDENTITY, PAYMENT], FACTS, "en-IN")
    assert replies[0][0] == (Intent.CONFIRM_IDENTITY, Intent.ASK_HINDI)
    assert replies[1][0] == (Intent.PROMISE,)
    assert replies[0][1] is not None and "hindi" in replies[0][1].lower()


@pytest.mark.parametrize(
    ("gender", "expected", "unexpected"),
    [("male", "bol raha hoon", "bol rahi hoon"), ("female", "bol rahi hoon", "bol raha hoon")],
)
def test_hindi_verbs_agree_with_the_speakers_gender(
    gender: str, expected: str, unexpected: str
) -> None:
    facts = BorrowerFacts(**{**vars(HINDI_FACTS), "gender": gender})
    said = [
        _conversation(PersonaKind.PROMISER, [IDENTITY_HI], facts, "en-IN", seed)[0][1] or ""
        for seed in range(60)
    ]
    assert any(expected in s for s in said)
    assert not any(unexpected in s for s in said)


@pytest.mark.parametrize("persona", sorted(PersonaKind))
@pytest.mark.parametrize(
    ("facts", "language"), [(FACTS, "en-IN"), (HINDI_FACTS, "hi-IN"), (HINDI_FACTS, "en-IN")]
)
def test_every_reply_is_fully_rendered(
    persona: PersonaKind, facts: BorrowerFacts, language: str
) -> None:
    for seed in range(25):
        for _, speech, _ in _conversation(persona, [*FLOW, LAST4], facts, language, seed):
            assert speech is None or ("{" not in speech and "}" not in speech and speech.strip())


def test_phrasebook_covers_every_intent_in_both_languages() -> None:
    assert set(ENGLISH) == set(Intent) == set(HINDI)
    for pairs in HINDI.values():
        for devanagari, roman in pairs:
            assert DEVANAGARI.search(devanagari) or devanagari.strip("{}").isascii()
            assert not DEVANAGARI.search(roman)


@pytest.mark.parametrize(
    ("rupees", "script", "forms"),
    [
        (5000, "en", {"5000", "5,000", "Rs 5000", "₹5,000", "5000 rupees", "5k"}),
        (2500, "en", {"2500", "2,500", "Rs 2500", "₹2,500", "2500 rupees"}),
        (5000, "roman", {"5000", "5,000", "5000 rupaye", "paanch hazaar"}),
        (12000, "deva", {"12000", "12,000", "12000 रुपये", "बारह हज़ार"}),
        (1500, "deva", {"1500", "1,500", "1500 रुपये"}),
    ],
)
def test_amounts_are_said_every_way_people_say_them(
    rupees: int, script: str, forms: set[str]
) -> None:
    rng = random.Random(0)
    said = {say_amount(rupees, script, rng) for _ in range(300)}  # type: ignore[arg-type]
    assert said == forms


@pytest.mark.parametrize(
    ("when", "script", "forms"),
    [
        (date(2026, 3, 5), "en", {"the 5th", "5th", "5 March", "March 5th"}),
        (date(2026, 3, 1), "en", {"the 1st", "1st", "1 March", "March 1st"}),
        (date(2026, 4, 22), "en", {"the 22nd", "22nd", "22 April", "April 22nd"}),
        (date(2026, 3, 5), "roman", {"5 tareekh", "5 March"}),
        (date(2026, 3, 5), "deva", {"5 तारीख", "5 मार्च"}),
    ],
)
def test_dates_are_said_every_way_people_say_them(when: date, script: str, forms: set[str]) -> None:
    rng = random.Random(0)
    assert {say_date(when, script, rng) for _ in range(300)} == forms  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (31, "31st"),
    ],
)
def test_ordinals(day: int, text: str) -> None:
    assert ordinal(day) == text


@pytest.mark.parametrize(
    ("hour", "script", "text"),
    [(18, "roman", "shaam 6 baje"), (10, "deva", "सुबह 10 बजे"), (13, "roman", "dopahar 1 baje")],
)
def test_callback_hours(hour: int, script: str, text: str) -> None:
    assert say_hour(hour, script, random.Random(0)) == text  # type: ignore[arg-type]


def test_persona_weights_are_shares_of_every_persona_in_every_bucket() -> None:
    for bucket in Bucket:
        weights = PERSONA_WEIGHTS[bucket]
        assert set(weights) == set(PersonaKind)
        assert sum(weights.values()) == pytest.approx(100)


def _shares(bucket: Bucket, draws: int = 4000) -> Counter[PersonaKind]:
    rng = random.Random(11)
    return Counter(draw_persona(bucket, rng) for _ in range(draws))


def test_later_buckets_draw_fewer_payers_and_more_refusers_and_unreachables() -> None:
    standard, npa = _shares(Bucket.STANDARD), _shares(Bucket.NPA)
    cooperative = (PersonaKind.PAYER, PersonaKind.PROMISER)
    hostile = (PersonaKind.REFUSER, PersonaKind.DISPUTER, PersonaKind.ABUSIVE)
    unreachable = (PersonaKind.BUSY, PersonaKind.NO_ANSWER)
    assert sum(standard[p] for p in cooperative) > 2 * sum(npa[p] for p in cooperative)
    assert sum(npa[p] for p in hostile) > 3 * sum(standard[p] for p in hostile)
    assert sum(npa[p] for p in unreachable) > sum(standard[p] for p in unreachable)
    # STANDARD and SMA-0 are mostly payers and promisers.
    assert sum(standard[p] for p in cooperative) > 0.5 * 4000
    assert sum(_shares(Bucket.SMA_0)[p] for p in cooperative) > 0.45 * 4000


def test_draws_are_reproducible_and_accept_bucket_names() -> None:
    first = [draw_persona("SMA-1", random.Random(5)) for _ in range(3)]
    again = [draw_persona(Bucket.SMA_1, random.Random(5)) for _ in range(3)]
    assert first == again
    with pytest.raises(ValueError):
        draw_persona("SMA-9", random.Random(5))


def test_drawn_facts_are_plausible_and_reproducible() -> None:
    today = date(2026, 3, 2)
    facts = draw_facts(random.Random(9), today)
    assert facts == draw_facts(random.Random(9), today)
    assert 1965 <= facts.year_of_birth <= 2002
    assert re.fullmatch(r"\d{4}", facts.loan_last4)
    assert today < facts.promise_date and facts.paid_on < today
    assert facts.promise_amount > 0
