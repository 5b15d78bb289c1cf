"""Reading column values the way a person would, and saying so when a reading is not certain: dates (with day-first /
month-first ambiguity decided from the whole column, or by the caller), churn flags (unknown values counted, not
guessed), and durations (NaN, infinite or negative values named by row)."""

from __future__ import annotations

from dataclasses import dataclass

from retention_mcp.analytics.loading import DataError, Table, quote, row_name

TIME = r"( \d{1,2}:\d{2}(:\d{2})?)?"  # a time of day after the date is read and dropped
# (regex, strptime format or None when day/month order is ambiguous, label, separator)
DATE_PATTERNS = [
    (r"^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$", "%Y-%m-%d", "YYYY-MM-DD", None),
    (rf"^\d{{4}}/\d{{1,2}}/\d{{1,2}}{TIME}$", "%Y/%m/%d", "YYYY/MM/DD", None),
    (rf"^\d{{4}}\.\d{{1,2}}\.\d{{1,2}}{TIME}$", "%Y.%m.%d", "YYYY.MM.DD", None),
    (rf"^\d{{1,2}}/\d{{1,2}}/\d{{4}}{TIME}$", None, "DD/MM/YYYY or MM/DD/YYYY", "/"),
    (rf"^\d{{1,2}}-\d{{1,2}}-\d{{4}}{TIME}$", None, "DD-MM-YYYY or MM-DD-YYYY", "-"),
    (rf"^\d{{1,2}}\.\d{{1,2}}\.\d{{4}}{TIME}$", "%d.%m.%Y", "DD.MM.YYYY", None),
    (r"^\d{8}$", "%Y%m%d", "YYYYMMDD", None),
    (r"^\d{4}-\d{1,2}$", "%Y-%m", "YYYY-MM", None),
    (r"^\d{4}/\d{1,2}$", "%Y/%m", "YYYY/MM", None),
    (r"^\d{4}年\d{1,2}月$", "%Y年%m月", "YYYY年MM月", None),
    (r"^\d{4}年\d{1,2}月\d{1,2}日$", "%Y年%m月%d日", "YYYY年MM月DD日", None),
]

YYYYMMDD_FIRST, YYYYMMDD_LAST = 19000101, 21001231  # integers in this range are dates written as YYYYMMDD

DATE_FORMATS = {"DD/MM/YYYY": "day", "MM/DD/YYYY": "month", "DD-MM-YYYY": "day", "MM-DD-YYYY": "month",
                "%d/%m/%Y": "day", "%m/%d/%Y": "month", "%d-%m-%Y": "day", "%m-%d-%Y": "month",
                "day-first": "day", "month-first": "month"}  # fmt: skip
DATE_FORMAT_HELP = "DD/MM/YYYY (day first) or MM/DD/YYYY (month first)"


def date_order(date_format: str | None) -> str | None:
    """'day' or 'month' from a --date-format value; a DataError for anything else."""
    if date_format is None:
        return None
    order = DATE_FORMATS.get(date_format.strip()) or DATE_FORMATS.get(date_format.strip().upper())
    if order is None:
        raise DataError(
            f"date_format: {date_format[:40]!r} is not a known format; use {DATE_FORMAT_HELP} / "
            f"date_format 取值应为 DD/MM/YYYY(日在前)或 MM/DD/YYYY(月在前)"
        )
    return order


def check_timezone(name: str | None) -> None:
    """A DataError unless `name` is an IANA time zone (Asia/Shanghai, UTC)."""
    if name is None:
        return
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise DataError(
            f"timezone: {name[:40]!r} is not an IANA time zone name; use one like Asia/Shanghai or UTC / "
            f"timezone 不是有效的 IANA 时区名,请使用如 Asia/Shanghai 或 UTC"
        ) from None


OFFSET = r"\d:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"  # a time of day with a UTC offset


