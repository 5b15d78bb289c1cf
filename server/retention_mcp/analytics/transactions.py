"""Order data: the RFM summary in DuckDB, the BG/NBD fit, expected purchases, P(alive), RFM scores and the holdout
check against a calibration end."""

from __future__ import annotations

from datetime import date

from retention_mcp.analytics.loading import (
    DataError,
    Mapping,
    Table,
    quote,
)
from retention_mcp.analytics.numbers import (
    amount_reading,
)
from retention_mcp.analytics.report import (
    BGNBD,
    RFM,
    Absent,
    ChurnReport,
    Holdout,
    HoldoutRow,
)
from retention_mcp.analytics.request import HOLDOUT_FREQUENCIES, AnalysisRequest, Progress, parse_day
from retention_mcp.analytics.values import (
    date_expression,
)


def analyze_transactions(table: Table, mapping: Mapping, say: Progress, request: AnalysisRequest) -> ChurnReport:
    roles = mapping.roles
    con = table.con
    cid = quote(roles["customer_id"])
    notes: list[str] = []
    day = date_expression(table, roles["transaction_date"], request.date_format, request.timezone, notes)
    spent = amount_reading(table, roles["amount"], request.decimal) if roles.get("amount") else None
    amount = spent.expression if spent else "1.0"
    notes += spent.notes if spent else []
    say("Summarising transactions (RFM)")
    con.execute(
        f"CREATE TEMP VIEW orders AS SELECT CAST({cid} AS VARCHAR) AS customer_id, {day} AS day, {amount} AS spent "
        f"FROM data WHERE {day} IS NOT NULL"
    )
    as_of = parse_day(request.as_of, "as_of")
    today = request.today or date.today()
    # one scan: the latest purchase not after the cut, and the orders after it (none lie between the two)
    latest, later = con.execute(
        "SELECT max(day) FILTER (WHERE day <= ?), count(*) FILTER (WHERE day > ?) FROM orders",
        [as_of or today, as_of or today],
    ).fetchone()
    if as_of is None and latest is None:
        raise DataError(
            f"Every purchase date is after today ({today}); pass the observation end with --as-of YYYY-MM-DD "
            f"(tool: as_of) / 所有购买日期都晚于今天,请用 --as-of 指定观察截止日"
        )
    observation_end = as_of or latest
    if later:
        notes.append(
            f"{later} order(s) after the observation end ({observation_end}) are left out / "
            f"{later} 笔订单晚于观察截止日({observation_end}),未计入"
        )
    calibration_end = parse_day(request.calibration_end, "calibration_end")
    fit_end = min(calibration_end, observation_end) if calibration_end else observation_end
    end = f"DATE '{observation_end}'"
    cap_memory(con)
    # per customer, straight from the orders: purchase days (several orders on one day are one transaction)
    con.execute(
        f"CREATE TABLE rfm AS SELECT customer_id, count(DISTINCT day) - 1 AS x, "
        f"date_diff('day', min(day), max(day)) AS tx_days, date_diff('day', min(day), {end}) AS T_days, "
        f"date_diff('day', max(day), {end}) AS recency_days, sum(spent) AS monetary FROM orders "
        f"WHERE day <= {end} GROUP BY customer_id"
    )
    if calibration_end:
        cal = f"DATE '{fit_end}'"
        con.execute(
            f"CREATE TABLE calibration AS SELECT customer_id, count(DISTINCT day) FILTER (WHERE day <= {cal}) - 1 AS x, "
            f"date_diff('day', min(day), max(day) FILTER (WHERE day <= {cal})) AS tx_days, "
            f"date_diff('day', min(day), {cal}) AS T_days, "
            f"count(DISTINCT day) FILTER (WHERE day > {cal}) AS holdout FROM orders WHERE day <= {end} "
            f"GROUP BY customer_id HAVING min(day) <= {cal}"
        )
    con.execute("DROP VIEW orders")
    con.execute("DROP TABLE data")  # the fit below needs memory more than the orders
    customers = con.execute("SELECT count(*) FROM rfm").fetchone()[0]
    report = ChurnReport(
        source=table.source,
        rows=table.rows,
        mode="transactions",
        columns=dict(roles),
        observation_end=str(observation_end),
        customers=int(customers),
        notes=notes,
    )
    say("Fitting BG/NBD")
    fit_table = "calibration" if calibration_end else "rfm"
    # customers with the same (x, t_x, T) share one likelihood term: fit on the pooled rows
    pooled = con.execute(
        f"SELECT x, tx_days, T_days, count(*) AS n FROM {fit_table} GROUP BY ALL ORDER BY ALL"
    ).fetchnumpy()
    now = (
        con.execute("SELECT x, tx_days, T_days, count(*) AS n FROM rfm GROUP BY ALL ORDER BY ALL").fetchnumpy()
        if calibration_end
        else pooled
    )
    holdout_rows = (
        con.execute(
            "SELECT x, tx_days, T_days, holdout AS actual, count(*) AS customers FROM calibration GROUP BY ALL "
            "ORDER BY ALL"
        ).fetchnumpy()
        if calibration_end and fit_end < observation_end
        else None
    )
    bgnbd_from_counts(report, pooled, now, holdout_rows, fit_end, observation_end, calibration_end)
    # RFM scores 1..5 by rank: recent, frequent customers score high; tied customers share a score
    champions, at_risk, hibernating = con.execute(
        "WITH s AS (SELECT 1 + (5 * (rank() OVER (ORDER BY recency_days DESC) - 1)) // n AS r, "
        "1 + (5 * (rank() OVER (ORDER BY x) - 1)) // n AS f FROM rfm, (SELECT count(*) AS n FROM rfm)) "
        "SELECT count(*) FILTER (WHERE r = 5 AND f >= 4), count(*) FILTER (WHERE r <= 2 AND f >= 4), "
        "count(*) FILTER (WHERE r <= 2 AND f <= 2) FROM s"
    ).fetchone()
    report.rfm = RFM(customers=int(customers), champions=champions, at_risk=at_risk, hibernating=hibernating)
    report.absent += [
        Absent(name=name, reason="transaction data: no subscription start and end / 交易数据:没有订阅的开始与结束")
        for name in ("churn_rate", "periods", "cohorts", "survival", "segments", "sbg", "mrr")
    ]
    return report


