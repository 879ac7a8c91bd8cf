"""RBI bucket and asset classification, as pure functions (and the same rule as SQL)."""

from __future__ import annotations

import enum
from calendar import monthrange
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import ColumnElement, case, literal


class Bucket(enum.StrEnum):
    STANDARD = "STANDARD"
    SMA_0 = "SMA-0"
    SMA_1 = "SMA-1"
    SMA_2 = "SMA-2"
    NPA = "NPA"


class AssetClass(enum.StrEnum):
    STANDARD = "STANDARD"
    SUBSTANDARD = "SUBSTANDARD"
    DOUBTFUL = "DOUBTFUL"


# First dpd of each bucket, highest first (RBI circular DOR.STR.REC.68/21.04.048/2021-22, SMA/NPA).
BUCKET_FLOORS: tuple[tuple[int, Bucket], ...] = (
    (91, Bucket.NPA),
    (61, Bucket.SMA_2),
    (31, Bucket.SMA_1),
    (1, Bucket.SMA_0),
    (0, Bucket.STANDARD),
)
BUCKET_ORDER: tuple[Bucket, ...] = tuple(reversed([b for _, b in BUCKET_FLOORS]))
NPA_FIRST_DPD = BUCKET_FLOORS[0][0]
# RBI IRAC master circular: substandard while NPA for 12 months or less, doubtful after.
SUBSTANDARD_MONTHS = 12


def bucket_for_dpd(dpd: int) -> Bucket:
    if dpd < 0:
        raise ValueError(f"dpd must not be negative, got {dpd}")
    for floor, bucket in BUCKET_FLOORS:
        if dpd >= floor:
            return bucket
    raise AssertionError("unreachable: the last floor is 0")


def borrower_buckets(dpds: Sequence[int]) -> list[Bucket]:
    """Buckets of one borrower's accounts; any NPA account makes them all NPA (borrower-wise)."""
    own = [bucket_for_dpd(d) for d in dpds]
    if Bucket.NPA in own:
        return [Bucket.NPA] * len(own)
    return own


def npa_since(dpd: int, as_of: date) -> date | None:
    """The first day of NPA for an account at `dpd` on `as_of` (none when not NPA)."""
    if dpd < NPA_FIRST_DPD:
        return None
    return as_of - timedelta(days=dpd - NPA_FIRST_DPD)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def asset_class(bucket: Bucket, since: date | None, as_of: date) -> AssetClass:
    """STANDARD for performing accounts; SUBSTANDARD up to 12 months of NPA; DOUBTFUL after."""
    if bucket is not Bucket.NPA:
        return AssetClass.STANDARD
    if since is None or as_of <= add_months(since, SUBSTANDARD_MONTHS):
        return AssetClass.SUBSTANDARD
    return AssetClass.DOUBTFUL


def bucket_sql(dpd: ColumnElement[int]) -> ColumnElement[str]:
    """`bucket_for_dpd` as a SQL expression over a dpd column."""
    whens = [(dpd >= floor, literal(bucket.value)) for floor, bucket in BUCKET_FLOORS[:-1]]
    return case(*whens, else_=literal(Bucket.STANDARD.value))
