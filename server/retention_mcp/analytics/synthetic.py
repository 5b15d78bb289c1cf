"""A synthetic subscription data set with known, planted effects, for the demo, the docs and the tests.

Planted effects (monthly churn hazard, before each customer's own random frailty):
- plan: month-to-month customers churn about 3.5x as often as annual ones (4.2% vs 1.2% a month);
- usage: customers in the lowest quarter of weekly usage churn about 2.2x as often;
- seats: none beyond what usage carries; region: none at all (a null effect the analysis must not "find").
Each customer's hazard is also multiplied by a Gamma(2, 1/2) frailty, so retention rises with tenure as the
riskiest customers leave first (what the sBG model captures). Signups run from 2023-01 to 2025-11; the data end
on 2025-12-31. `price` is what is billed each `billing_interval`: $12 per seat a month, or $120 per seat a year
(MRR $10 per seat).

    python -m retention_mcp.analytics.synthetic [--customers 5000] [--seed 7] OUT.csv
"""

from __future__ import annotations

import argparse
import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np

OBSERVATION_END = date(2025, 12, 31)
FIRST_SIGNUP = date(2023, 1, 1)
LAST_SIGNUP = date(2025, 11, 30)
HAZARD = {"monthly": 0.042, "annual": 0.012}
LOW_USAGE_MULTIPLIER = 2.2
REGIONS = ["north", "south", "east", "west"]
COLUMNS = [
    "customer_id", "signup_date", "cancel_date", "plan", "billing_interval", "seats", "usage_hours", "region", "price",
]  # fmt: skip


def generate(customers: int = 5000, seed: int = 7) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    span = (LAST_SIGNUP - FIRST_SIGNUP).days
    signup_offsets = rng.integers(0, span + 1, customers)
    plans = np.where(rng.random(customers) < 0.6, "monthly", "annual")
    usage = np.round(rng.gamma(2.5, 3.0, customers), 1)  # weekly hours
    low_usage = usage <= np.quantile(usage, 0.25)
    seats = np.maximum(1, np.round(1 + usage * rng.uniform(0.3, 0.9, customers))).astype(int)
    regions = rng.choice(REGIONS, customers)
    frailty = rng.gamma(2.0, 0.5, customers)
    hazard = np.array([HAZARD[p] for p in plans]) * np.where(low_usage, LOW_USAGE_MULTIPLIER, 1.0) * frailty
    hazard = np.clip(hazard, 1e-4, 0.95)
    months_to_churn = rng.geometric(hazard)  # churn happens during this month of the subscription (1-based)
    rows = []
    for i in range(customers):
        signup = FIRST_SIGNUP + timedelta(days=int(signup_offsets[i]))
        days = int((months_to_churn[i] - 1) * 30.4375 + rng.integers(1, 31))
        cancel = signup + timedelta(days=days)
        interval = "year" if plans[i] == "annual" else "month"
        price = 120.0 if plans[i] == "annual" else 12.0  # per seat and billing interval
        rows.append(
            {
                "customer_id": f"C{i + 1:05d}",
                "signup_date": signup.isoformat(),
                "cancel_date": cancel.isoformat() if cancel <= OBSERVATION_END else "",
                "plan": str(plans[i]),
                "billing_interval": interval,
                "seats": int(seats[i]),
                "usage_hours": float(usage[i]),
                "region": str(regions[i]),
                "price": round(price * int(seats[i]), 2),
            }
        )
    return rows


def write_csv(path: Path, customers: int = 5000, seed: int = 7) -> Path:
    rows = generate(customers, seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Write the synthetic subscription data set")
    parser.add_argument("out", type=Path)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    print(write_csv(options.out, options.customers, options.seed))
