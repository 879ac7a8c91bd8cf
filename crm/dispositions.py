"""SPEC's disposition codes and what each one counts as."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DispositionCode:
    code: str
    meaning: str
    is_contact: bool
    is_rpc: bool  # right-party contact


DISPOSITIONS: tuple[DispositionCode, ...] = (
    DispositionCode("PTP", "borrower promised an amount by a date", True, True),
    DispositionCode("PAID", "borrower says it is already paid", True, True),
    DispositionCode("REFUSED", "borrower refuses to pay", True, True),
    DispositionCode("DISPUTE", "borrower disputes the debt or amount", True, True),
    DispositionCode("CALLBACK", "borrower asked to be called at another time", True, True),
    DispositionCode("HARDSHIP", "borrower cannot pay for now (job loss, illness, ...)", True, True),
    DispositionCode("ESCALATED", "complaint, abuse, or asked for a supervisor/human", True, True),
    DispositionCode("WRONG_NUMBER", "the number does not belong to the borrower", True, False),
    DispositionCode(
        "THIRD_PARTY", "someone else answered; nothing about the debt was disclosed", True, False
    ),
    DispositionCode("DECEASED", "borrower reported deceased", True, False),
    DispositionCode("RNR", "rang, no response", False, False),
    DispositionCode("BUSY", "busy", False, False),
    DispositionCode("UNREACHABLE", "switched off / not reachable", False, False),
    DispositionCode(
        "VOICEMAIL", "answering machine; only a limited-content message left", False, False
    ),
    DispositionCode("DROPPED", "answered, then hung up before any outcome", True, False),
    DispositionCode(
        "FAILED", "call could not be placed (invalid number, provider error)", False, False
    ),
)

BY_CODE: dict[str, DispositionCode] = {d.code: d for d in DISPOSITIONS}
RPC_CODES: frozenset[str] = frozenset(d.code for d in DISPOSITIONS if d.is_rpc)
CONTACT_CODES: frozenset[str] = frozenset(d.code for d in DISPOSITIONS if d.is_contact)