def bgnbd_from_counts(
    report: ChurnReport, pooled, now, holdout_rows, fit_end, observation_end, calibration_end
) -> None:
    """The BG/NBD fit and its holdout check from pooled (x, tx_days, T_days, n) counts, wherever they were counted."""
    from retention_mcp.analytics.repeat_buying import fit_bgnbd

    if pooled["n"].size == 0:
        raise DataError(
            f"calibration_end: no purchase on or before {fit_end} / calibration_end 之前(含当天)没有购买记录"
        )
    x, t_x, T = pooled["x"].astype(float), pooled["tx_days"] / 7.0, pooled["T_days"] / 7.0
    weights = pooled["n"].astype(float)
    fit = fit_bgnbd(x, t_x, T, weights)
    nx, ntx, nT, nw = now["x"].astype(float), now["tx_days"] / 7.0, now["T_days"] / 7.0, now["n"].astype(float)
    expected = fit.expected_purchases(12.0, nx, ntx, nT)
    alive = fit.alive_probability(nx, ntx, nT)
    report.bgnbd = BGNBD(
        r=round(fit.r, 6),
        alpha=round(fit.alpha, 6),
        a=round(fit.a, 6),
        b=round(fit.b, 6),
        log_likelihood=round(fit.log_likelihood, 4),
        customers=fit.customers,
        expected_purchases_next_12_weeks=round(float(nw @ expected), 2),
        share_probably_inactive=round(float(nw @ (alive < 0.5) / report.customers), 4),
        calibration_end=str(fit_end) if calibration_end else None,
    )
    if calibration_end and fit_end < observation_end:
        report.bgnbd.holdout = holdout_from_counts(holdout_rows, fit, fit_end, observation_end)
    elif calibration_end:
        report.absent.append(
            Absent(
                name="bgnbd.holdout",
                reason=f"no data after the calibration end ({calibration_end}) / 校准截止日之后没有数据",
            )
        )


UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


MIN_AGGREGATION_MEMORY = 256 * 2**20


def cap_memory(con) -> None:
    """Let the per-day aggregation of orders hold at most as much memory again as the orders themselves (it spills
    to disk beyond that): the order table is already in memory, and the aggregation of ten million orders would
    otherwise double the peak. A lower limit set before is kept."""
    used = con.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()").fetchone()[0]
    limit = max(MIN_AGGREGATION_MEMORY, 2 * int(used))
    current = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    number, _, unit = str(current).strip().partition(" ")
    try:
        if float(number) * UNITS[unit.lower() or "b"] <= limit:
            return
    except (ValueError, KeyError):
        pass
    con.execute(f"SET memory_limit = '{limit // 2**20}MiB'")


def holdout_from_counts(rows, fit, calibration_end: date, holdout_end: date) -> Holdout:
    """Predicted vs actual repeat purchases (purchase days) after the calibration end, for the customers who had
    bought by then, overall and by their calibration frequency (as lifetimes' calibration/holdout plot), from
    (x, tx_days, T_days, actual, customers) counts."""
    weeks = (holdout_end - calibration_end).days / 7.0
    x = rows["x"].astype(float)
    n = rows["customers"].astype(float)
    actual = rows["actual"].astype(float)
    predicted = fit.expected_purchases(weeks, x, rows["tx_days"] / 7.0, rows["T_days"] / 7.0)
    by_frequency = []
    for k in range(HOLDOUT_FREQUENCIES + 1):
        mine = x >= k if k == HOLDOUT_FREQUENCIES else x == k
        if not mine.any():
            continue
        total = float(n[mine].sum())
        by_frequency.append(
            HoldoutRow(
                frequency=f"{k}+" if k == HOLDOUT_FREQUENCIES else str(k),
                customers=int(total),
                predicted=round(float(n[mine] @ predicted[mine]) / total, 4),
                actual=round(float(n[mine] @ actual[mine]) / total, 4),
            )
        )
    return Holdout(
        calibration_end=str(calibration_end),
        holdout_end=str(holdout_end),
        weeks=round(weeks, 4),
        customers=int(n.sum()),
        predicted=round(float(n @ predicted), 2),
        actual=round(float(n @ actual), 2),
        by_frequency=by_frequency,
    )
