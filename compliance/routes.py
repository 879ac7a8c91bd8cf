"""Compliance API routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from compliance.schemas import CaseIn, DecisionOut
from compliance.service import check
from duecall.deps import AnyUser, ContextDep

router = APIRouter(prefix="/api/compliance", tags=["compliance"])


@router.post("/check", response_model=DecisionOut)
def check_case(case: CaseIn, context: ContextDep, _user: AnyUser) -> dict[str, Any]:
    """SPEC's compliance decision for a case; 422 names a bad field."""
    return check(case, context.policy, files_allowed=False).as_json()
