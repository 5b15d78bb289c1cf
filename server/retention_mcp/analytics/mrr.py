"""Revenue: MRR at the observation end, its movements (new, expansion, contraction, churn) and gross and net revenue
retention, from subscriptions or a monthly revenue panel."""

from __future__ import annotations

from datetime import date

from retention_mcp.analytics.loading import Mapping, Table, quote
from retention_mcp.analytics.numbers import (
    amount_reading,
    interval_expression,
    interval_months,
)
from retention_mcp.analytics.report import (
    MRR,
    Absent,
    ChurnReport,
    MRRMonth,
)
from retention_mcp.analytics.request import MONTHLY_AMOUNT_NAMES, AnalysisRequest, last_full_month, months_between
from retention_mcp.analytics.roles import normalise
from retention_mcp.analytics.values import (
    date_expression,
)


def monthly_mrr(amount: float, interval: str = "month") -> float:
    """Normalise a subscription's price to a month: $600/year -> $50."""
    months = interval_months(interval)
    if months is None:
        raise ValueError(f"unknown billing interval: {interval[:20]!r}")
    return amount / months


def mrr_movements(previous: dict[str, float], current: dict[str, float], seen_before: set[str]) -> dict[str, float]:
    """MRR movements between two months, by customer: new, expansion, contraction, churn and reactivation."""
    moves = dict.fromkeys(("new", "expansion", "contraction", "churn", "reactivation"), 0.0)
    for customer in set(previous) | set(current):
        before, after = previous.get(customer, 0.0), current.get(customer, 0.0)
        if before == 0 and after > 0:
            moves["reactivation" if customer in seen_before else "new"] += after
        elif before > 0 and after == 0:
            moves["churn"] += before
        elif after > before:
            moves["expansion"] += after - before
        elif after < before:
            moves["contraction"] += before - after
    return moves


def retention_ratios(starting: float, churn: float, contraction: float, expansion: float) -> tuple[float, float]:
    """GRR and NRR; new business never counts in either."""
    grr = 1 - (churn + contraction) / starting
    nrr = 1 - (churn + contraction - expansion) / starting
    return grr, nrr


def mrr_at_end(con, report: ChurnReport, observation_end) -> None:
    obs = f"DATE '{observation_end}'"
    current = con.execute(
        f"SELECT coalesce(sum(mrr), 0) FROM customers WHERE NOT churned AND (start_date IS NULL OR start_date <= {obs})"
    ).fetchone()[0]
    first_start = con.execute(f"SELECT min(start_date) FROM customers WHERE start_date <= {obs}").fetchone()[0]

    def window_sums(start: date, end: date) -> tuple:
        """Starting, churned and new MRR of the window [start, end)."""
        return con.execute(
            "SELECT coalesce(sum(mrr) FILTER (WHERE start_date < $s AND NOT (churned AND end_seen < $s)), 0),"
            " coalesce(sum(mrr) FILTER (WHERE start_date < $s AND churned AND end_seen >= $s AND end_seen < $e), 0),"
            " coalesce(sum(mrr) FILTER (WHERE start_date >= $s AND start_date < $e), 0) FROM customers",
            {"s": start, "e": end},
        ).fetchone()

    mrr_from_sums(report, observation_end, current, first_start, window_sums)


def mrr_from_sums(report: ChurnReport, observation_end, current, first_start, window_sums) -> None:
    """MRR now and over the last 12 full months, from sums counted anywhere: `current` (active MRR at the end),
    `first_start` (the earliest start) and `window_sums(start, end)` -> (starting, churned, new)."""
    if first_start is None or not report.periods:
        why = next((a.reason for a in report.absent if a.name == "periods"), None)
        reason = (
            "no start dates: movements need them / 没有开始日期,无法计算 MRR 变动"
            if first_start is None or why is None
            else f"when customers left is not known, so neither is when their MRR was lost ({why.partition(' / ')[0]})"
            f" / 不知道客户何时流失,也就无法得知 MRR 何时流失({why.partition(' / ')[2]})"
        )
        report.absent.append(Absent(name="mrr_movements", reason=reason))
        return
    months = [f"{y:04d}-{m:02d}" for y, m in months_between(first_start, observation_end)]
    last_full = last_full_month(len(months), observation_end)
    first = max(0, last_full - 11)
    window_start = date.fromisoformat(f"{months[first]}-01")
    window_end_month = months[last_full]
    y, m = map(int, window_end_month.split("-"))
    starting, churned, new = window_sums(window_start, date(y + (m == 12), m % 12 + 1, 1))
    if not starting:
        report.absent.append(
            Absent(name="mrr_movements", reason="no MRR at the start of the window / 统计窗口开始时没有 MRR")
        )
        return
    grr, nrr = retention_ratios(starting, churned, 0.0, 0.0)
    report.mrr = MRR(
        current=round(float(current), 2),
        window=f"{months[first]}..{window_end_month}",
        starting=round(float(starting), 2),
        new=round(float(new), 2),
        expansion=None,
        contraction=None,
        churned=round(float(churned), 2),
        reactivation=None,
        grr=round(grr, 6),
        nrr=round(nrr, 6),
        note="One amount per customer: expansion, contraction and reactivation cannot be seen, so NRR equals GRR.",
    )


