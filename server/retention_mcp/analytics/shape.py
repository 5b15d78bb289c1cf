"""What a file is: which rows are customers, which columns play which part, and whether it holds subscriptions,
monthly revenue or orders. The kind of data is decided from the columns that define it; a subscription file keeps
one row per customer (exact repeats read once, other repeats refused naming the id column)."""

from __future__ import annotations

from retention_mcp.analytics.loading import DataError, Mapping, Table, quote, row_name
from retention_mcp.analytics.numbers import interval_months, is_numeric

ROW_ID = "(row number)"
SUBSCRIPTION_ROLES = ("start_date", "end_date", "churned", "tenure")


def kind_of_data(table: Table, mapping: Mapping, given: dict[str, str]) -> str:
    """transactions, monthly or subscriptions. Orders only when the columns say so: an order date and nothing that
    defines a subscription, or an order date the caller named; duplicate ids in a subscription file are reported as
    such (check_ids), never taken for orders."""
    defines_subscriptions = any(mapping.get(r) for r in SUBSCRIPTION_ROLES)
    if mapping.get("transaction_date") and (not defines_subscriptions or "transaction_date" in given):
        return "transactions"
    if mapping.get("month") and mapping.get("amount") and has_repeats(table, mapping):
        return "monthly"
    return "subscriptions"


def rows_are_customers(table: Table, mapping: Mapping, notes: list[str]) -> None:
    """Without an id column, a file of subscriptions (one row per customer) is read row by row; anything else
    needs the id named."""
    if mapping.get("month") or not any(mapping.get(r) for r in ("start_date", "end_date", "churned", "tenure")):
        raise DataError(
            "No customer id column found; name it with customer_id_column (CLI: --map "
            f"customer_id=COLUMN). Columns found: {', '.join(table.columns)} / 找不到客户编号列"
        )
    table.con.execute(f"CREATE OR REPLACE TABLE data AS SELECT rowid + 1 AS {quote(ROW_ID)}, * FROM data")
    table.columns = [ROW_ID, *table.columns]
    table.types[ROW_ID] = "BIGINT"
    mapping.roles["customer_id"] = ROW_ID
    notes.append(
        f"No customer id column: each of the {table.rows} rows is taken as one customer / "
        f"没有客户编号列:{table.rows} 行每行视为一个客户"
    )


def dates_are_ends(table: Table, mapping: Mapping) -> None:
    """A 'cancelled' or 'churned' column that holds dates is the end date, not a yes/no flag."""
    column = mapping.roles.get("churned")
    if not column or mapping.roles.get("end_date"):
        return
    kind = table.types[column].upper()
    dates = (
        kind.startswith(("DATE", "TIMESTAMP"))
        or table.con.execute(
            f"SELECT bool_or(regexp_matches(trim(CAST({quote(column)} AS VARCHAR)), '^(\\d{{4}}[-/.]\\d{{1,2}}[-/.]\\d{{1,2}}|\\d{{1,2}}[-/.]\\d{{1,2}}[-/.]\\d{{4}})')) "
            f"FROM data"
        ).fetchone()[0]
    )
    if dates:
        mapping.roles["end_date"] = mapping.roles.pop("churned")


def intervals_not_months(table: Table, mapping: Mapping, given: dict[str, str]) -> None:
    """A 'period' or 'cycle' column that holds billing intervals (monthly, 包年) is the billing interval, not a
    month of revenue."""
    column = mapping.roles.get("month")
    if not column or "month" in given or mapping.roles.get("billing_interval"):
        return
    if table.types[column].upper().startswith(("DATE", "TIMESTAMP")) or is_numeric(table.types[column]):
        return
    words = table.con.execute(
        f"SELECT DISTINCT CAST({quote(column)} AS VARCHAR) FROM data WHERE {quote(column)} IS NOT NULL LIMIT 50"
    ).fetchall()
    if words and len(words) < 50 and all(interval_months(w[0]) is not None for w in words):
        mapping.roles["billing_interval"] = mapping.roles.pop("month")


def has_repeats(table: Table, mapping: Mapping) -> bool:
    cid = quote(mapping.roles["customer_id"])
    distinct = table.con.execute(f"SELECT count(DISTINCT {cid}) FROM data").fetchone()[0]
    return distinct < table.rows


def check_ids(table: Table, column: str, notes: list[str]) -> None:
    """One row per customer: rows that repeat another row exactly are dropped (with a note); an id on rows that
    differ is a DataError naming the column."""
    con = table.con
    cid = quote(column)
    nulls = con.execute(f"SELECT count(*) FROM data WHERE {cid} IS NULL").fetchone()[0]
    if nulls:
        raise DataError(
            f"{column}: {nulls} row(s) have no customer id; fill them in or remove them / {column}:有 {nulls} 行没有客户编号"
        )
    ids, rows = con.execute(f"SELECT count(DISTINCT {cid}), count(*) FROM data").fetchone()
    if ids == rows:
        return
    everything = ", ".join(quote(c) for c in table.columns)
    copy = f"row_number() OVER (PARTITION BY {everything} ORDER BY rowid)"
    first_copy, copies = con.execute(
        f"SELECT min(rowid), count(*) FROM (SELECT rowid, {copy} AS k FROM data) WHERE k > 1"
    ).fetchone()
    if table.rows - copies == ids:  # every repeat is an exact copy of an earlier row
        con.execute(f"CREATE OR REPLACE TABLE data AS SELECT * FROM data QUALIFY {copy} = 1 ORDER BY rowid")
        table.rows -= copies
        notes.append(
            f"{column}: {copies} row(s) repeat an earlier row exactly (first on {row_name(first_copy)}) and are read "
            f"once / {column}:{copies} 行与前面的某行完全相同(首次在第 {int(first_copy) + 1} 行),只计一次"
        )
        return
    repeated, repeat = con.execute(
        f"SELECT count(DISTINCT id), min(rowid) FILTER (WHERE k = 2) FROM (SELECT rowid, {cid} AS id, "
        f"row_number() OVER (PARTITION BY {cid} ORDER BY rowid) AS k, count(*) OVER (PARTITION BY {cid}) AS n "
        f"FROM data) WHERE n > 1"
    ).fetchone()
    raise DataError(
        f"{column}: {repeated} customer id(s) appear on more than one row (first repeat on {row_name(repeat)}), "
        f"with different values; subscription data needs one row per customer: keep one row for each (the latest "
        f"subscription), or, if the rows are orders, name their date with --map transaction_date=COLUMN (tool: "
        f"columns) / {column}:有 {repeated} 个客户编号出现在多行且内容不同;订阅数据每个客户只能一行,请每个客户保留一行;"
        f"若这些行是订单,请用 --map transaction_date=列名 指定订单日期"
    )


COMPUTED = ("customer_id", "start_date", "end_date", "flag", "mrr", "tenure_given", "end_seen", "churned", "tenure_t",
            "sbg_t")  # fmt: skip


def hidden_columns(table: Table, mapping: Mapping, notes: list[str]) -> list[str]:
    """The file's columns named like a column the analysis computes (churned, mrr, ...; DuckDB names ignore case):
    left out beside the computed ones. A role column is read through its role; any other one cannot be a segment,
    and a note says so."""
    hidden = [c for c in table.columns if c.lower() in COMPUTED]
    used = {v for k, v in mapping.roles.items() if k != "plan"}
    for column in hidden:
        if column not in used:
            notes.append(
                f"{column}: named like a column the analysis computes, so it is not used as a segment; rename it to "
                f"segment by it / {column}:与分析计算出的列同名,不作为分群列;如需按它分群请改名"
            )
    return hidden
