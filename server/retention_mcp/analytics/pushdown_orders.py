"""Order data in a database table: the RFM summary, the pooled BG/NBD counts, the holdout counts and the RFM scores
as Ibis expressions aggregated where the orders live. Customers with the same (x, t_x, T) are one row, so what comes
back is a few thousand rows for millions of orders; the BG/NBD fit runs here on them, as for a file."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from retention_mcp.analytics.expressions import _date, _number, integer_dates_checked
from retention_mcp.analytics.loading import DataError, Mapping
from retention_mcp.analytics.report import RFM, Absent, ChurnReport
from retention_mcp.analytics.request import AnalysisRequest, Progress, parse_day
from retention_mcp.analytics.transactions import bgnbd_from_counts
from retention_mcp.analytics.warehouse import Warehouse


def is_orders(mapping: Mapping) -> bool:
    roles = mapping.roles
    return bool(roles.get("transaction_date")) and not any(
        roles.get(r) for r in ("start_date", "end_date", "churned", "tenure")
    )


# -- the aggregates an order table sends back (tests/unit/test_warehouse_sql.py compiles each for every dialect) -------
def orders_expr(t: Any, mapping: Mapping) -> Any:
    """One row per order with a date: the customer id as text and the day."""
    roles = mapping.roles
    orders = t.select(customer_id=t[roles["customer_id"]].cast("string"), day=_date(t, roles["transaction_date"]))
    return orders.filter(orders.day.notnull())


def rfm_expr(orders: Any, end: date) -> Any:
    """One row per customer who bought by `end`: repeat purchase days x, t_x and T in days, recency in days."""
    import ibis

    last = ibis.literal(end)
    seen = orders.filter(orders.day <= last)
    day = seen.day
    return seen.group_by("customer_id").aggregate(
        x=day.nunique() - 1,
        tx_days=day.max().delta(day.min(), unit="day"),
        T_days=last.delta(day.min(), unit="day"),
        recency_days=last.delta(day.max(), unit="day"),
    )


def calibration_expr(orders: Any, end: date, fit_end: date) -> Any:
    """The same summary as of `fit_end`, with each customer's purchase days after it up to `end` (the holdout)."""
    import ibis

    last, cal = ibis.literal(end), ibis.literal(fit_end)
    seen = orders.filter(orders.day <= last)
    day = seen.day
    before = day <= cal
    return (
        seen.group_by("customer_id")
        .aggregate(
            x=day.nunique(where=before) - 1,
            tx_days=day.max(where=before).delta(day.min(), unit="day"),
            T_days=cal.delta(day.min(), unit="day"),
            holdout=day.nunique(where=~before),
            first=day.min(),
        )
        .filter(lambda c: c.first <= cal)
    )


def pooled_expr(per_customer: Any, extra: tuple[str, ...] = ()) -> Any:
    """Customers with the same (x, t_x, T) (and `extra`) as one row with their number: what the BG/NBD fit needs."""
    keys = ["x", "tx_days", "T_days", *extra]
    return per_customer.group_by(keys).aggregate(n=per_customer.count()).order_by(keys)


def rfm_groups_expr(rfm: Any, customers: int) -> Any:
    """RFM scores 1..5 by rank (ibis.rank() counts from 0): recent, frequent customers score high; ties share a score.
    Champions, at-risk and hibernating customers counted."""
    import ibis

    n = max(customers, 1)
    scored = rfm.select(
        r=1 + (5 * ibis.rank().over(order_by=ibis.desc(rfm.recency_days))) // n,
        f=1 + (5 * ibis.rank().over(order_by=rfm.x)) // n,
    )
    return scored.aggregate(
        champions=((scored.r == 5) & (scored.f >= 4)).sum(),
        at_risk=((scored.r <= 2) & (scored.f >= 4)).sum(),
        hibernating=((scored.r <= 2) & (scored.f <= 2)).sum(),
    )


def _pooled(wh: Warehouse, per_customer: Any, extra: tuple[str, ...] = ()) -> dict:
    rows = wh.fetch(pooled_expr(per_customer, extra))
    return {k: np.asarray(v, dtype=float) for k, v in rows.items()}


def analyze_orders(wh: Warehouse, mapping: Mapping, say: Progress, request: AnalysisRequest) -> ChurnReport:
    import ibis

    t, roles = wh.table, mapping.roles
    if not roles.get("customer_id"):
        raise DataError(
            f"Orders need a customer id column; columns found: {', '.join(t.columns)}. Name it with --map "
            f"customer_id=COLUMN / 订单需要客户编号列"
        )
    if roles.get("amount"):
        _number(t, roles["amount"])  # a numeric column, as for a file (RFM and BG/NBD count purchase days)
    integer_dates_checked(wh, t, [roles["transaction_date"]])
    orders = orders_expr(t, mapping)
    say("Summarising transactions in the database (RFM)")
    as_of = parse_day(request.as_of, "as_of")
    today = request.today or date.today()
    cut = ibis.literal(as_of or today)
    first = wh.one(orders.aggregate(latest=orders.day.max(where=orders.day <= cut), later=(orders.day > cut).sum()))
    if as_of is None and first["latest"] is None:
        raise DataError(
            f"Every purchase date is after today ({today}); pass the observation end with --as-of YYYY-MM-DD "
            f"(tool: as_of) / 所有购买日期都晚于今天,请用 --as-of 指定观察截止日"
        )
    observation_end = as_of or first["latest"]
    notes = [f"aggregated in the database: {wh.source} / 在数据库中聚合:{wh.source}"]
    if first["later"]:
        notes.append(
            f"{first['later']} order(s) after the observation end ({observation_end}) are left out / "
            f"{first['later']} 笔订单晚于观察截止日({observation_end}),未计入"
        )
    calibration_end = parse_day(request.calibration_end, "calibration_end")
    fit_end = min(calibration_end, observation_end) if calibration_end else observation_end
    rfm = rfm_expr(orders, observation_end)
    customers = int(wh.one(rfm.aggregate(n=rfm.count()))["n"])
    report = ChurnReport(
        source=wh.source,
        rows=int(wh.one(t.aggregate(n=t.count()))["n"]),
        mode="transactions",
        columns=dict(roles),
        observation_end=str(observation_end),
        customers=customers,
        notes=notes,
    )
    say("Fitting BG/NBD")
    now = _pooled(wh, rfm)
    pooled, holdout_rows = now, None
    if calibration_end:
        calibration = calibration_expr(orders, observation_end, fit_end)
        pooled = _pooled(wh, calibration)
        if fit_end < observation_end:
            holdout_rows = _pooled(wh, calibration, ("holdout",))
            holdout_rows["actual"], holdout_rows["customers"] = holdout_rows.pop("holdout"), holdout_rows.pop("n")
    bgnbd_from_counts(report, pooled, now, holdout_rows, fit_end, observation_end, calibration_end)
    groups = wh.one(rfm_groups_expr(rfm, customers))
    report.rfm = RFM(customers=customers, **{k: int(v or 0) for k, v in groups.items()})
    report.absent += [
        Absent(name=name, reason="transaction data: no subscription start and end / 交易数据:没有订阅的开始与结束")
        for name in ("churn_rate", "periods", "cohorts", "survival", "segments", "sbg", "mrr")
    ]
    return report