def panel_to_customers(table: Table, mapping: Mapping, request: AnalysisRequest, notes: list[str]) -> Mapping:
    """Replace `data` by one row per customer: first paying month, the month after the last one (if they stopped
    before the data end), their latest MRR and the other columns; keep the monthly MRR as `panel`."""
    con = table.con
    roles = mapping.roles
    cid = quote(roles["customer_id"])
    month = date_expression(table, roles["month"], request.date_format, request.timezone, notes)
    amount = amount_reading(table, roles["amount"], request.decimal)
    notes += amount.notes
    monthly_already = normalise(roles["amount"]) in MONTHLY_AMOUNT_NAMES
    interval = (
        "1.0" if monthly_already else interval_expression(table, roles.get("billing_interval"), amount.expression)
    )
    con.execute(
        f"CREATE TABLE panel AS SELECT CAST({cid} AS VARCHAR) AS customer_id, date_trunc('month', {month}) AS month, "
        f"sum({amount.expression} / {interval}) AS mrr FROM data GROUP BY 1, 2"
    )
    last = con.execute("SELECT max(month) FROM panel").fetchone()[0]
    used = set(roles.values())
    others = [c for c in table.columns if c not in used or c == roles.get("plan")]
    kept = "".join(f", any_value({quote(c)}) AS {quote(c)}" for c in others)
    con.execute(
        f"CREATE TABLE customers_monthly AS SELECT p.*{''.join(f', s.{quote(c)}' for c in others)} FROM "
        f"(SELECT customer_id, min(month) AS start_date, CASE WHEN max(month) < DATE '{last}' THEN "
        f"CAST(max(month) + INTERVAL 1 MONTH AS DATE) END AS end_date, arg_max(mrr, month) AS mrr "
        f"FROM panel WHERE mrr > 0 GROUP BY 1) p JOIN "
        f"(SELECT CAST({cid} AS VARCHAR) AS customer_id{kept} FROM data GROUP BY 1) s USING (customer_id)"
    )
    con.execute("DROP TABLE data")
    con.execute("ALTER TABLE customers_monthly RENAME TO data")
    described = con.execute("DESCRIBE data").fetchall()
    table.columns = [row[0] for row in described]
    table.types = {row[0]: row[1] for row in described}
    new_roles = {"customer_id": "customer_id", "start_date": "start_date", "end_date": "end_date", "amount": "mrr"}
    if roles.get("plan"):
        new_roles["plan"] = roles["plan"]
    return Mapping(roles=new_roles, segments=mapping.segments)


