from datetime import date

import pytest
from sqlalchemy import literal, select, union_all

from crm.buckets import (
    AssetClass,
    Bucket,
    add_months,
    asset_class,
    borrower_buckets,
    bucket_for_dpd,
    bucket_sql,
    npa_since,
)
from tests.conftest import Database


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (0, Bucket.STANDARD),
        (1, Bucket.SMA_0),
        (15, Bucket.SMA_0),
        (30, Bucket.SMA_0),
        (31, Bucket.SMA_1),
        (60, Bucket.SMA_1),
        (61, Bucket.SMA_2),
        (90, Bucket.SMA_2),
        (91, Bucket.NPA),
        (365, Bucket.NPA),
        (5000, Bucket.NPA),
    ],
)
def test_bucket_for_dpd_edges(dpd: int, bucket: Bucket) -> None:
    assert bucket_for_dpd(dpd) is bucket


def test_negative_dpd_is_refused() -> None:
    with pytest.raises(ValueError, match="dpd must not be negative"):
        bucket_for_dpd(-1)


@pytest.mark.parametrize(
    ("dpds", "buckets"),
    [
        ([], []),
        ([0], [Bucket.STANDARD]),
        ([0, 45], [Bucket.STANDARD, Bucket.SMA_1]),
        ([90, 61], [Bucket.SMA_2, Bucket.SMA_2]),
        ([91, 0], [Bucket.NPA, Bucket.NPA]),
        ([0, 10, 200], [Bucket.NPA, Bucket.NPA, Bucket.NPA]),
        ([90, 90, 90], [Bucket.SMA_2] * 3),
    ],
)
def test_borrower_wise_npa(dpds: list[int], buckets: list[Bucket]) -> None:
    assert borrower_buckets(dpds) == buckets


@pytest.mark.parametrize(
    ("dpd", "as_of", "since"),
    [
        (90, date(2026, 3, 1), None),
        (91, date(2026, 3, 1), date(2026, 3, 1)),
        (92, date(2026, 3, 1), date(2026, 2, 28)),
        (456, date(2026, 3, 1), date(2025, 3, 1)),
    ],
)
def test_npa_since(dpd: int, as_of: date, since: date | None) -> None:
    assert npa_since(dpd, as_of) == since


@pytest.mark.parametrize(
    ("bucket", "since", "as_of", "expected"),
    [
        (Bucket.SMA_2, None, date(2026, 3, 1), AssetClass.STANDARD),
        (Bucket.NPA, date(2025, 3, 1), date(2026, 3, 1), AssetClass.SUBSTANDARD),  # 12 months
        (Bucket.NPA, date(2025, 3, 1), date(2026, 3, 2), AssetClass.DOUBTFUL),
        (Bucket.NPA, date(2026, 2, 1), date(2026, 3, 1), AssetClass.SUBSTANDARD),
        (Bucket.NPA, date(2024, 2, 29), date(2025, 2, 28), AssetClass.SUBSTANDARD),
        (Bucket.NPA, date(2024, 2, 29), date(2025, 3, 1), AssetClass.DOUBTFUL),
        (Bucket.NPA, None, date(2026, 3, 1), AssetClass.SUBSTANDARD),
    ],
)
def test_asset_class(bucket: Bucket, since: date | None, as_of: date, expected: AssetClass) -> None:
    assert asset_class(bucket, since, as_of) is expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 11, 15), 2, date(2027, 1, 15)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_sql_bucket_agrees_with_python(db: Database) -> None:
    dpds = [*range(130), 365, 720, 10_000]
    table = union_all(*(select(literal(d).label("dpd")) for d in dpds)).subquery()
    with db.engine.connect() as conn:
        rows = conn.execute(select(table.c.dpd, bucket_sql(table.c.dpd))).all()
    assert dict(rows) == {d: bucket_for_dpd(d).value for d in dpds}
