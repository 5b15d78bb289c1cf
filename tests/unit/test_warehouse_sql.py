"""The SQL Ibis emits for the pushed-down steps compiles for each warehouse dialect and is kept as a golden file per
dialect (no network: the table is unbound). Set RETENTION_MCP_WRITE_SQL=1 to write the files after a change."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

ibis = pytest.importorskip("ibis")

from retention_mcp.analytics.loading import map_columns  # noqa: E402
from retention_mcp.analytics.pushdown import (  # noqa: E402
    customers_expr,
    km_counts_expr,
    mrr_window,
    period_grid,
    sbg_counts,
    segment_counts,
    timed_customers,
)
from retention_mcp.analytics.request import AnalysisRequest  # noqa: E402

GOLDEN = Path(__file__).parents[1] / "warehouse_sql"
DIALECTS = ["postgres", "bigquery", "snowflake", "clickhouse", "databricks", "trino"]


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
        "segments": segment_counts(c, c.plan),
        "kaplan_meier": km_counts_expr(timed, []),
        "kaplan_meier_by_group": km_counts_expr(timed.mutate(g=c.plan), ["g"]),
        "sbg": sbg_counts(c),
        "mrr_window": mrr_window(c, date(2026, 1, 1), date(2026, 4, 1)),
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
    assert '"subscriptions"' in text or "`subscriptions`" in text  # identifiers quoted by Ibis


def test_identifiers_from_the_table_are_quoted_never_spliced():
    t = ibis.table({'id"; DROP TABLE x; --': "string", "start": "date", "end": "date"}, name="t")
    mapping = map_columns(
        list(t.columns), {"customer_id": 'id"; DROP TABLE x; --', "start_date": "start", "end_date": "end"}, []
    )
    c = customers_expr(t, mapping, AnalysisRequest(), date(2026, 1, 1), "month")
    sql = ibis.to_sql(c.aggregate(n=c.count()), dialect="postgres")
    assert '"id""; DROP TABLE x; --"' in sql
