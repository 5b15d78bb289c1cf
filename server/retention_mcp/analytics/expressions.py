"""The aggregation steps of a subscription analysis as Ibis expressions, compiled to the database's SQL for a table:
the customer table normalised (churned, end seen, tenure, sBG periods), periods and cohorts, Kaplan-Meier counts,
segments, sBG counts and MRR sums. Ibis is imported inside each function, when an analysis runs.

A database table has types: dates are DATE or TIMESTAMP columns (or ISO text, or integers written as YYYYMMDD),
amounts and tenure numbers, the churned flag a boolean, a number or one of the words a file may hold."""

from __future__ import annotations

from datetime import date
from typing import Any

from retention_mcp.analytics.loading import DataError, Mapping
from retention_mcp.analytics.numbers import MAX_INTERVAL_WORDS, known_intervals
from retention_mcp.analytics.request import (
    DAYS_PER_MONTH,
    MONTHLY_AMOUNT_NAMES,
    PERIOD_MONTHS,
    TENURE_UNITS,
    AnalysisRequest,
)
from retention_mcp.analytics.roles import normalise
from retention_mcp.analytics.shape import COMPUTED
from retention_mcp.analytics.values import FALSE_WORDS, TRUE_WORDS, YYYYMMDD_FIRST, YYYYMMDD_LAST

MISSING = "(missing)"


