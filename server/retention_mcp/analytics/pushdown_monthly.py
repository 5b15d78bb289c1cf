"""Monthly revenue in a database table (one row per customer and month): the panel, each customer's first paying
month, the month after their last one and their latest MRR, and the month-by-month MRR movements, as Ibis
expressions aggregated where the table lives. The subscription steps then run over the customers relation as for any
table, and the MRR movements, GRR and NRR come from the same sums a file gives."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from retention_mcp.analytics.expressions import _date, integer_dates_checked, intervals_read, monthly_amount
from retention_mcp.analytics.loading import DataError, Mapping
from retention_mcp.analytics.mrr import panel_mrr_from
from retention_mcp.analytics.numbers import interval_months
from retention_mcp.analytics.report import ChurnReport
from retention_mcp.analytics.request import AnalysisRequest, Progress
from retention_mcp.analytics.warehouse import Warehouse


# -- the aggregates a monthly-revenue table sends back (tests/unit/test_warehouse_sql.py compiles each) ----------------
def panel_expr(t: Any, mapping: Mapping) -> Any:
    """One row per customer and month: the month's first day and the revenue of the month (summed)."""
    roles = mapping.roles
    rows = t.select(
        customer_id=t[roles["customer_id"]].cast("string"),
        month=_date(t, roles["month"]).truncate("M"),
        mrr=monthly_amount(t, mapping),
    )
    return rows.group_by(["customer_id", "month"]).aggregate(mrr=rows.mrr.sum())


def panel_customers(t: Any, mapping: Mapping, panel: Any, last: Any) -> Any:
    """One row per paying customer: the first paying month (start_date), the month after the last one if it is before
    the panel's `last` month (end_date), the latest MRR, and the table's other columns (one value of each)."""
    import ibis

    roles = mapping.roles
    paying = panel.filter(panel.mrr > 0)
    spans = paying.group_by("customer_id").aggregate(
        start_date=paying.month.min(), last_month=paying.month.max(), mrr=paying.mrr.argmax(paying.month)
    )
    spans = spans.select(
        "customer_id",
        "start_date",
        end_date=ibis.ifelse(
            spans.last_month < ibis.literal(last), (spans.last_month + ibis.interval(months=1)).cast("date"), None
        ),
        mrr="mrr",
    )
    used = set(roles.values())
    others = [c for c in t.columns if c not in used or c == roles.get("plan")]
    if not others:
        return spans
    keyed = t.mutate(customer_id_=t[roles["customer_id"]].cast("string"))
    # one value per customer (a plan or region is the same in every month); min(), as every database has it
    values = keyed.group_by("customer_id_").aggregate(
        **{c: keyed[c].any() if keyed[c].type().is_boolean() else keyed[c].min() for c in others}
    )
    joined = spans.join(values, spans.customer_id == values.customer_id_)
    return joined.select("customer_id", "start_date", "end_date", "mrr", *others)


def movements_expr(panel: Any) -> Any:
    """MRR of each month with what moved it since the month before: new, expansion, contraction, churned and
    reactivated MRR (a customer paying again after a month without)."""
    import ibis

    paying = panel.filter(panel.mrr > 0)
    cur = paying.mutate(first_month=paying.month.min().over(group_by="customer_id"))
    prev = cur.select(
        "customer_id", "first_month", month=(cur.month + ibis.interval(months=1)).cast("date"), prev_mrr=cur.mrr
    ).view()
    both = cur.outer_join(prev, ["customer_id", "month"])
    j = both.select(
        month=ibis.coalesce(both.month, both.month_right),
        first_month=ibis.coalesce(both.first_month, both.first_month_right),
        mrr=both.mrr.fill_null(0),
        prev_mrr=both.prev_mrr.fill_null(0),
    )
    j = j.filter(j.month <= panel.month.max().as_scalar())
    return (
        j.group_by("month")
        .aggregate(
            total=j.mrr.sum(),
            new=j.mrr.sum(where=(j.prev_mrr == 0) & (j.month == j.first_month)),
            expansion=(j.mrr - j.prev_mrr).sum(where=(j.prev_mrr > 0) & (j.mrr > j.prev_mrr)),
            contraction=(j.prev_mrr - j.mrr).sum(where=(j.prev_mrr > 0) & (j.mrr > 0) & (j.mrr < j.prev_mrr)),
            churned=j.prev_mrr.sum(where=(j.prev_mrr > 0) & (j.mrr == 0)),
            reactivation=j.mrr.sum(where=(j.prev_mrr == 0) & (j.month > j.first_month)),
        )
        .order_by("month")
    )