def date_expression(
    table: Table, column: str, date_format: str | None = None, zone: str | None = None, notes: list[str] | None = None
) -> str:
    """A SQL expression giving `column` as a DATE, or a DataError naming mixed, unreadable or ambiguous formats.
    A timestamp written with a UTC offset keeps the date it was written with, unless `zone` (an IANA name) is
    given: then it is that zone's date. Either way a note in `notes` says how the offsets were read."""
    quoted = quote(column)
    kind = table.types[column].upper()
    notes = notes if notes is not None else []
    if kind.startswith("TIMESTAMP WITH TIME ZONE"):  # an instant without the offset it was written with
        where = zone or "UTC"
        notes.append(
            f"{column}: timestamps with a time zone are read as dates in {where}"
            + ("" if zone else "; pass --timezone NAME (tool: timezone) for another zone")
            + f" / {column}:带时区的时间戳按 {where} 的日期读取"
            + ("" if zone else ",可用 --timezone 指定其他时区")
        )
        return f"CAST(timezone('{where}', {quoted}) AS DATE)"
    if kind.startswith(("DATE", "TIMESTAMP")):
        return f"CAST({quoted} AS DATE)"
    if kind in ("INTEGER", "BIGINT"):
        sample = table.con.execute(f"SELECT min({quoted}), max({quoted}) FROM data").fetchone()
        if sample[0] is not None and sample[0] >= YYYYMMDD_FIRST and sample[1] <= YYYYMMDD_LAST:
            return f"CAST(strptime(CAST({quoted} AS VARCHAR), '%Y%m%d') AS DATE)"
        raise DataError(f"{column}: holds numbers, not dates / 该列是数字而不是日期")
    text = f"trim(CAST({quoted} AS VARCHAR))"
    counts = []
    for pattern, fmt, label, separator in DATE_PATTERNS:
        found = table.con.execute(
            f"SELECT count(*), min(rowid) FROM data WHERE regexp_matches({text}, ?)", [pattern]
        ).fetchone()
        if found[0]:
            counts.append((found[0], fmt, label, found[1], pattern, separator))
    filled = table.con.execute(f"SELECT count(*) FROM data WHERE {text} <> ''").fetchone()[0]
    if len(counts) > 1:
        shown_en = "; ".join(f"{n} in {label} (first on {row_name(first)})" for n, _, label, first, _, _ in counts)
        shown_zh = "; ".join(f"{n} 个为 {label}" for n, _, label, _, _, _ in counts)
        raise DataError(
            f"{column}: mixed date formats ({shown_en}); use one format for the whole column / 日期格式不统一:{shown_zh}"
        )
    if not counts:
        first = table.con.execute(f"SELECT min(rowid) FROM data WHERE {text} <> ''").fetchone()[0]
        if first is None:
            return "CAST(NULL AS DATE)"
        raise DataError(f"{column}: not a date column (first value on {row_name(first)}) / 不是日期列")
    n, fmt, label, _, pattern, separator = counts[0]
    if n < filled:
        first = table.con.execute(
            f"SELECT min(rowid) FROM data WHERE {text} <> '' AND NOT regexp_matches({text}, ?)", [pattern]
        ).fetchone()[0]
        raise DataError(
            f"{column}: {filled - n} value(s) are not dates in {label} (first on {row_name(first)}) / "
            f"有 {filled - n} 个值不是日期"
        )
    if fmt == "%Y-%m-%d":
        return _iso_dates(table, column, text, zone, notes)
    text = f"split_part({text}, ' ', 1)"  # the date without a time of day
    if fmt is None:  # only the day/month patterns leave the format open, and they all have a separator
        assert separator is not None
        fmt = _day_or_month_first(table, column, text, separator, label, date_format)
    unreadable = table.con.execute(
        f"SELECT count(*), min(rowid) FROM data WHERE {text} <> '' AND try_strptime({text}, '{fmt}') IS NULL"
    ).fetchone()
    if unreadable[0]:
        raise DataError(
            f"{column}: {unreadable[0]} value(s) are not real dates in {fmt} (first on {row_name(unreadable[1])}) / "
            f"有 {unreadable[0]} 个值不是有效日期"
        )
    return f"CAST(strptime(NULLIF({text}, ''), '{fmt}') AS DATE)"


def _iso_dates(table: Table, column: str, text: str, zone: str | None, notes: list[str]) -> str:
    """ISO dates and timestamps: the date as written; with an offset and a `zone`, the date in that zone."""
    written = f"TRY_CAST(regexp_extract({text}, '^\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}') AS DATE)"
    offsets = table.con.execute(f"SELECT count(*) FROM data WHERE regexp_matches({text}, '{OFFSET}')").fetchone()[0]
    expression = written
    if offsets and zone:
        instant = f"TRY_CAST(replace({text}, 'Z', '+00:00') AS TIMESTAMPTZ)"
        expression = (
            f"(CASE WHEN regexp_matches({text}, '{OFFSET}') THEN CAST(timezone('{zone}', {instant}) AS DATE) "
            f"ELSE {written} END)"
        )
    unreadable = table.con.execute(
        f"SELECT count(*), min(rowid) FROM data WHERE {text} <> '' AND {expression} IS NULL"
    ).fetchone()
    if unreadable[0]:
        raise DataError(
            f"{column}: {unreadable[0]} value(s) are not real dates in YYYY-MM-DD (first on "
            f"{row_name(unreadable[1])}); correct them or leave them blank / 有 {unreadable[0]} 个值不是有效日期"
        )
    if offsets:
        notes.append(
            f"{column}: {offsets} timestamp(s) carry a UTC offset (like +08:00); "
            + (
                f"read as dates in {zone} / {column}:{offsets} 个时间戳带有 UTC 偏移(如 +08:00),按 {zone} 的日期读取"
                if zone
                else "each is read at the date it was written with (its own local date); pass --timezone NAME "
                f"(tool: timezone) to read them in one zone / {column}:{offsets} 个时间戳带有 UTC 偏移(如 +08:00),"
                f"按其书写的本地日期读取;可用 --timezone 指定统一时区"
            )
        )
    return expression


