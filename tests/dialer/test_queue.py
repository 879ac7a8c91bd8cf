"""The dial queue: who a campaign works, in what order, and claiming under the caps."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.policy import load_policy
from compliance.screening import decide_for_phone
from crm.buckets import Bucket
from crm.models import Account, AccountFlag, AccountFlagCode, Agency, Call, Promise, PromiseStatus
from dialer.models import Campaign, Channel, DialQueueEntry
from dialer.queue import CLAIM_TTL, NUMBER_BUSY, Claim, _page_size, claim, refresh
from tests.conftest import NOW, Database
from tests.dialer.conftest import add_accounts, add_campaign
from tests.factories import add_account, add_call

RBI = load_policy("rbi")
TODAY = date(2026, 3, 2)


def queued(session: Session, campaign_id: int) -> dict[str, DialQueueEntry]:
    rows = session.scalars(select(DialQueueEntry).where(DialQueueEntry.campaign_id == campaign_id))
    return {row.account_id: row for row in rows}


def queue_in_order(session: Session, accounts: int) -> tuple[Campaign, list[str]]:
    """A campaign over `accounts` new accounts, refreshed; their ids in the claim's order."""
    ids = add_accounts(session, accounts)
    campaign = add_campaign(session)
    refresh(session, campaign, now=NOW, today=TODAY, policy=RBI)
    entries = queued(session, campaign.id)
    return campaign, sorted(ids, key=lambda a: (entries[a].tier, -entries[a].score, a))


def called_recently(session: Session, account_ids: Iterable[str]) -> None:
    """Each account's phone was called 20 minutes ago: min_gap blocks it for 40 more."""
    for account_id in account_ids:
        phone = session.get_one(Account, account_id).phones[0].number
        add_call(session, account_id, started_at=NOW - timedelta(minutes=20), phone=phone)


def test_refresh_selects_by_bucket_product_agency_predue_and_flags(session: Session) -> None:
    session.add(Agency(agency_id="AG1", name="North"))
    add_account(
        session, "SMA0-PL-AG1", dpd=12, product="PL", agency_id="AG1", phones=("+919800000001",)
    )
    add_account(
        session, "SMA0-HL-AG1", dpd=12, product="HL", agency_id="AG1", phones=("+919800000002",)
    )
    add_account(session, "SMA0-PL-none", dpd=12, product="PL", phones=("+919800000003",))
    add_account(
        session, "SMA1-PL-AG1", dpd=40, product="PL", agency_id="AG1", phones=("+919800000004",)
    )
    add_account(
        session,
        "STD-due-soon",
        dpd=0,
        product="PL",
        agency_id="AG1",
        due_date=TODAY + timedelta(days=5),
        phones=("+919800000005",),
    )
    add_account(
        session,
        "STD-due-later",
        dpd=0,
        product="PL",
        agency_id="AG1",
        due_date=TODAY + timedelta(days=6),
        phones=("+919800000006",),
    )
    add_account(
        session, "SMA0-dnc", dpd=12, product="PL", agency_id="AG1", phones=("+919800000007",)
    )
    session.add(AccountFlag(account_id="SMA0-dnc", flag=AccountFlagCode.DNC))
    campaign = add_campaign(
        session,
        buckets=[Bucket.STANDARD, Bucket.SMA_0],
        channels={Bucket.STANDARD: Channel.BOT, Bucket.SMA_0: Channel.BOT},
        products=["PL"],
        agencies=["AG1"],
        predue_days=5,
    )
    assert refresh(session, campaign, now=NOW, today=TODAY, policy=RBI) == 2
    assert set(queued(session, campaign.id)) == {"SMA0-PL-AG1", "STD-due-soon"}


