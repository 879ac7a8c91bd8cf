"""Factories for CRM records: the smallest valid borrower, account, call..., overridable."""

from __future__ import annotations

import csv
import itertools
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crm.buckets import bucket_for_dpd
from crm.models import Account, Agent, Borrower, Call, Phone, PhoneStatus
from tests.conftest import NOW

_ids = itertools.count(1)


def add_account(
    session: Session,
    account_id: str | None = None,
    *,
    borrower_id: str | None = None,
    dpd: int = 12,
    phones: tuple[str, ...] = ("+919812345678",),
    assigned_agent_id: str | None = None,
    **fields: Any,
) -> Account:
    account_id = account_id or f"A{next(_ids):06d}"
    borrower_id = borrower_id or f"B-{account_id}"
    if session.get(Borrower, borrower_id) is None:
        session.add(
            Borrower(borrower_id=borrower_id, name=fields.pop("borrower_name", "Priya Sharma"))
        )
    if assigned_agent_id and session.get(Agent, assigned_agent_id) is None:
        session.add(Agent(agent_id=assigned_agent_id, name=assigned_agent_id))
    session.flush()  # referenced rows first: accounts have no ORM relationship to agents
    values: dict[str, Any] = {
        "overdue_amount": Decimal("5000.00"),
        "emi_amount": Decimal("5000.00"),
        "principal_outstanding": Decimal("120000.00"),
        "bucket": bucket_for_dpd(max(dpd, 0)),
        "updated_at": NOW,
    }
    values.update(fields)
    account = Account(
        account_id=account_id,
        borrower_id=borrower_id,
        dpd=dpd,
        assigned_agent_id=assigned_agent_id,
        **values,
    )
    session.add(account)
    session.flush()
    for number in phones:
        session.add(Phone(account_id=account_id, number=number, status=PhoneStatus.OK))
    session.flush()
    return account


def add_call(
    session: Session,
    account_id: str,
    *,
    started_at: datetime = NOW,
    disposition: str | None = "RNR",
    agent_id: str = "TC001",
    **fields: Any,
) -> Call:
    if session.get(Agent, agent_id) is None:
        session.add(Agent(agent_id=agent_id, name=agent_id))
        session.flush()
    call = Call(
        call_id=fields.pop("call_id", f"C{next(_ids):06d}"),
        account_id=account_id,
        agent_id=agent_id,
        started_at=started_at,
        disposition=disposition,
        phone=fields.pop("phone", "+919812345678"),
        **fields,
    )
    session.add(call)
    session.flush()
    return call


def add_call_in_progress(session: Session, call_sid: str, account_id: str = "A1") -> Call:
    """Account `account_id` with call C1 answered and talking, as the dialer placed it."""
    add_account(session, account_id)
    return add_call(
        session, account_id, call_id="C1", disposition=None, status="in-progress",
        provider_call_sid=call_sid, source="dialer",
    )  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list[Any]] | list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        if rows and isinstance(rows[0], dict):
            writer: Any = csv.DictWriter(out, fieldnames=header)
            writer.writeheader()
        else:
            writer = csv.writer(out)
            writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def day(text: str) -> date:
    return date.fromisoformat(text)