def _day_or_month_first(table: Table, column: str, text: str, separator: str, label: str, given: str | None) -> str:
    """Decide from every value of the column: a first part above 12 means day-first, a second part above 12
    month-first; when neither occurs both readings are possible and the caller must say which."""
    first = f"TRY_CAST(split_part({text}, '{separator}', 1) AS INTEGER)"
    second = f"TRY_CAST(split_part({text}, '{separator}', 2) AS INTEGER)"
    day_first, month_first = table.con.execute(
        f"SELECT coalesce(bool_or({first} > 12), false), coalesce(bool_or({second} > 12), false) FROM data "
        f"WHERE {text} <> ''"
    ).fetchone()
    order = date_order(given)
    formats = {"day": f"%d{separator}%m{separator}%Y", "month": f"%m{separator}%d{separator}%Y"}
    if day_first and month_first:
        raise DataError(
            f"{column}: some dates have a first part above 12 and others a second part above 12, so neither "
            f"day-first nor month-first fits every value / 该列日期既有首段大于 12 又有次段大于 12,无法统一解读"
        )
    seen = "day" if day_first else "month" if month_first else None
    if seen and order and seen != order:
        raise DataError(
            f"{column}: date_format says {order}-first, but the column has dates that only read {seen}-first / "
            f"date_format 与该列日期不符"
        )
    if seen:
        return formats[seen]
    if order:
        return formats[order]
    raise DataError(
        f"{column}: dates in {label} read both day-first and month-first, and no value tells which; pass "
        f"--date-format {DATE_FORMAT_HELP} (tool: date_format) / 该列日期既可按日在前也可按月在前解读,"
        f"请用 --date-format 指定 DD/MM/YYYY 或 MM/DD/YYYY"
    )


TRUE_WORDS = ("1", "1.0", "true", "yes", "y", "t", "churned", "cancelled", "canceled", "是", "已流失", "流失", "取消")
FALSE_WORDS = ("0", "0.0", "false", "no", "n", "f", "active", "retained", "否", "未流失", "在网", "正常")
MISSING_WORDS = ("", "na", "n/a", "#n/a", "null", "none", "nan", "-", "—", "unknown", "未知")


@dataclass
class Flags:
    expression: str  # SQL: true, false, or NULL when unknown
    unknown: int  # rows whose flag is blank, NA or an unknown word
    blank: int  # of which blank or NA (the other words are never shown: a file's values stay out of messages)


def flag_expression(table: Table, column: str) -> Flags:
    """`column` as a boolean from yes/no, 1/0, true/false (and 是/否); blank, NA and other words are unknown
    (NULL): counted, never read as 'not churned'."""
    quoted = quote(column)
    text = f"lower(trim(CAST({quoted} AS VARCHAR)))"
    trues = ", ".join(f"'{w}'" for w in TRUE_WORDS)
    falses = ", ".join(f"'{w}'" for w in FALSE_WORDS)
    missing = ", ".join(f"'{w}'" for w in MISSING_WORDS)
    expression = f"(CASE WHEN {text} IN ({trues}) THEN true WHEN {text} IN ({falses}) THEN false END)"
    unknown, blank = table.con.execute(
        f"SELECT count(*) FILTER (WHERE {expression} IS NULL), "
        f"count(*) FILTER (WHERE {quoted} IS NULL OR {text} IN ({missing})) FROM data"
    ).fetchone()
    if unknown == table.rows:
        raise DataError(
            f"{column}: no value is a readable churn flag ({blank} blank or NA"
            + (f", {unknown - blank} other words" if unknown > blank else "")
            + "); churn cannot be measured from it. Use yes/no, 1/0 or true/false, or map another column "
            f"(--map churned=COLUMN) / 该列没有可识别的流失标记(空白或 NA {blank} 个),无法计算流失"
        )
    return Flags(expression, int(unknown), int(blank))


def bad_durations(con, expression: str, column: str, relation: str = "data") -> None:
    """A DataError naming the first rows whose duration is NaN, infinite or negative (blank is missing, not bad)."""
    where = f"({expression}) IS NOT NULL AND (isnan({expression}) OR isinf({expression}) OR ({expression}) < 0)"
    count = con.execute(f"SELECT count(*) FROM {relation} WHERE {where}").fetchone()[0]
    if not count:
        return
    rows = [
        r[0] + 1 for r in con.execute(f"SELECT rowid FROM {relation} WHERE {where} ORDER BY rowid LIMIT 5").fetchall()
    ]
    shown = ", ".join(map(str, rows)) + (", ..." if count > len(rows) else "")
    raise DataError(
        f"{column}: {count} value(s) are not a duration (NaN, infinite or negative) in data row(s) {shown} (the "
        f"header is not counted); a duration must be a finite number >= 0, or blank when unknown / "
        f"{column} 有 {count} 个值不是有效时长(NaN、无穷大或负数),数据行:{shown};时长须为不小于 0 的有限数,未知时留空"
    )