def window_expr(panel: Any, start: Any, end: Any) -> Any:
    """Of the customers paying in month `start`: their MRR then, what of it they kept in month `end`, their MRR in
    `end`, and the MRR of those paying nothing in `end`."""
    import ibis

    s = panel.filter((panel.month == ibis.literal(start)) & (panel.mrr > 0)).select("customer_id", s_mrr="mrr")
    e = panel.filter(panel.month == ibis.literal(end)).select(e_id="customer_id", e_mrr="mrr")
    j = s.left_join(e, s.customer_id == e.e_id)
    after = j.e_mrr.fill_null(0)
    return j.aggregate(
        starting=j.s_mrr.sum(),
        kept=ibis.least(j.s_mrr, after).sum(),
        ending=after.sum(),
        lost=j.s_mrr.sum(where=after <= 0).fill_null(0),
    )


def intervals_not_months(wh: Warehouse, mapping: Mapping, given: dict[str, str]) -> bool:
    """A 'period' or 'cycle' text column that holds billing intervals (monthly, 包年) is the billing interval, not a
    month of revenue, as in a file (shape.py): the role moves to billing_interval."""
    column = mapping.roles.get("month")
    if not column or "month" in given or mapping.roles.get("billing_interval"):
        return False
    value = wh.table[column]
    if not value.type().is_string():
        return False
    found = wh.table.filter(value.notnull()).select(w=value).distinct().limit(50)
    words = wh.fetch(found)["w"]
    if words and len(words) < 50 and all(interval_months(w) is not None for w in words):
        mapping.roles["billing_interval"] = mapping.roles.pop("month")
        return True
    return False


def analyze_monthly_table(
    wh: Warehouse, mapping: Mapping, say: Progress, curves: dict, request: AnalysisRequest
) -> ChurnReport:
    from datetime import date

    from retention_mcp.analytics.pushdown import analyze_table

    if intervals_not_months(wh, mapping, request.columns):
        return analyze_table(wh, mapping, say, curves, request)
    roles = mapping.roles
    if not roles.get("customer_id") or not roles.get("amount"):
        raise DataError(
            f"{wh.source}: monthly revenue rows need a customer id and an amount/MRR column beside the month; columns "
            f"found: {', '.join(wh.table.columns)} / 月度收入行需要客户编号列与金额列"
        )
    integer_dates_checked(wh, wh.table, [roles["month"]])
    t = intervals_read(wh, wh.table, mapping)
    say("Turning monthly revenue into customer lifetimes in the database")
    panel = panel_expr(t, mapping)
    last = wh.one(panel.aggregate(last=panel.month.max()))["last"]
    if last is None:
        raise DataError(f"{wh.source}: no month with a date in {roles['month']} / {roles['month']} 中没有日期")
    customers = panel_customers(t, mapping, panel, last)
    new_roles = {"customer_id": "customer_id", "start_date": "start_date", "end_date": "end_date", "amount": "mrr"}
    if roles.get("plan"):
        new_roles["plan"] = roles["plan"]
    rows = int(wh.one(t.aggregate(n=t.count()))["n"])
    report = analyze_table(replace(wh, table=customers), Mapping(new_roles, mapping.segments), say, curves, request)
    report.rows, report.mode = rows, "monthly"
    say("MRR movements month by month")
    moves = wh.fetch(movements_expr(panel))
    names = ("total", "new", "expansion", "contraction", "churned", "reactivation")
    months = [f"{m:%Y-%m}" for m in moves["month"]]
    by_month = list(zip(months, *(moves[k] for k in names), strict=True))

    def window(start_month: str, end_month: str) -> tuple:
        start, end = (date.fromisoformat(f"{m}-01") for m in (start_month, end_month))
        sums = wh.one(window_expr(panel, start, end))
        return sums["starting"], sums["kept"], sums["ending"], sums["lost"] or 0.0

    panel_mrr_from(report, by_month, window)
    return report
