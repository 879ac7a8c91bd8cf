"""Processes that guess at once (module level, for 'spawn')."""

from __future__ import annotations

from datetime import datetime

from duecall.db import make_engine
from web.session import login_throttle_for


def guess(url: str, key: str, now: datetime, tries: int) -> int:
    """Take `tries` login attempts for `key`; returns how many the throttle let through."""
    engine = make_engine(url)
    throttle = login_throttle_for(engine)
    try:
        return sum(throttle.attempt(key, now) is None for _ in range(tries))
    finally:
        engine.dispose()
