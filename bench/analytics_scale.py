"""A full churn analysis at scale, against pandas and polars implementations of the same aggregates and lifetimes'
BG/NBD fit.

Generated on the fly (numpy, fixed seed) and written as CSV, the format users export:
  subscriptions: 1,000,000 customers (signup, cancel, plan, billing interval, seats, usage, region, price)
  transactions:  10,000,000 orders of 1,000,000 customers

Each run is a separate process, so its peak memory (max RSS) is its own:
  ours, subscriptions:  retention-mcp's analysis (DuckDB aggregates; Kaplan-Meier, log-rank, sBG, segments, risk
                        groups, MRR)
  pandas, subscriptions: read_csv plus the same aggregates (monthly churn, cohorts, segment rates, risk-group
                        pairs, the tenure counts Kaplan-Meier, log-rank and sBG start from, MRR); no model fitting
  ours, transactions:   RFM summary in DuckDB, BG/NBD fit, expected purchases, P(alive), RFM scores
  pandas, transactions: read_csv plus the RFM summary
  polars:               the same two baselines in polars (eager, every core): a second, multi-threaded baseline
  lifetimes:            BetaGeoFitter.fit on the RFM summary alone (summary computed beforehand, not timed)

Targets: ours faster than the baselines, and a lower peak memory than pandas and polars on the same data (the
order analysis caps DuckDB's memory for its per-day aggregation, which spills beyond that). Needs the test extra (pandas,
polars, lifetimes): make bench.

    python bench/analytics_scale.py [--customers 1000000] [--orders 10000000] [--keep DIR] [--repeat 3]
                                    [--against CHECKOUT [--only subscriptions|transactions]]

With --against, only retention-mcp's two analyses run, from this checkout and from another one (an earlier commit,
say), taking turns so that both see the same machine; the ratios say what the changes in between cost.

Each measurement is the fastest of --repeat runs, the implementations taking turns. The default limits of the analysis (analytics/limits.py) are
measured against the same analysis with the limits all but switched off.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEED = 11


def generate(folder: Path, customers: int, orders: int) -> tuple[Path, Path]:
    import duckdb
    import pandas as pd

    rng = np.random.default_rng(SEED)
    start = np.datetime64("2023-01-01")
    end = np.datetime64("2025-12-31")
    signup = start + rng.integers(0, 1060, customers).astype("timedelta64[D]")
    plan = np.where(rng.random(customers) < 0.6, "monthly", "annual")
    usage = np.round(rng.gamma(2.5, 3.0, customers), 1)
    hazard = np.where(plan == "monthly", 0.042, 0.012) * np.where(usage < 4, 2.2, 1.0) * rng.gamma(2.0, 0.5, customers)
    months = rng.geometric(np.clip(hazard, 1e-4, 0.95))
    cancel = signup + ((months - 1) * 30.44 + rng.integers(1, 31, customers)).astype("timedelta64[D]")
    cancel_text = np.where(cancel <= end, cancel.astype(str), "")
    seats = np.maximum(1, np.round(1 + usage * rng.uniform(0.3, 0.9, customers))).astype(int)
    subscriptions = pd.DataFrame(
        {
            "customer_id": np.char.add("C", np.arange(customers).astype(str)),
            "signup_date": signup.astype(str),
            "cancel_date": cancel_text,
            "plan": plan,
            "billing_interval": np.where(plan == "annual", "year", "month"),
            "seats": seats,
            "usage_hours": usage,
            "region": rng.choice(np.array(["north", "south", "east", "west"]), customers),
            "price": np.where(plan == "annual", 120.0, 12.0) * seats,
        }
    )
    # repeat buying as BG/NBD describes it: Poisson purchases at a customer's own rate, and after each purchase a
    # customer-specific chance of lapsing for good. Rates and lapse chances are tuned for about ten orders each.
    rate = rng.gamma(2.0, 0.1, customers)  # purchases per day while active
    lapse = rng.beta(3.0, 24.0 * orders / customers / 10, customers)
    repeats = rng.geometric(lapse) - 1
    owner = np.repeat(np.arange(customers), repeats)
    elapsed = np.cumsum(rng.exponential(1.0, repeats.sum()) / rate[owner])
    before = np.concatenate(([0.0], elapsed))[np.cumsum(repeats) - repeats]
    first = rng.integers(0, 180, customers)
    repeat_day = first[owner] + (elapsed - np.repeat(before, repeats))
    keep = repeat_day <= 720
    buyer = np.concatenate((np.arange(customers), owner[keep]))
    day = np.datetime64("2024-01-01") + np.concatenate((first, repeat_day[keep])).astype("timedelta64[D]")
    orders = buyer.size
    transactions = pd.DataFrame(
        {
            "customer_id": np.char.add("C", buyer.astype(str)),
            "order_date": day.astype(str),
            "amount": np.round(rng.gamma(2.0, 20.0, orders), 2),
        }
    )
    con = duckdb.connect()
    paths = folder / "subscriptions.csv", folder / "transactions.csv"
    for frame, path in zip((subscriptions, transactions), paths, strict=True):
        con.register("frame", frame)
        con.execute(f"COPY frame TO '{path}' (HEADER, DELIMITER ',')")
        con.unregister("frame")
    return paths


# -- the runs, each in its own process --------------------------------------------------------------------------------
def run_ours(path: Path) -> dict:
    from retention_mcp.analytics.engine import AnalysisRequest, analyze

    report = analyze(AnalysisRequest(path=path.name), [path.parent]).report
    return {"customers": report.customers, "mode": report.mode}


def run_pandas_subscriptions(path: Path) -> dict:
    """The aggregates our analysis computes, in pandas: churn per month, cohorts, churn by segment (quartiles for
    numeric columns), pairs of segments for risk groups, tenure counts per segment (the input of Kaplan-Meier and
    the log-rank test), whole-month tenure counts (the input of sBG) and MRR over the last 12 months."""
    import pandas as pd

    df = pd.read_csv(path, parse_dates=["signup_date", "cancel_date"])
    df["churned"] = df["cancel_date"].notna()
    observation_end = df[["signup_date", "cancel_date"]].max().max()
    df["tenure_months"] = ((df["cancel_date"].fillna(observation_end) - df["signup_date"]).dt.days) / (365.25 / 12)
    start_month = df["signup_date"].dt.to_period("M")
    end_month = df["cancel_date"].dt.to_period("M")
    grid = pd.crosstab(start_month, end_month.astype(str))  # cohorts x end month
    starts = start_month.value_counts().sort_index()
    ended = end_month.value_counts().sort_index()
    months = pd.period_range(starts.index.min(), observation_end, freq="M")
    starts = starts.reindex(months, fill_value=0)
    ended = ended.reindex(months, fill_value=0)
    same = df[start_month == end_month].groupby(start_month).size().reindex(months, fill_value=0)
    at_start = starts.cumsum().shift(fill_value=0) - ended.cumsum().shift(fill_value=0)
    churn_rate = ((ended - same) / at_start.replace(0, np.nan)).fillna(0)
    keys = {c: df[c].astype(str) for c in ("plan", "region", "billing_interval")}
    keys |= {c: pd.qcut(df[c], 4, duplicates="drop").astype(str) for c in ("usage_hours", "seats")}
    base = df["churned"].mean()
    rounded = df["tenure_months"].round(2)
    segments, survival_inputs = {}, {}
    for column, key in keys.items():
        g = df.groupby(key)["churned"].agg(["size", "sum"])
        segments[column] = (g["sum"] / g["size"] / base).to_dict()
        survival_inputs[column] = df.groupby([key, rounded])["churned"].agg(["size", "sum"])
    overall = df.groupby(rounded)["churned"].agg(["size", "sum"])
    sbg_input = df.groupby([np.floor(df["tenure_months"]), "churned"]).size()
    pairs = {
        (a, b): df.groupby([keys[a], keys[b]])["churned"].agg(["size", "sum"])
        for a, b in (("plan", "usage_hours"), ("plan", "seats"), ("usage_hours", "seats"))
    }
    mrr = df["price"] / np.where(df["billing_interval"] == "year", 12, 1)
    window = pd.Timestamp(observation_end) - pd.DateOffset(months=12)
    active_at_window = (df["signup_date"] < window) & (df["cancel_date"].isna() | (df["cancel_date"] >= window))
    churned_mrr = mrr[active_at_window & df["cancel_date"].notna()].sum()
    return {
        "customers": len(df),
        "months": len(churn_rate),
        "cohorts": grid.shape[0],
        "groups": sum(len(v) for v in survival_inputs.values()) + len(overall) + len(sbg_input),
        "pairs": sum(len(v) for v in pairs.values()),
        "grr": float(1 - churned_mrr / mrr[active_at_window].sum()),
    }


def rfm_summary_pandas(path: Path):
    import pandas as pd

    tx = pd.read_csv(path, parse_dates=["order_date"])
    end = tx["order_date"].max()
    g = tx.groupby("customer_id").agg(
        first=("order_date", "min"),
        last=("order_date", "max"),
        days=("order_date", "nunique"),
        monetary=("amount", "sum"),
    )
    x = (g["days"] - 1).to_numpy(float)
    t_x = ((g["last"] - g["first"]).dt.days / 7).to_numpy(float)
    T = ((end - g["first"]).dt.days / 7).to_numpy(float)
    return x, t_x, T


def run_pandas_transactions(path: Path) -> dict:
    x, _, _ = rfm_summary_pandas(path)
    return {"customers": int(x.size)}


def run_lifetimes(summary: Path) -> dict:
    from lifetimes import BetaGeoFitter

    data = np.load(summary)
    fit = BetaGeoFitter().fit(data[0], data[1], data[2])
    return {k: round(float(v), 4) for k, v in fit.params_.items()}


def run_polars_subscriptions(path: Path) -> dict:
    """The same aggregates as run_pandas_subscriptions, in polars (eager, all cores)."""
    import polars as pl

    df = pl.read_csv(path, schema_overrides={"signup_date": pl.Date, "cancel_date": pl.Date})
    observation_end = max(df["signup_date"].max(), df["cancel_date"].max())
    df = df.with_columns(
        churned=pl.col("cancel_date").is_not_null(),
        tenure_months=(pl.col("cancel_date").fill_null(observation_end) - pl.col("signup_date")).dt.total_days()
        / (365.25 / 12),
        start_month=pl.col("signup_date").dt.truncate("1mo"),
        end_month=pl.col("cancel_date").dt.truncate("1mo"),
    )
    grid = df.group_by("start_month", "end_month").len()  # cohorts x end month
    months = pl.date_range(df["start_month"].min(), observation_end, "1mo", eager=True).alias("month")
    frame = pl.DataFrame(months)
    starts = df.group_by(pl.col("start_month").alias("month")).len("starts")
    ended = df.drop_nulls("end_month").group_by(pl.col("end_month").alias("month")).len("ended")
    same = df.filter(pl.col("start_month") == pl.col("end_month")).group_by(pl.col("start_month").alias("month"))
    monthly = (
        frame.join(starts, on="month", how="left")
        .join(ended, on="month", how="left")
        .join(same.len("same"), on="month", how="left")
        .fill_null(0)
        .sort("month")
        .with_columns(
            at_start=(pl.col("starts").cum_sum() - pl.col("ended").cum_sum()).shift(1, fill_value=0),
        )
        .with_columns(churn_rate=((pl.col("ended") - pl.col("same")) / pl.col("at_start")).fill_nan(0).fill_null(0))
    )

    def quartiles(column: str) -> pl.Expr:
        return pl.col(column).qcut(4, allow_duplicates=True).cast(pl.String)

    keys = {c: pl.col(c).cast(pl.String) for c in ("plan", "region", "billing_interval")}
    keys |= {c: quartiles(c) for c in ("usage_hours", "seats")}
    df = df.with_columns(**{f"key_{c}": e for c, e in keys.items()}, rounded=pl.col("tenure_months").round(2))
    base = df["churned"].mean()
    counts = [pl.len().alias("size"), pl.col("churned").sum().alias("sum")]
    segments, survival_inputs = {}, {}
    for column in keys:
        g = df.group_by(f"key_{column}").agg(counts)
        segments[column] = g.with_columns(lift=pl.col("sum") / pl.col("size") / base)
        survival_inputs[column] = df.group_by(f"key_{column}", "rounded").agg(counts)
    overall = df.group_by("rounded").agg(counts)
    sbg_input = df.group_by(pl.col("tenure_months").floor(), "churned").len()
    pairs = {
        (a, b): df.group_by(f"key_{a}", f"key_{b}").agg(counts)
        for a, b in (("plan", "usage_hours"), ("plan", "seats"), ("usage_hours", "seats"))
    }
    window = observation_end.replace(year=observation_end.year - 1)
    mrr = pl.col("price") / pl.when(pl.col("billing_interval") == "year").then(12).otherwise(1)
    active = (pl.col("signup_date") < window) & (pl.col("cancel_date").is_null() | (pl.col("cancel_date") >= window))
    money = df.select(
        all=mrr.filter(active).sum(), churned=mrr.filter(active & pl.col("cancel_date").is_not_null()).sum()
    )
    return {
        "customers": df.height,
        "months": monthly.height,
        "cohorts": grid["start_month"].n_unique(),
        "groups": sum(v.height for v in survival_inputs.values()) + overall.height + sbg_input.height,
        "pairs": sum(v.height for v in pairs.values()),
        "grr": float(1 - money["churned"][0] / money["all"][0]),
    }


def run_polars_transactions(path: Path) -> dict:
    """The RFM summary of rfm_summary_pandas, in polars."""
    import polars as pl

    tx = pl.read_csv(path, schema_overrides={"order_date": pl.Date})
    end = tx["order_date"].max()
    g = tx.group_by("customer_id").agg(
        first=pl.col("order_date").min(),
        last=pl.col("order_date").max(),
        days=pl.col("order_date").n_unique(),
        monetary=pl.col("amount").sum(),
    )
    summary = g.select(
        x=pl.col("days") - 1,
        t_x=(pl.col("last") - pl.col("first")).dt.total_days() / 7,
        T=(pl.lit(end) - pl.col("first")).dt.total_days() / 7,
    ).to_numpy()
    return {"customers": int(summary.shape[0])}


RUNS = {
    "ours": run_ours,
    "pandas-subscriptions": run_pandas_subscriptions,
    "pandas-transactions": run_pandas_transactions,
    "polars-subscriptions": run_polars_subscriptions,
    "polars-transactions": run_polars_transactions,
    "lifetimes": run_lifetimes,
}


def peak_memory_mb() -> float:
    """This process's peak resident memory. VmHWM starts afresh at exec, unlike ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def child(kind: str, path: Path) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    result = RUNS[kind](path)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = peak_memory_mb()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak_mb, "result": result}))