def test_priority_tiers_then_amount_at_risk(session: Session) -> None:
    ids = add_accounts(session, 6, dpd=12)
    promise = {"amount": Decimal(1000), "promised_on": TODAY - timedelta(days=3), "created_at": NOW}
    session.add(Promise(account_id=ids[0], promised_date=TODAY, **promise))
    session.add(
        Promise(
            account_id=ids[1],
            promised_date=TODAY - timedelta(days=3),
            status=PromiseStatus.BROKEN,
            **promise,
        )
    )
    session.add(
        Promise(
            account_id=ids[5],
            promised_date=TODAY - timedelta(days=8),
            status=PromiseStatus.BROKEN,
            **promise,
        )
    )
    add_call(
        session,
        ids[2],
        started_at=NOW - timedelta(days=1),
        disposition="CALLBACK",
        callback_at=NOW + timedelta(hours=2),
    )
    session.get_one(Account, ids[3]).overdue_amount = Decimal("90000.00")
    session.get_one(Account, ids[4]).dpd = 29  # a day from SMA-1: more urgent than ids[5]
    campaign = add_campaign(session)
    refresh(session, campaign, now=NOW, today=TODAY, policy=RBI)
    rows = queued(session, campaign.id)
    assert {a: rows[a].tier for a in ids} == {
        ids[0]: 1,
        ids[1]: 2,
        ids[2]: 3,
        ids[3]: 4,
        ids[4]: 4,
        ids[5]: 4,
    }
    assert rows[ids[2]].due_at == NOW + timedelta(hours=2) - RBI.callback_tolerance
    assert rows[ids[3]].score > rows[ids[4]].score > rows[ids[5]].score

    claimed = claim(session, campaign, channel=Channel.BOT, count=10, now=NOW, policy=RBI).claimed
    # The callback is not due yet; the rest in tier order, then by score.
    assert [c.account_id for c in claimed] == [ids[0], ids[1], ids[3], ids[4], ids[5]]


def test_claim_parks_what_compliance_blocks_with_the_reason(session: Session) -> None:
    ok, recent = add_accounts(session, 2)
    add_call(
        session,
        recent,
        started_at=NOW - timedelta(minutes=20),
        disposition="RNR",
        phone=session.get_one(Account, recent).phones[0].number,
    )
    campaign = add_campaign(session)
    refresh(session, campaign, now=NOW, today=TODAY, policy=RBI)
    result = claim(session, campaign, channel=Channel.BOT, count=10, now=NOW, policy=RBI)
    assert [c.account_id for c in result.claimed] == [ok]
    assert result.blocked == 1
    assert result.blocking_rules == {"min_gap": 1}
    parked = queued(session, campaign.id)[recent]
    assert parked.due_at == NOW + timedelta(minutes=40)
    assert parked.reason is not None and parked.reason.startswith("min_gap")
    assert (
        claim(session, campaign, channel=Channel.BOT, count=10, now=NOW, policy=RBI).claimed == []
    )


def test_one_number_is_never_rung_for_two_loans_at_once(session: Session) -> None:
    phone = "+919876500001"  # one borrower, two loans, one phone
    first_loan = add_account(session, "L1", borrower_id="B1", phones=(phone,)).account_id
    second_loan = add_account(session, "L2", borrower_id="B1", phones=(phone,)).account_id
    campaign = add_campaign(session)
    refresh(session, campaign, now=NOW, today=TODAY, policy=RBI)
    result = claim(session, campaign, channel=Channel.BOT, count=10, now=NOW, policy=RBI)
    (rung,) = result.claimed
    assert result.blocked == 0  # not a compliance block
    waiting = ({first_loan, second_loan} - {rung.account_id}).pop()
    parked = queued(session, campaign.id)[waiting]
    assert (parked.due_at, parked.reason) == (NOW + NUMBER_BUSY, "number busy: on another call")

    # Still on the call when the park ends: parked again; once it is over, the other loan's turn.
    later = NOW + NUMBER_BUSY
    assert (
        claim(session, campaign, channel=Channel.BOT, count=10, now=later, policy=RBI).claimed == []
    )
    call = session.get_one(Call, rung.call_id)
    call.status, call.ended_at = "completed", later
    after = later + NUMBER_BUSY
    (next_call,) = claim(
        session, campaign, channel=Channel.BOT, count=10, now=after, policy=RBI
    ).claimed
    assert next_call.account_id == waiting


