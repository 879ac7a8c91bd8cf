"""Every report as a flat table: what the CLI prints, the CSV exports and the dashboard show."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analytics.agents import DISPOSITION_CODES
from crm.buckets import BUCKET_ORDER


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(tuple("" if v is None else v for v in row) for row in self.rows)
        return out.getvalue()


AGENT_COLUMNS = (
    "agent_id", "name", "kind", "agency_id", "attempts", "contacts", "rpc", "ptp",
    "contact_rate", "rpc_rate", "ptp_rate", "rnr_rate", "wrong_number_rate", "ptp_kept_rate",
    "ptp_kept_amount_rate", "promised_amount", "kept_amount", "recovered_amount",
    "cases_assigned", "cases_resolved", "resolution_rate", "avg_resolution_days", "complaints",
    "compliance_flags", "qa_score", "outlier", "outlier_reasons",
)  # fmt: skip
RATE_KEYS = ("contact", "rpc", "ptp", "rnr", "wrong_number")


def agents_table(report: dict[str, Any], *, agencies: bool = False) -> Table:
    """One row per agent (or agency) with its rates and its disposition counts at the end."""
    items: Sequence[dict[str, Any]] = report["agencies" if agencies else "agents"]
    columns: tuple[str, ...] = AGENT_COLUMNS
    if agencies:
        columns = ("agency_id", *(c for c in AGENT_COLUMNS if c not in _AGENT_ONLY))
    rows = []
    for item in items:
        flat = {**item, **{f"{k}_rate": item["rates"][k] for k in RATE_KEYS}}
        flat["outlier_reasons"] = "; ".join(item.get("outlier_reasons", []))
        counts = tuple(item["dispositions"].get(code, 0) for code in DISPOSITION_CODES)
        rows.append(tuple(flat.get(c) for c in columns) + counts)
    return Table((*columns, *DISPOSITION_CODES), rows)


_AGENT_ONLY = {"agent_id", "name", "kind", "agency_id", "qa_score", "outlier", "outlier_reasons"}


def roll_rates_table(answer: dict[str, Any]) -> Table:
    order = [b.value for b in BUCKET_ORDER]
    rows = []
    for source, counts in answer["counts"].items():
        shares = answer["matrix"][source]
        rows.append(
            (
                answer["from_month"],
                source,
                sum(counts.values()),
                *(round(shares[t], 4) for t in order),
                *(counts[t] for t in order),
            )
        )
    return Table(
        ("from_month", "from_bucket", "accounts", *order, *(f"{t} accounts" for t in order)), rows
    )


def cohorts_table(answer: dict[str, Any]) -> Table:
    days = [p["days"] for p in answer["cohorts"][0]["points"]] if answer["cohorts"] else []
    rows = [
        (c["cohort"], c["accounts"], c["outstanding"], *(p["recovery_rate"] for p in c["points"]))
        for c in answer["cohorts"]
    ]
    return Table(("cohort", "accounts", "outstanding", *(f"d{d}" for d in days)), rows)


PTP_COLUMNS = (
    "agent_id", "promises", "promised_amount", "kept", "broken", "pending", "kept_rate",
    "kept_amount", "kept_amount_rate", "paid_amount",
)  # fmt: skip


def ptp_table(report: dict[str, Any]) -> Table:
    rows = [tuple(r[c] for c in PTP_COLUMNS) for r in report["agents"]]
    total = report["total"]
    rows.append(("TOTAL", *(total[c] for c in PTP_COLUMNS[1:])))
    return Table(PTP_COLUMNS, rows)


def buckets_table(answer: dict[str, Any]) -> Table:
    order = [b.value for b in BUCKET_ORDER]
    rows = [(m["month"], *(m["buckets"][b] for b in order)) for m in answer["months"]]
    return Table(("month", *order), rows)


SEGMENT_COLUMNS = (
    "accounts", "npa_accounts", "npa_rate", "npa_principal_rate", "recovered_amount",
    "recovery_rate",
)  # fmt: skip


def segments_table(answer: dict[str, Any]) -> Table:
    by = answer["by"]
    rows = [(r[by], *(r[c] for c in SEGMENT_COLUMNS)) for r in answer["rows"]]
    return Table((by, *SEGMENT_COLUMNS), rows)