# The analysis limits (retention_mcp/analytics/limits.py) all but switched off, to measure what they cost.
UNBOUNDED = {
    "RETENTION_MCP_MAX_LINE_KB": str(10**9),  # no line-length scan
    "RETENTION_MCP_MAX_FILE_MB": str(10**9),
    "RETENTION_MCP_MAX_DECOMPRESSED_MB": str(10**9),
    "RETENTION_MCP_DUCKDB_MEMORY": "1000GB",
    "RETENTION_MCP_DUCKDB_THREADS": str(os.cpu_count() or 1),
    "RETENTION_MCP_ANALYSIS_TIMEOUT": str(10**9),
}


def measure(kind: str, path: Path, limits: dict[str, str] | None = None, tree: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")} | (limits or {})
    if tree is not None:  # retention_mcp from that checkout's server/ folder, ahead of the installed one
        env["PYTHONPATH"] = os.pathsep.join([str(tree / "server"), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)], capture_output=True, text=True, check=False, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def against(other: Path, subscriptions: Path, transactions: Path, repeat: int, only: str | None = None) -> None:
    """This checkout's analyses against another checkout's, runs taking turns; the fastest of each counts, and the
    lowest CPU time (every thread) and peak memory, which a busy machine disturbs less than the time."""
    here = Path(__file__).resolve().parents[1]
    for label, path in (("subscriptions", subscriptions), ("transactions", transactions)):
        if only and label != only:
            continue
        runs: dict[str, list[dict]] = {"this": [], "other": []}
        for _ in range(repeat):
            runs["other"].append(measure("ours", path, tree=other))
            runs["this"].append(measure("ours", path, tree=here))
        best = {
            side: {k: min(r[k] for r in done) for k in ("seconds", "cpu_seconds", "peak_mb")}
            for side, done in runs.items()
        }
        this, that = best["this"], best["other"]
        shown = {side: ", ".join(f"{r['seconds']:.2f}" for r in done) for side, done in runs.items()}
        print(
            f"{label:<15} this checkout {this['seconds']:6.2f} s, {other} {that['seconds']:6.2f} s (best of {repeat}): "
            f"{this['seconds'] / that['seconds']:.2f}x; CPU {this['cpu_seconds']:.2f} s against "
            f"{that['cpu_seconds']:.2f} s: {this['cpu_seconds'] / that['cpu_seconds']:.2f}x; peak memory "
            f"{this['peak_mb']:.0f} MB against {that['peak_mb']:.0f} MB: {this['peak_mb'] / that['peak_mb']:.2f}x  "
            f"[all runs: this {shown['this']}; other {shown['other']}]",
            flush=True,
        )


def main(
    customers: int, orders: int, keep: Path | None, repeat: int = 3, other: Path | None = None, only: str | None = None
) -> None:
    folder = keep or Path(tempfile.mkdtemp(prefix="retention-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    subscriptions, transactions, summary = folder / "subscriptions.csv", folder / "transactions.csv", folder / "rfm.npy"
    if not (keep and subscriptions.exists() and transactions.exists() and summary.exists()):
        print(f"generating {customers:,} customers and {orders:,} orders in {folder} ...", flush=True)
        subprocess.run([sys.executable, __file__, "--generate", str(folder), str(customers), str(orders)], check=True)
    if other is not None:
        against(other.resolve(), subscriptions, transactions, repeat, only)
    else:
        compare(subscriptions, transactions, summary, repeat)
    if keep is None:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def compare(subscriptions: Path, transactions: Path, summary: Path, repeat: int) -> None:
    runs = {
        "subscriptions": {
            "retention-mcp (full analysis)": ("ours", subscriptions, None),
            "pandas (same aggregates, no model fits)": ("pandas-subscriptions", subscriptions, None),
            "polars (same aggregates, no model fits)": ("polars-subscriptions", subscriptions, None),
            # what the limits cost: the same analysis with the limits all but switched off
            "retention-mcp, limits off": ("ours", subscriptions, UNBOUNDED),
        },
        "transactions": {
            "retention-mcp (RFM + BG/NBD fit)": ("ours", transactions, None),
            "pandas (RFM summary only)": ("pandas-transactions", transactions, None),
            "polars (RFM summary only)": ("polars-transactions", transactions, None),
            "lifetimes (BG/NBD fit only)": ("lifetimes", summary, None),
            "retention-mcp, limits off": ("ours", transactions, UNBOUNDED),
        },
    }
    # every implementation once per round, rounds taking turns, so that a busy spell on a shared machine hits all
    # of them alike; the fastest run of each counts
    measured: dict[str, dict[str, dict]] = {data: {} for data in runs}
    for _ in range(repeat):
        for data, implementations in runs.items():
            for name, (kind, path, limits) in implementations.items():
                m = measure(kind, path, limits)
                if name not in measured[data] or m["seconds"] < measured[data][name]["seconds"]:
                    measured[data][name] = m
    print(f"\n{'data':<15}{'implementation (best of ' + str(repeat) + ')':<42}{'seconds':>10}{'peak MB':>10}")
    for data, runs in measured.items():
        for name, m in runs.items():
            print(f"{data:<15}{name:<42}{m['seconds']:>10.2f}{m['peak_mb']:>10.0f}")
    print()
    for data, runs in measured.items():
        ours, *baselines = (m for name, m in runs.items() if "limits off" not in name)
        names = [name.split(" (")[0] for name in runs if "limits off" not in name][1:]
        for name, base in zip(names, baselines, strict=True):
            time_ratio = ours["seconds"] / base["seconds"]
            verdict = "(faster: OK)" if time_ratio < 1 else "(SLOWER than the baseline)"
            line = f"  {data}: retention-mcp / {name}: time {time_ratio:.2f}x {verdict}"
            if name != "lifetimes":  # the fit runs on a summary computed beforehand: its memory is not comparable
                memory_ratio = ours["peak_mb"] / base["peak_mb"]
                line += f", peak memory {memory_ratio:.2f}x {'(lower: OK)' if memory_ratio < 1 else '(HIGHER)'}"
            print(line)
    limited = [measured[d][n] for d, n in (("subscriptions", "retention-mcp (full analysis)"),
                                           ("transactions", "retention-mcp (RFM + BG/NBD fit)"))]  # fmt: skip
    free = [measured[d]["retention-mcp, limits off"] for d in ("subscriptions", "transactions")]
    print(
        "  cost of the default limits (line scan, memory and thread caps, size checks): subscriptions "
        f"{limited[0]['seconds'] / free[0]['seconds']:.2f}x, transactions "
        f"{limited[1]['seconds'] / free[1]['seconds']:.2f}x the same analysis with limits off"
    )
    print(f"  BG/NBD parameters, lifetimes: {measured['transactions']['lifetimes (BG/NBD fit only)']['result']}")
    pandas_grr = measured["subscriptions"]["pandas (same aggregates, no model fits)"]["result"]["grr"]
    polars_grr = measured["subscriptions"]["polars (same aggregates, no model fits)"]["result"]["grr"]
    print(
        f"  GRR of the two baselines (a check they compute the same): pandas {pandas_grr:.4f}, polars {polars_grr:.4f}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--generate":  # in its own process, so the parent stays small
        out = Path(sys.argv[2])
        generate(out, int(sys.argv[3]), int(sys.argv[4]))
        np.save(out / "rfm.npy", np.vstack(rfm_summary_pandas(out / "transactions.csv")))
        raise SystemExit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--keep", type=Path, help="write the generated files here and keep them")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the fastest counts")
    parser.add_argument(
        "--against", type=Path, metavar="CHECKOUT", help="compare with the analysis of another checkout"
    )
    parser.add_argument("--only", choices=["subscriptions", "transactions"], help="with --against: one analysis only")
    options = parser.parse_args()
    main(options.customers, options.orders, options.keep, options.repeat, options.against, options.only)