def test_a_number_on_a_tele_callers_call_is_not_dialled_for_another_loan(session: Session) -> None:
    phone = "+919876500002"
    on_the_line = add_account(session, "L1", borrower_id="B1", phones=(phone,)).account_id
    other_loan = add_account(session, "L2", borrower_id="B1", phones=(phone,)).account_id
    add_call(
        session, on_the_line, started_at=NOW - timedelta(minutes=10), disposition=None,
        status="in-progress", phone=phone, source="manual",
    )  # fmt: skip
    campaign = add_campaign(session)
    refresh(session, campaign, now=NOW, today=TODAY, policy=RBI)
    result = claim(session, campaign, channel=Channel.BOT, count=10, now=NOW, policy=RBI)
    assert result.claimed == []
    assert result.blocking_rules == {"min_gap": 1}  # the account on the line: compliance
    assert queued(session, campaign.id)[other_loan].reason == "number busy: on another call"


def test_claims_of_two_campaigns_take_turns_for_a_shared_number(db: Database) -> None:
    """Two loans of one borrower, one in each campaign's bucket, claimed at the same moment by
    two dialers: the second claim waits for the first to commit, then finds the number on a call
    (without that wait, neither claim could see the other's uncommitted call)."""
    phone = "+919876500003"
    with db.session() as session, session.begin():
        add_account(session, "L1", borrower_id="B1", dpd=5, phones=(phone,))  # SMA-0
        add_account(session, "L2", borrower_id="B1", dpd=40, phones=(phone,))  # SMA-1
        campaigns = [
            add_campaign(session, name=b.value, buckets=[b], channels={b: Channel.BOT})
            for b in (Bucket.SMA_0, Bucket.SMA_1)
        ]
        for campaign in campaigns:
            refresh(session, campaign, now=NOW, today=TODAY, policy=RBI)
        first_id, second_id = (c.id for c in campaigns)

    def take(session: Session, campaign_id: int) -> Claim:
        campaign = session.get_one(Campaign, campaign_id)
        return claim(session, campaign, channel=Channel.BOT, count=5, now=NOW, policy=RBI)

    seconds: list[Claim] = []

    def second_dialer() -> None:
        with db.session() as session, session.begin():
            seconds.append(take(session, second_id))

    with db.session() as session:
        (first,) = take(session, first_id).claimed
        other = threading.Thread(target=second_dialer)
        other.start()
        other.join(1.0)
        assert other.is_alive(), "the second claim did not wait for the first"
        session.commit()
        other.join(30)
    assert first.account_id == "L1"
    (second,) = seconds
    assert second.claimed == []
    with db.session() as session:
        parked = session.get_one(DialQueueEntry, (second_id, "L2"))
        assert parked.reason == "number busy: on another call"


def test_claim_tops_up_in_priority_order_when_candidates_are_blocked(session: Session) -> None:
    """The first page of candidates is all blocked: the next ones, in order, fill the slots."""
    campaign, order = queue_in_order(session, 12)
    called_recently(session, order[:4])  # the four most urgent
    result = claim(
        session, campaign, channel=Channel.BOT, count=3, now=NOW, policy=RBI, overfetch=1.0
    )
    assert [c.account_id for c in result.claimed] == order[4:7]
    assert result.blocked == 4
    session.expire_all()
    parked = queued(session, campaign.id)
    assert all(parked[a].due_at == NOW + timedelta(minutes=40) for a in order[:4])


def test_claim_tops_up_from_the_share_that_passed(session: Session) -> None:
    """Most candidates are blocked: the slots are filled in priority order all the same."""
    campaign, order = queue_in_order(session, 30)
    blocked = {*order[:7], order[9], order[12]}
    called_recently(session, blocked)
    result = claim(session, campaign, channel=Channel.BOT, count=6, now=NOW, policy=RBI)
    assert [c.account_id for c in result.claimed] == [a for a in order if a not in blocked][:6]
    assert result.blocked == 9


@pytest.mark.parametrize(
    ("slots", "chosen", "screened", "overfetch", "wanted"),
    [
        (1000, 0, 0, 1.2, 1200),  # the first page
        (3, 0, 0, 1.0, 3),
        (1, 0, 0, 1.2, 2),
        (1000, 0, 1200, 1.2, 1200),  # every one blocked: another first page
        (1000, 900, 1000, 1.2, 134),  # 100 more at 9 in 10 passing, 20% to spare
        (1000, 999, 1200, 1.2, 2),
        (1000, 10, 1200, 1.2, 1200),  # few pass: at most a first page
        (4, 2, 4, 1.0, 4),
    ],
)
def test_page_size(slots: int, chosen: int, screened: int, overfetch: float, wanted: int) -> None:
    assert _page_size(slots, chosen, screened, overfetch) == wanted