def _date(t: Any, column: str) -> Any:
    import ibis

    value = t[column]
    kind = value.type()
    if kind.is_timestamp():
        return value.date()
    if kind.is_date():
        return value
    if kind.is_string():  # ISO text: a day, or a month (YYYY-MM) read as its first day
        text = value.strip().nullif("")
        return ibis.ifelse(text.length() == 7, text.concat("-01"), text).cast("date")
    if kind.is_integer():  # YYYYMMDD, as a file's 8-digit numbers (the range is checked by integer_dates_checked)
        number = value.cast("int64")
        return ibis.date(
            (number // 10000).cast("int32"), (number // 100 % 100).cast("int32"), (number % 100).cast("int32")
        )
    raise DataError(f"{column}: a date needs a DATE, TIMESTAMP or text column / {column} 应为日期、时间戳或文本列")


def integer_dates_checked(wh: Any, t: Any, columns: list[str | None]) -> None:
    """Date columns of integers hold dates written as YYYYMMDD, as a file's do (values.py); otherwise they hold
    numbers, not dates: a DataError naming the column."""
    numbers = [c for c in columns if c and t[c].type().is_integer()]
    if not numbers:
        return
    found = wh.one(
        t.aggregate(**{f"{k}{i}": getattr(t[c], k)() for i, c in enumerate(numbers) for k in ("min", "max")})
    )
    for i, column in enumerate(numbers):
        low, high = found[f"min{i}"], found[f"max{i}"]
        if low is None or low < YYYYMMDD_FIRST or high > YYYYMMDD_LAST:
            raise DataError(f"{column}: holds numbers, not dates / 该列是数字而不是日期")


def intervals_read(wh: Any, t: Any, mapping: Mapping) -> Any:
    """The table with its billing-interval column as the months each interval covers, read as a file's are
    (numbers.py): an interval word not known, or blank beside an amount, is the file's DataError. An amount named as
    monthly needs no interval."""
    import ibis

    roles = mapping.roles
    column, amount = roles.get("billing_interval"), roles.get("amount")
    if not column or not amount or normalise(amount) in MONTHLY_AMOUNT_NAMES:
        return t
    word = t[column].cast("string")
    priced = _number(t, amount).fill_null(0) != 0
    counted = t.mutate(w_=word, p_=priced)
    rows = wh.fetch(
        counted.group_by("w_")
        .aggregate(rows_=counted.count(), priced_=counted.p_.sum().cast("int64"))
        .order_by([ibis.desc("rows_"), "w_"])
        .limit(MAX_INTERVAL_WORDS + 1)
    )
    known = known_intervals(column, list(zip(rows["w_"], rows["rows_"], rows["priced_"], strict=True)))
    months = (
        ibis.cases(*((word == w, m) for w, m in known.items()), else_=ibis.null("float64"))
        if known
        else ibis.literal(1.0)
    )
    return t.mutate(**{column: months})


def _number(t: Any, column: str) -> Any:
    value = t[column]
    if not value.type().is_numeric():
        raise DataError(f"{column}: a number needs a numeric column / {column} 应为数值列")
    return value.cast("float64")


def _flag(t: Any, column: str) -> Any:
    import ibis

    value = t[column]
    kind = value.type()
    if kind.is_boolean():
        return value
    if kind.is_numeric():
        return value != 0
    text = value.cast("string").strip().lower()
    return ibis.cases((text.isin(TRUE_WORDS), True), (text.isin(FALSE_WORDS), False), else_=ibis.null("boolean"))


def whole_periods(start: Any, end: Any, months: int, exact: bool) -> Any:
    """The period (1-based) a customer who left on `end` churned in, or (exact=False) the whole periods an active
    customer has completed by `end`. Whole periods are calendar ones: a customer who started on 15 March and cancels
    on their anniversary, 15 March a year later, churned at the end of period 1 (of a year)."""
    import ibis

    end_is_last = (end + ibis.interval(days=1)).month() != end.month()
    short = (end.day() < start.day()) & ~end_is_last
    whole_months = (end.year() - start.year()) * 12 + end.month() - start.month() - ibis.ifelse(short, 1, 0)
    whole = whole_months // months
    if not exact:
        return whole
    on_day = (end.day() == start.day()) | (end_is_last & (start.day() > end.day()))
    on_boundary = (whole_months % months == 0) & on_day
    return ibis.cases((on_boundary & (whole >= 1), whole), else_=whole + 1)


def customers_expr(t: Any, mapping: Mapping, request: AnalysisRequest, observation_end: date | None, unit: str) -> Any:
    """One row per customer, as the file path's `customers` table: churned, end_seen, tenure_t and sbg_t."""
    import ibis

    roles = mapping.roles
    base = base_expr(t, mapping, request)
    obs = ibis.literal(observation_end) if observation_end else None
    keep = ibis.literal(True)
    if obs is not None and roles.get("start_date"):
        keep = base.start_date.isnull() | (base.start_date <= obs)
    if roles.get("churned"):
        keep = keep & base.flag.notnull()
    base = base.filter(keep)
    end_seen = ibis.ifelse(base.end_date <= obs, base.end_date, ibis.null("date")) if obs is not None else base.end_date
    base = base.mutate(end_seen=end_seen)
    base = base.mutate(churned=base.flag if roles.get("churned") else base.end_seen.notnull())
    unit_days, months = TENURE_UNITS[unit], PERIOD_MONTHS[request.period]
    if roles.get("start_date"):
        to_obs = (
            [(~base.churned, obs.delta(base.start_date, unit="day").cast("float64") / unit_days)]
            if obs is not None
            else []
        )
        tenure = ibis.cases(
            (base.start_date.isnull(), base.tenure_given),
            (
                base.churned & base.end_seen.notnull(),
                base.end_seen.delta(base.start_date, unit="day").cast("float64") / unit_days,
            ),
            (base.churned, base.tenure_given),
            *to_obs,
            else_=base.tenure_given,
        )
    else:
        tenure = base.tenure_given
    base = base.mutate(tenure_t=tenure)
    in_periods = base.tenure_t * (unit_days / DAYS_PER_MONTH / months)
    by_dates = []
    if roles.get("start_date"):
        dated = base.start_date.notnull()
        by_dates.append(
            (
                dated & base.churned & base.end_seen.notnull(),
                whole_periods(base.start_date, base.end_seen, months, True),
            )
        )
        if obs is not None:
            by_dates.append((dated & ~base.churned, whole_periods(base.start_date, obs, months, False)))
    sbg_t = ibis.cases(
        *by_dates,
        (base.churned, ibis.greatest((in_periods - 1e-9).ceil(), 1)),
        else_=(in_periods + 1e-9).floor(),
    ).cast("int64")
    return base.mutate(sbg_t=sbg_t)


def monthly_amount(t: Any, mapping: Mapping) -> Any:
    """The amount as revenue per month: divided by the months of its billing interval (the column as intervals_read
    gives it) unless named as monthly."""
    roles = mapping.roles
    amount = _number(t, roles["amount"])
    if normalise(roles["amount"]) not in MONTHLY_AMOUNT_NAMES and roles.get("billing_interval"):
        amount = amount / _number(t, roles["billing_interval"])
    return amount


def base_expr(t: Any, mapping: Mapping, request: AnalysisRequest) -> Any:
    """The roles read into typed columns, segment candidates kept as they are."""
    import ibis

    roles = mapping.roles
    amount = monthly_amount(t, mapping) if roles.get("amount") else ibis.null("float64")
    columns = {
        "customer_id": t[roles["customer_id"]].cast("string") if roles.get("customer_id") else ibis.null("string"),
        "start_date": _date(t, roles["start_date"]) if roles.get("start_date") else ibis.null("date"),
        "end_date": _date(t, roles["end_date"]) if roles.get("end_date") else ibis.null("date"),
        "flag": _flag(t, roles["churned"]) if roles.get("churned") else ibis.null("boolean"),
        "mrr": amount,
        "tenure_given": _number(t, roles["tenure"]) if roles.get("tenure") else ibis.null("float64"),
    }
    used = {v for k, v in roles.items() if k != "plan"}
    kept = {c: t[c] for c in t.columns if c not in used and c.lower() not in COMPUTED}
    return t.select(**columns, **kept)


def segment_key(c: Any, column: str, kind: str, wh: Any) -> Any:
    """Each customer's segment value: the category, or the quartile of a numeric column (labels as for a file)."""
    import ibis

    value = c[column]
    if kind == "category":
        return value.cast("string").fill_null(MISSING)
    number = value.cast("float64")
    finite = number.notnull() & ~number.isnan() & ~number.isinf()  # never null: NULL AND FALSE is false
    cuts = wh.one(c.aggregate(**{f"q{i}": number.quantile(i / 4, where=finite) for i in (1, 2, 3)}))
    if cuts["q1"] is None:  # no finite value: one group, never a segment
        return ibis.literal(MISSING)
    q1, q2, q3 = (round(float(cuts[k]), 4) for k in ("q1", "q2", "q3"))
    return ibis.cases(
        (~finite, MISSING),
        (number <= q1, f"Q1 (<= {q1:g})"),
        (number <= q2, f"Q2 ({q1:g}-{q2:g}]"),
        (number <= q3, f"Q3 ({q2:g}-{q3:g}]"),
        else_=f"Q4 (> {q3:g})",
    )


# -- the aggregates a table sends back (tests/unit/test_warehouse_sql.py compiles each for every dialect) ---------------
def period_grid(c: Any, period: str) -> Any:
    """Customers by the period they started and the period they left (null: still active)."""
    import ibis

    unit = period[0].upper()
    grid = c.filter(c.start_date.notnull()).mutate(
        s=c.start_date.truncate(unit), e=ibis.ifelse(c.churned, c.end_seen.truncate(unit), ibis.null("date"))
    )
    return grid.group_by(["s", "e"]).aggregate(n=grid.count())


def segment_counts(c: Any, key: Any) -> Any:
    """Customers and churned customers by one segment's value."""
    g = c.mutate(v=key)
    return g.group_by("v").aggregate(n=g.count(), d=g.churned.sum().cast("int64"))


def timed_customers(c: Any) -> Any:
    """Customers with a tenure, rounded to 0.01 of the unit (the Kaplan-Meier event times)."""
    return c.filter(c.tenure_t.notnull()).mutate(t=c.tenure_t.round(2))


def km_counts_expr(timed: Any, by: list[str]) -> Any:
    """Events and customers at each time (per group `by`): the Kaplan-Meier and log-rank counts."""
    return (
        timed.group_by([*by, "t"]).aggregate(d=timed.churned.sum().cast("int64"), n=timed.count()).order_by([*by, "t"])
    )


def sbg_counts(c: Any) -> Any:
    """Customers lost and still active by the number of periods they stayed: the sBG counts."""
    p = c.filter(c.sbg_t.notnull())
    return (
        p.group_by(p.sbg_t.name("p"))
        .aggregate(lost=p.churned.sum().cast("int64"), active=(~p.churned).sum().cast("int64"))
        .order_by("p")
    )


def mrr_window(c: Any, start: date, end: date) -> Any:
    """MRR at the start of a window, lost in it and new in it."""
    import ibis

    s, e = ibis.literal(start), ibis.literal(end)
    return c.aggregate(
        starting=c.mrr.sum(where=(c.start_date < s) & ~(c.churned & (c.end_seen < s))),
        churned=c.mrr.sum(where=(c.start_date < s) & c.churned & (c.end_seen >= s) & (c.end_seen < e)),
        new=c.mrr.sum(where=(c.start_date >= s) & (c.start_date < e)),
    )