def panel_mrr(con, report: ChurnReport) -> None:
    """MRR movements month by month, and GRR/NRR of the customers paying 12 months before the last month."""
    rows = con.execute(
        "WITH cur AS (SELECT customer_id, month, mrr FROM panel WHERE mrr > 0), "
        "prev AS (SELECT customer_id, CAST(month + INTERVAL 1 MONTH AS DATE) AS month, mrr AS prev_mrr FROM cur), "
        "seen AS (SELECT customer_id, min(month) AS first_month FROM cur GROUP BY 1), "
        "j AS (SELECT coalesce(c.customer_id, p.customer_id) AS customer_id, coalesce(c.month, p.month) AS month, "
        "coalesce(c.mrr, 0) AS mrr, coalesce(p.prev_mrr, 0) AS prev_mrr FROM cur c FULL OUTER JOIN prev p "
        "ON c.customer_id = p.customer_id AND c.month = p.month) "
        "SELECT strftime(j.month, '%Y-%m'), sum(mrr), "
        "sum(mrr) FILTER (WHERE prev_mrr = 0 AND j.month = s.first_month), "
        "sum(mrr - prev_mrr) FILTER (WHERE prev_mrr > 0 AND mrr > prev_mrr), "
        "sum(prev_mrr - mrr) FILTER (WHERE prev_mrr > 0 AND mrr > 0 AND mrr < prev_mrr), "
        "sum(prev_mrr) FILTER (WHERE prev_mrr > 0 AND mrr = 0), "
        "sum(mrr) FILTER (WHERE prev_mrr = 0 AND j.month > s.first_month) "
        "FROM j JOIN seen s USING (customer_id) WHERE j.month <= (SELECT max(month) FROM panel) GROUP BY 1 ORDER BY 1"
    ).fetchall()

    def window(start_month: str, end_month: str) -> tuple:
        starting, kept, ending = con.execute(
            "WITH s AS (SELECT customer_id, mrr FROM panel WHERE strftime(month, '%Y-%m') = ? AND mrr > 0), "
            "e AS (SELECT customer_id, mrr FROM panel WHERE strftime(month, '%Y-%m') = ?) "
            "SELECT sum(s.mrr), sum(least(s.mrr, coalesce(e.mrr, 0))), sum(coalesce(e.mrr, 0)) "
            "FROM s LEFT JOIN e USING (customer_id)",
            [start_month, end_month],
        ).fetchone()
        if not starting:
            return starting, kept, ending, 0.0
        lost = con.execute(
            "WITH s AS (SELECT customer_id, mrr FROM panel WHERE strftime(month, '%Y-%m') = ? AND mrr > 0), "
            "e AS (SELECT customer_id, mrr FROM panel WHERE strftime(month, '%Y-%m') = ? AND mrr > 0) "
            "SELECT coalesce(sum(s.mrr), 0) FROM s LEFT JOIN e USING (customer_id) WHERE e.customer_id IS NULL",
            [start_month, end_month],
        ).fetchone()[0]
        return starting, kept, ending, lost

    panel_mrr_from(report, rows, window)


def panel_mrr_from(report: ChurnReport, rows: list, window) -> None:
    """MRR movements and GRR/NRR from sums counted anywhere: `rows` of (month 'YYYY-MM', MRR, new, expansion,
    contraction, churned, reactivation) ordered by month, and `window(start, end)` -> (starting MRR of the customers
    paying in `start`, what of it they kept in `end`, their MRR in `end`, the MRR of those not paying in `end`)."""
    months = [
        MRRMonth(
            month=m,
            mrr=round(total or 0, 2),
            new=round(new or 0, 2),
            expansion=round(expansion or 0, 2),
            contraction=round(contraction or 0, 2),
            churned=round(churned or 0, 2),
            reactivation=round(reactivation or 0, 2),
        )
        for m, total, new, expansion, contraction, churned, reactivation in rows
    ]
    first = max(0, len(months) - 13)
    start_month, end_month = months[first].month, months[-1].month
    starting, kept, ending, lost = window(start_month, end_month)
    if not starting:
        report.absent.append(
            Absent(name="mrr", reason="no MRR in the first month of the window / 统计窗口第一个月没有 MRR")
        )
        report.mrr = None
        return
    contraction = starting - kept - lost
    expansion = ending - kept
    grr, nrr = retention_ratios(starting, lost, contraction, expansion)
    window = months[first + 1 :] if len(months) > 1 else months
    report.mrr = MRR(
        current=months[-1].mrr,
        window=f"{start_month}..{end_month}",
        starting=round(float(starting), 2),
        new=round(sum(m.new for m in window), 2),
        expansion=round(float(expansion), 2),
        contraction=round(float(contraction), 2),
        churned=round(float(lost), 2),
        reactivation=round(sum(m.reactivation for m in window), 2),
        grr=round(grr, 6),
        nrr=round(nrr, 6),
        months=months,
        note=f"GRR and NRR follow the customers paying in {start_month} to {end_month}; new and reactivated MRR are "
        "the window's flows and count in neither.",
    )