def test_each_claimed_call_stores_the_receipt_of_its_decision(session: Session) -> None:
    ids = add_accounts(session, 3)
    campaign = add_campaign(session, calls_per_second=1.0)
    refresh(session, campaign, now=NOW, today=TODAY, policy=RBI)
    claimed = claim(session, campaign, channel=Channel.BOT, count=3, now=NOW, policy=RBI).claimed
    assert sorted(c.account_id for c in claimed) == sorted(ids)
    session.expire_all()
    for item in claimed:
        call = session.get_one(Call, item.call_id)
        decision = decide_for_phone(
            session.connection(), item.account_id, item.phone, at=item.slot_at, policy=RBI,
            excluding_call=item.call_id,
        )  # fmt: skip
        assert decision is not None and decision.allowed
        assert (call.phone, call.status, call.started_at) == (item.phone, "queued", item.slot_at)
        assert call.compliance_receipt == decision.receipt(item.phone)


def test_a_claim_holds_the_account_until_it_expires(session: Session) -> None:
    (account_id,) = add_accounts(session, 1, dpd=0)  # current: 07:00-19:00, 3 attempts a day
    campaign = add_campaign(session, calls_per_second=1.0)
    refresh(session, campaign, now=NOW, today=TODAY, policy=RBI)
    (first,) = claim(session, campaign, channel=Channel.BOT, count=5, now=NOW, policy=RBI).claimed
    account = session.get_one(Account, account_id)
    assert (account.claimed_by, account.claimed_until) == (first.call_id, NOW + CLAIM_TTL)
    later = NOW + timedelta(hours=2)  # the claim has lapsed, and min_gap is over
    assert (
        claim(
            session,
            campaign,
            channel=Channel.BOT,
            count=5,
            now=NOW + CLAIM_TTL - timedelta(seconds=1),
            policy=RBI,
        ).claimed
        == []
    )
    (second,) = claim(
        session, campaign, channel=Channel.BOT, count=5, now=later, policy=RBI
    ).claimed
    assert second.call_id != first.call_id
    session.expire_all()
    assert session.get_one(Account, account_id).claimed_by == second.call_id


def test_concurrency_cap_and_calls_per_second(session: Session) -> None:
    add_accounts(session, 10)
    campaign = add_campaign(session, max_concurrent=4, calls_per_second=2.0)
    refresh(session, campaign, now=NOW, today=TODAY, policy=RBI)
    first = claim(session, campaign, channel=Channel.BOT, count=10, now=NOW, policy=RBI).claimed
    assert [c.slot_at for c in first] == [NOW + timedelta(seconds=s) for s in (0, 0.5, 1, 1.5)]
    assert (
        claim(session, campaign, channel=Channel.BOT, count=10, now=NOW, policy=RBI).claimed == []
    )
    call = session.get_one(Call, first[0].call_id)
    call.status = "completed"
    (more,) = claim(session, campaign, channel=Channel.BOT, count=10, now=NOW, policy=RBI).claimed
    assert more.slot_at == NOW + timedelta(seconds=2)  # paced after the last slot given out


@pytest.mark.parametrize("cps", [1.0, 0.2])
def test_no_paced_call_starts_after_the_window_closes(session: Session, cps: float) -> None:
    add_accounts(session, 5)  # overdue: RBI window ends at 19:00 local
    closing = datetime(2026, 3, 2, 13, 29, 57, tzinfo=UTC)  # 18:59:57 in Mumbai
    campaign = add_campaign(session, calls_per_second=cps)
    refresh(session, campaign, now=closing, today=TODAY, policy=RBI)
    claimed = claim(
        session, campaign, channel=Channel.BOT, count=5, now=closing, policy=RBI
    ).claimed
    assert all(c.slot_at < datetime(2026, 3, 2, 13, 30, tzinfo=UTC) for c in claimed)
