"""The SQL Ibis emits for the pushed-down steps compiles for each warehouse dialect and is kept as a golden file per
dialect (no network: the table is unbound). Set RETENTION_MCP_WRITE_SQL=1 to write the files after a change."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

ibis = pytest.importorskip("ibis")

from retention_mcp.analytics.expressions import (  # noqa: E402
    customers_expr,
    km_counts_expr,
    mrr_window,
    period_grid,
    sbg_counts,
    segment_counts,
    segment_key,
    timed_customers,
)
from retention_mcp.analytics.loading import map_columns  # noqa: E402
from retention_mcp.analytics.pushdown_monthly import (  # noqa: E402
    movements_expr,
    panel_customers,
    panel_expr,
    window_expr,
)
from retention_mcp.analytics.pushdown_orders import (  # noqa: E402
    calibration_expr,
    orders_expr,
    pooled_expr,
    rfm_expr,
    rfm_groups_expr,
)
from retention_mcp.analytics.request import AnalysisRequest  # noqa: E402

GOLDEN = Path(__file__).parents[1] / "warehouse_sql"
DIALECTS = ["postgres", "bigquery", "snowflake", "clickhouse", "databricks", "trino"]


class Cuts:
    """Stands for the database in `segment_key`: the quartile cuts of a numeric column, as they would come back."""

    def one(self, expr) -> dict:
        ibis.to_sql(expr, dialect="postgres")  # the query for the cuts compiles too
        return {"q1": 10.0, "q2": 25.5, "q3": 99.0}


def steps() -> dict:
    """Every aggregate a subscription table sends back, built by the functions the analysis runs."""
    t = ibis.table(
        {
            "customer_id": "string",
            "signup_date": "date",
            "cancel_date": "timestamp",
            "plan": "string",
            "mrr": "float64",
        },
        name="subscriptions",
        database="analytics",
    )
    mapping = map_columns(list(t.columns), {}, [])
    customers = customers_expr(t, mapping, AnalysisRequest(period="quarter"), date(2026, 6, 30), "month")
    # each step over the customers relation, compiled on its own: the customers query is kept once, not in every step
    c = ibis.table(customers.schema(), name="customers")
    timed = timed_customers(c)
    return {
        "customers": customers,
        "counts": c.aggregate(customers=c.count(), churned=c.churned.sum()),
        "cohorts": period_grid(c, "quarter"),
        "segments": segment_counts(c, segment_key(c, "plan", "category", None)),
        "segments_by_quartile": segment_counts(c, segment_key(c, "mrr", "quartile", Cuts())),
        "kaplan_meier": km_counts_expr(timed, []),
        "kaplan_meier_by_group": km_counts_expr(timed.mutate(g=c.plan), ["g"]),
        "sbg": sbg_counts(c),
        "mrr_window": mrr_window(c, date(2026, 1, 1), date(2026, 4, 1)),
        **order_steps(),
        **monthly_steps(),
    }


def monthly_steps() -> dict:
    """What a monthly-revenue table sends back: its customers (the subscription steps then run over them as above),
    the month-by-month MRR movements and the GRR/NRR window."""
    t = ibis.table(
        {"customer_id": "int64", "month": "date", "mrr": "float64", "plan": "string"},
        name="revenue",
        database="analytics",
    )
    mapping = map_columns(list(t.columns), {}, [])
    assert mapping.roles["month"] == "month"
    panel = panel_expr(t, mapping)
    p = ibis.table(panel.schema(), name="panel")
    return {
        "panel": panel,
        "panel_customers": panel_customers(t, mapping, p, date(2026, 6, 1)),
        "mrr_movements": movements_expr(p),
        "mrr_retention_window": window_expr(p, date(2025, 6, 1), date(2026, 6, 1)),
    }


def order_steps() -> dict:
    """Every aggregate an order table sends back: the RFM summary, the pooled BG/NBD and holdout counts, RFM scores."""
    t = ibis.table(
        {"order_id": "int64", "customer_id": "int64", "order_date": "timestamp", "amount": "float64"},
        name="orders",
        database="analytics",
    )
    mapping = map_columns(list(t.columns), {}, [])
    assert mapping.roles["transaction_date"] == "order_date"
    orders = orders_expr(t, mapping)
    # as above, the order lines once, each summary once, and the pooled counts over the summary they read
    o = ibis.table(orders.schema(), name="order_days")
    rfm = rfm_expr(o, date(2026, 6, 30))
    calibration = calibration_expr(o, date(2026, 6, 30), date(2026, 3, 31))
    r, cal = ibis.table(rfm.schema(), name="rfm"), ibis.table(calibration.schema(), name="calibration")
    return {
        "orders": orders,
        "rfm": rfm,
        "bgnbd_pooled": pooled_expr(r),
        "calibration": calibration,
        "bgnbd_holdout": pooled_expr(cal, ("holdout",)),
        "rfm_scores": rfm_groups_expr(r, 1000),
    }


@pytest.mark.parametrize("dialect", DIALECTS)
def test_pushed_down_steps_compile_for_each_dialect(dialect):
    text = "\n\n".join(f"-- {name}\n{ibis.to_sql(expr, dialect=dialect)};" for name, expr in steps().items()) + "\n"
    golden = GOLDEN / f"{dialect}.sql"
    if os.environ.get("RETENTION_MCP_WRITE_SQL"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    import sqlglot

    assert len(sqlglot.parse(text, read=dialect)) == len(steps())  # each statement parses in its own dialect
    for table in ("subscriptions", "orders", "revenue"):
        assert f'"{table}"' in text or f"`{table}`" in text  # identifiers quoted by Ibis


def test_identifiers_from_the_table_are_quoted_never_spliced():
    t = ibis.table({'id"; DROP TABLE x; --': "string", "start": "date", "end": "date"}, name="t")
    mapping = map_columns(
        list(t.columns), {"customer_id": 'id"; DROP TABLE x; --', "start_date": "start", "end_date": "end"}, []
    )
    c = customers_expr(t, mapping, AnalysisRequest(), date(2026, 1, 1), "month")
    sql = ibis.to_sql(c.aggregate(n=c.count()), dialect="postgres")
    assert '"id""; DROP TABLE x; --"' in sql
