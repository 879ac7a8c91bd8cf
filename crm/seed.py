"""A synthetic Indian retail loan portfolio in the accounts CSV format, deterministic per seed."""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TextIO

import phonenumbers

from crm.buckets import Bucket

ACCOUNT_COLUMNS = (
    "account_id", "borrower_id", "borrower_name", "phone", "alt_phone", "language", "timezone",
    "product", "emi_amount", "overdue_amount", "principal_outstanding", "due_date", "dpd",
    "disbursal_date", "channel", "agency", "assigned_agent", "flags",
)  # fmt: skip

FIRST_NAMES = (
    "Aarav", "Aditi", "Akash", "Ananya", "Anil", "Anjali", "Arjun", "Deepa", "Divya", "Ganesh",
    "Gaurav", "Harish", "Ishita", "Kavita", "Kiran", "Lakshmi", "Manoj", "Meena", "Mohan",
    "Neha", "Nikhil", "Pooja", "Pradeep", "Priya", "Rahul", "Rajesh", "Ramesh", "Ravi", "Rekha",
    "Rohit", "Sachin", "Sanjay", "Sarita", "Shalini", "Sneha", "Sunil", "Sunita", "Suresh",
    "Swati", "Uma", "Vijay", "Vikram", "Vinod", "Yash", "Zoya", "Farhan", "Imran", "Salma",
    "Gurpreet", "Harpreet", "Joseph", "Mary", "Thomas", "Lalitha", "Venkatesh", "Murugan",
)  # fmt: skip
SURNAMES = (
    "Sharma", "Verma", "Gupta", "Singh", "Kumar", "Patel", "Shah", "Mehta", "Joshi", "Reddy",
    "Rao", "Naidu", "Iyer", "Nair", "Menon", "Pillai", "Das", "Bose", "Chatterjee", "Banerjee",
    "Mukherjee", "Ghosh", "Yadav", "Chauhan", "Thakur", "Mishra", "Pandey", "Tiwari", "Dubey",
    "Saxena", "Agarwal", "Jain", "Khan", "Qureshi", "Sheikh", "Gill", "Sandhu", "Fernandes",
    "D'Souza", "Kulkarni", "Deshpande", "Patil", "Pawar", "Gowda", "Hegde", "Naik",
)  # fmt: skip


@dataclass(frozen=True)
class Product:
    name: str
    emi_range: tuple[int, int]  # rupees
    tenure_months: tuple[int, int]
    share: float


PRODUCTS = (
    Product("Personal Loan", (3_000, 25_000), (12, 60), 0.30),
    Product("Two-Wheeler Loan", (2_500, 6_000), (12, 36), 0.18),
    Product("Consumer Durable Loan", (1_500, 8_000), (6, 24), 0.17),
    Product("Credit Card", (1_000, 20_000), (12, 12), 0.15),
    Product("Gold Loan", (2_000, 10_000), (6, 12), 0.08),
    Product("Business Loan", (10_000, 50_000), (12, 60), 0.07),
    Product("Home Loan", (15_000, 60_000), (120, 240), 0.05),
)
# Share of accounts and dpd range per bucket, shaped like a retail book in collections.
BUCKET_MIX = (
    (Bucket.STANDARD, 0.35, (0, 0)),
    (Bucket.SMA_0, 0.30, (1, 30)),
    (Bucket.SMA_1, 0.14, (31, 60)),
    (Bucket.SMA_2, 0.09, (61, 90)),
    (Bucket.NPA, 0.12, (91, 720)),
)
FLAG_RATES = (
    ("dnc", 0.010),
    ("dispute", 0.008),
    ("deceased", 0.002),
    ("fraud", 0.002),
    ("legal_hold", 0.004),
    ("non_workable", 0.003),
)
CHANNELS = (("branch", 0.35), ("dsa", 0.30), ("digital", 0.25), ("partner", 0.10))
AGENCIES = tuple(f"AG{n:02d}" for n in range(1, 7))
TELECALLERS = tuple(f"TC{n:03d}" for n in range(1, 41))
SECOND_ACCOUNT_RATE = 0.08  # share of accounts that belong to a borrower who has one already


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _mobile(rng: random.Random) -> str:
    """A random Indian mobile number that `phonenumbers` accepts as valid, in E.164."""
    while True:
        number = f"+91{rng.choice('6789')}{rng.randrange(10**8, 10**9)}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


def generate_accounts(count: int, *, seed: int, as_of: date) -> Iterator[dict[str, str]]:
    """`count` account rows as of `as_of`; the same (count, seed, as_of) gives the same rows."""
    rng = random.Random(seed)
    borrower: tuple[str, str, str, str] | None = None  # id, name, phone, language
    borrowers = 0
    for n in range(1, count + 1):
        if borrower is None or rng.random() >= SECOND_ACCOUNT_RATE:
            borrowers += 1
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
            language = "hi" if rng.random() < 0.35 else "en"
            borrower = (f"BRW{borrowers:07d}", name, _mobile(rng), language)
        borrower_id, name, phone, language = borrower

        product = rng.choices(PRODUCTS, weights=[p.share for p in PRODUCTS])[0]
        bucket, _share, (low, high) = rng.choices(BUCKET_MIX, weights=[b[1] for b in BUCKET_MIX])[0]
        dpd = (
            rng.randint(low, high)
            if bucket is not Bucket.NPA
            else min(720, 91 + int(rng.expovariate(1 / 120)))
        )
        emi = rng.randrange(product.emi_range[0], product.emi_range[1] + 1, 50)
        tenure = rng.randint(*product.tenure_months)
        paid_months = rng.randint(0, max(0, tenure - 1))
        overdue = emi * math.ceil(dpd / 30) if dpd else 0
        principal = round(emi * (tenure - paid_months) * rng.uniform(0.78, 0.92))
        due = (
            as_of + timedelta(days=rng.randint(1, 10)) if dpd == 0 else as_of - timedelta(days=dpd)
        )
        disbursal = as_of - timedelta(
            days=30 * (paid_months + math.ceil(dpd / 30)) + rng.randint(0, 29)
        )
        flags = [flag for flag, rate in FLAG_RATES if rng.random() < rate]
        worked_by_people = bucket in (Bucket.SMA_1, Bucket.SMA_2, Bucket.NPA)
        yield {
            "account_id": f"ACC{n:08d}",
            "borrower_id": borrower_id,
            "borrower_name": name,
            "phone": phone,
            "alt_phone": _mobile(rng) if rng.random() < 0.3 else "",
            "language": language,
            "timezone": "Asia/Kolkata" if rng.random() < 0.1 else "",
            "product": product.name,
            "emi_amount": f"{emi}.00",
            "overdue_amount": f"{overdue}.00",
            "principal_outstanding": f"{principal}.00",
            "due_date": due.isoformat(),
            "dpd": str(dpd),
            "disbursal_date": disbursal.isoformat(),
            "channel": _pick(rng, CHANNELS),
            "agency": rng.choice(AGENCIES) if bucket in (Bucket.SMA_2, Bucket.NPA) else "",
            "assigned_agent": rng.choice(TELECALLERS) if worked_by_people else "",
            "flags": ";".join(flags),
        }


def write_accounts_csv(out: TextIO, count: int, *, seed: int, as_of: date) -> None:
    writer = csv.DictWriter(out, fieldnames=ACCOUNT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(generate_accounts(count, seed=seed, as_of=as_of))
