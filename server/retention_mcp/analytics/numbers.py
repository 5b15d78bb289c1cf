"""Reading numbers the way exports write them: amounts with thousands separators in either convention, currency signs
and codes, 元/万元 and spaces; durations with their unit written beside them; billing intervals in English and
Chinese. Everything is done in DuckDB SQL over the whole column; a value that cannot be read is counted and named by
its row (never shown), and a column that mixes currencies or number conventions is refused, naming the column."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from retention_mcp.analytics.loading import DataError, Table, quote

NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "REAL", "UTINYINT",
                 "USMALLINT", "UINTEGER", "UBIGINT")  # fmt: skip
SHOWN_ROWS = 5

# Currency signs and codes -> the currency they name. ¥ is read as the yuan (the exports this reads are Chinese).
CURRENCIES = {
    "us$": "USD", "usd": "USD", "$": "USD", "美元": "USD", "hk$": "HKD", "hkd": "HKD", "港币": "HKD", "港元": "HKD",
    "rmb": "CNY", "cny": "CNY", "¥": "CNY", "￥": "CNY", "人民币": "CNY", "元": "CNY", "块": "CNY",
    "eur": "EUR", "€": "EUR", "欧元": "EUR", "gbp": "GBP", "£": "GBP", "英镑": "GBP", "jpy": "JPY", "日元": "JPY",
}  # fmt: skip
_ALTERNATIVES = sorted(CURRENCIES, key=lambda s: -len(s))  # longest first: 美元 before 元, us$ before $
CURRENCY_RE = "(?i)(" + "|".join(re.escape(s) for s in _ALTERNATIVES) + ")"
MULTIPLIERS = {"万": 1e4, "千": 1e3, "亿": 1e8}
SPACES_RE = "[\\s\\x{00A0}\\x{2007}\\x{2009}\\x{202F}\\x{3000}\\x{0027}\\x{2019}]+"  # spaces and 1'299 thousands marks
DOT_RE = r"^[+-]?((\d{1,3}(,\d{3})+|\d+)(\.\d+)?|\.\d+)([eE][+-]?\d+)?$"  # 1,299.00
COMMA_RE = r"^[+-]?((\d{1,3}(\.\d{3})+|\d+)(,\d+)?|,\d+)$"  # 1.299,00
MISSING = ("", "-", "—", "na", "n/a", "#n/a", "null", "none", "nan", "unknown", "未知")


@dataclass
class Reading:
    expression: str  # SQL: the value as a DOUBLE, NULL when blank or unreadable (then counted in the notes)
    notes: list[str] = field(default_factory=list)
    unit: str | None = None  # durations: the unit the values are in


def is_numeric(kind: str) -> bool:
    kind = kind.upper()
    return kind in NUMERIC_TYPES or kind.startswith("DECIMAL")


def rows_shown(con, where: str) -> tuple[int, str]:
    """How many rows of `data` match `where`, and the first few as data row numbers (the header not counted)."""
    count = con.execute(f"SELECT count(*) FROM data WHERE {where}").fetchone()[0]
    first = [
        r[0] + 1
        for r in con.execute(f"SELECT rowid FROM data WHERE {where} ORDER BY rowid LIMIT {SHOWN_ROWS}").fetchall()
    ]
    return int(count), ", ".join(map(str, first)) + (", ..." if count > len(first) else "")


def _cleaned(column: str) -> str:
    return f"regexp_replace(CAST({quote(column)} AS VARCHAR), '{SPACES_RE}', '', 'g')"


def _blank(text: str) -> str:
    words = ", ".join(f"'{w}'" for w in MISSING)
    return f"({text} IS NULL OR lower({text}) IN ({words}))"


def _number(number: str, convention: str) -> str:
    """SQL: a separator-free number text in `convention` as a DOUBLE (NULL when it is not one)."""
    if convention == ",":
        return (
            f"CASE WHEN regexp_matches({number}, '{COMMA_RE}') THEN "
            f"TRY_CAST(replace(replace({number}, '.', ''), ',', '.') AS DOUBLE) END"
        )
    return f"CASE WHEN regexp_matches({number}, '{DOT_RE}') THEN TRY_CAST(replace({number}, ',', '') AS DOUBLE) END"


def _convert(table: Table, column: str, value: str) -> str:
    """Replace the text column by its value (a DOUBLE; NULL where blank or unreadable), computed once: every later
    query reads the number, not the text. The column is a role's, never a segment, so nothing else needs the
    text."""
    table.con.execute(f"ALTER TABLE data ALTER {quote(column)} SET DATA TYPE DOUBLE USING ({value})")
    table.con.execute(f"UPDATE data SET {quote(column)} = NULL WHERE NOT isfinite({quote(column)})")  # 1e999
    table.types[column] = "DOUBLE"
    return f"CAST({quote(column)} AS DOUBLE)"


def amount_reading(table: Table, column: str | None, decimal: str | None = None) -> Reading:
    """The amount in `column` as a finite DOUBLE. Text is read as exports write it: 1,299.00 and (with --decimal ,)
    1.299,00, ¥ $ € £ and CNY USD RMB EUR GBP, 元/块, 万 and 万元, spaces of any kind, (12.00) for -12. One currency
    per column, and one decimal mark unless `decimal` says which; values still unreadable are counted and named by
    row in a note. A text column is read in one pass and then converted in place."""
    if not column:
        return Reading("CAST(NULL AS DOUBLE)")
    if is_numeric(table.types[column]):
        value = f"CAST({quote(column)} AS DOUBLE)"
        return Reading(f"(CASE WHEN isfinite({value}) THEN {value} END)")
    con = table.con
    cleaned = _cleaned(column)
    blank = _blank(cleaned)
    stripped = f"regexp_replace({cleaned}, '{CURRENCY_RE}|[万千亿]', '', 'g')"
    number = f"regexp_replace({stripped}, '^\\((.*)\\)$', '-\\1')"  # accounting negatives: (12.00)
    found = con.execute(  # one pass: currencies named, and which values read in which convention
        f"SELECT c, count(*) FILTER (WHERE NOT b AND dot AND NOT comma), count(*) FILTER (WHERE NOT b AND comma AND "
        f"NOT dot), count(*) FILTER (WHERE NOT b AND NOT dot), count(*) FILTER (WHERE NOT b AND NOT comma), count(*) "
        f"FROM (SELECT c, b, regexp_matches(n, '{DOT_RE}') AS dot, regexp_matches(n, '{COMMA_RE}') AS comma FROM "
        f"(SELECT list_distinct(regexp_extract_all(lower(t), '{CURRENCY_RE}')) AS c, {blank.replace(cleaned, 't')} "
        f"AS b, {number.replace(cleaned, 't')} AS n FROM (SELECT {cleaned} AS t FROM data))) GROUP BY 1"
    ).fetchall()
    currencies: dict[str, int] = {}  # currency -> rows that name it
    for tokens, *_counts, rows_with in found:
        for code in {CURRENCIES[token] for token in tokens or []}:
            currencies[code] = currencies.get(code, 0) + rows_with
    if len(currencies) > 1:
        shown = ", ".join(f"{code} ({n})" for code, n in sorted(currencies.items()))
        raise DataError(
            f"{column}: amounts in more than one currency ({shown}); convert them to one currency first, or analyse "
            f"each currency's rows as a file of its own / {column} 中的金额使用了多种货币({shown});请先换算为同一"
            f"货币,或按货币分别分析"
        )
    dot_only, comma_only, not_dot, not_comma = (sum(r[k] for r in found) for k in range(1, 5))
    convention = decimal if decimal in (".", ",") else _convention(column, dot_only, comma_only)
    unread, fits_other = (not_dot, comma_only) if convention == "." else (not_comma, dot_only)
    raw = f"CAST({quote(column)} AS VARCHAR)"
    multiplier = " ".join(f"WHEN contains({raw}, '{k}') THEN {v}" for k, v in MULTIPLIERS.items())
    value = f"(({_number(number, convention)}) * (CASE {multiplier} ELSE 1 END))"
    notes = []
    if currencies:
        code = next(iter(currencies))
        notes.append(
            f"{column}: amounts read as {code}, currency signs and units removed / {column}:金额按 {code} 读取,"
            f"已去除货币符号与单位"
        )
    if unread:
        _, rows = rows_shown(con, f"NOT {blank} AND ({value}) IS NULL")
        hint_en, hint_zh = "correct them or leave them blank", "请更正或留空"
        other = "," if convention == "." else "."
        if fits_other > 0:
            hint_en = (
                f"some read with --decimal {other} (tool: decimal): pass it if that is the file's convention, else "
                f"correct them"
            )
            hint_zh = f"部分可按 --decimal {other} 读取:若文件如此书写请指定,否则请更正"
        notes.append(
            f"{column}: {unread} value(s) are not amounts and count as missing (data row(s) {rows}, the header not "
            f"counted); {hint_en} / {column} 有 {unread} 个值不是可识别的金额,按缺失处理(数据行:{rows});{hint_zh}"
        )
    return Reading(_convert(table, column, value), notes)


def _convention(column: str, dot_only: int, comma_only: int) -> str:
    """'.' or ',' as the decimal mark of the column, from its values (1,299.00 or 12,50); both is an error."""
    if comma_only and dot_only:
        raise DataError(
            f"{column}: {dot_only} value(s) use a decimal point (like 1,299.00) and {comma_only} a decimal comma "
            f"(like 1.299,00); write the column in one convention, or pass --decimal for the one most values use "
            f"(tool: decimal) / {column} 中 {dot_only} 个值用小数点(如 1,299.00),{comma_only} 个值用小数逗号"
            f"(如 1.299,00);请统一写法,或用 --decimal 指定"
        )
    if comma_only:
        raise DataError(
            f"{column}: {comma_only} amount(s) are written with a decimal comma (like 12,50); pass --decimal , "
            f"(tool: decimal=',') and, if the fields are separated by ';', --delimiter ';' / "
            f"{column} 有 {comma_only} 个金额使用逗号作小数点,请指定 --decimal ,"
        )
    return "."


# -- durations ----------------------------------------------------------------------------------------------------------
UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "year": 365.25}
UNIT_WORDS = {
    "day": ("days", "day", "d", "天", "日"),
    "week": ("weeks", "week", "wks", "wk", "w", "周", "星期"),
    "month": ("months", "month", "mths", "mth", "mos", "mo", "m", "个月", "月"),
    "year": ("years", "year", "yrs", "yr", "y", "年"),
}
_SUFFIXES = sorted((w for words in UNIT_WORDS.values() for w in words), key=lambda s: -len(s))
UNIT_SUFFIX_RE = "(?i)(" + "|".join(re.escape(w) for w in _SUFFIXES) + ")$"
NAME_UNITS = [  # a unit in a tenure column's name: tenure_days, 在网天数, lifetime_months
    ("day", r"(^|_)(days?|in_days)($|_)|天|日数"),
    ("week", r"(^|_)(weeks?|wks?)($|_)|周"),
    ("month", r"(^|_)(months?|mos?)($|_)|月"),
    ("year", r"(^|_)(years?|yrs?)($|_)|年"),
]


def unit_of_name(name: str) -> str | None:
    """The unit a column name states (tenure_years -> year, 在网天数 -> day), or None."""
    normal = re.sub(r"[\s\-./]+", "_", name.strip().lower())
    found = [unit for unit, pattern in NAME_UNITS if re.search(pattern, normal)]
    return found[0] if len(found) == 1 else None


def _unit_case(suffix: str) -> str:
    cases = " ".join(
        f"WHEN lower({suffix}) IN ({', '.join(repr(w) for w in words)}) THEN {UNIT_DAYS[unit]!r}"
        for unit, words in UNIT_WORDS.items()
    )
    return f"(CASE {cases} END)"


def duration_reading(table: Table, column: str, unit: str | None, decimal: str | None = None) -> Reading:
    """The duration in `column`, in `unit` (given, else the unit of the column's name, else the one unit its values
    are written in, else month). Text such as 123天, "12 months", 1,024 or 1.5年 is read; a value with its own unit
    is converted. Unreadable values are counted and named by row in a note."""
    con = table.con
    named = unit_of_name(column)
    notes: list[str] = []
    if is_numeric(table.types[column]):
        chosen = unit or named or "month"
        if unit is None and named:
            notes.append(_unit_note(column, chosen, "its name"))
        return Reading(f"CAST({quote(column)} AS DOUBLE)", notes, chosen)
    cleaned = _cleaned(column)
    blank = _blank(cleaned)
    suffix = f"regexp_extract({cleaned}, '{UNIT_SUFFIX_RE}', 1)"
    number = f"regexp_replace({cleaned}, '{UNIT_SUFFIX_RE}', '')"
    convention = "," if decimal == "," else "."
    found = con.execute(
        f"SELECT lower({suffix}), count(*) FILTER (WHERE ({_number(number, convention)}) IS NULL) FROM data "
        f"WHERE NOT {blank} GROUP BY 1"
    ).fetchall()
    written = {u for u, words in UNIT_WORDS.items() for w, _ in found if w in words}
    unread = sum(n for _, n in found)
    chosen = unit or named or (next(iter(written)) if len(written) == 1 else "month")
    if unit is None and named:
        notes.append(_unit_note(column, chosen, "its name"))
    elif unit is None and len(written) == 1:
        notes.append(_unit_note(column, chosen, "the unit written beside its values"))
    elif unit is None and written:
        notes.append(
            f"{column}: durations are written in more than one unit, each converted to months; pass --tenure-unit to "
            f"choose the unit (tool: tenure_unit) / {column}:时长使用了多种单位,均换算为月;可用 --tenure-unit 指定单位"
        )
    days = f"coalesce({_unit_case(suffix)}, {UNIT_DAYS[chosen]!r})"
    expression = f"(({_number(number, convention)}) * {days} / {UNIT_DAYS[chosen]!r})"
    if unread:
        count, rows = rows_shown(con, f"NOT {blank} AND {expression} IS NULL")
        notes.append(
            f"{column}: {count} value(s) are not durations and count as unknown (data row(s) {rows}, the header not "
            f"counted); write a number with an optional unit (123, 123天, 12 months, 1.5年) or leave them blank / "
            f"{column} 有 {count} 个值不是可识别的时长,按未知处理(数据行:{rows});请写成数字加可选单位"
            f"(如 123、123天、12 months)或留空"
        )
    return Reading(_convert(table, column, expression), notes, chosen)


def _unit_note(column: str, unit: str, source: str) -> str:
    zh = {"its name": "列名", "the unit written beside its values": "取值中写明的单位"}[source]
    unit_zh = {"day": "天", "week": "周", "month": "月", "year": "年"}[unit]
    return (
        f"{column}: durations read in {unit}s, from {source}; pass --tenure-unit to choose another (tool: "
        f"tenure_unit) / {column}:按{zh}以{unit_zh}为单位读取时长;可用 --tenure-unit 另行指定"
    )


# -- billing intervals --------------------------------------------------------------------------------------------------
INTERVAL_WORDS: dict[str, float] = {}  # a normalised interval word -> months it covers
for _months, _words in (
    (12 / 365.25, ("day", "daily", "d", "日", "天")),
    (12 / 52.18, ("week", "weekly", "wk", "w", "周", "星期")),
    (12 / 26.09, ("fortnight", "fortnightly", "biweekly", "双周")),
    (1.0, ("month", "monthly", "mo", "mon", "mth", "m", "month to month", "月")),
    (3.0, ("quarter", "quarterly", "qtr", "q", "季")),
    (
        6.0,
        (
            "semiannual",
            "semiannually",
            "semi annual",
            "semi annually",
            "half year",
            "half yearly",
            "halfyearly",
            "biannual",
            "biannually",
            "半年",
        ),
    ),
    (12.0, ("year", "yearly", "annual", "annually", "yr", "y", "one year", "年", "一年")),
    (24.0, ("biennial", "biennially", "two year", "two years", "两年", "二年")),
):
    INTERVAL_WORDS.update(dict.fromkeys(_words, _months))
_FILLER_EN = r"\b(plan|plans|billing|billed|bill|subscription|contract|pay|payment|paid|per|every|each|the|a|an|auto|" \
    r"renewal|renew|package|term|cycle|basis)\b"  # fmt: skip
_FILLER_ZH = (
    "自动续费",
    "续费",
    "套餐",
    "计费",
    "付费",
    "订阅",
    "会员",
    "合同",
    "连续",
    "包",
    "按",
    "付",
    "每",
    "度",
    "卡",
    "制",
)
_COUNTED = re.compile(r"^(\d+)\s*(days?|weeks?|months?|years?|个月|月|年|季|周|天|日)$")
_COUNT_UNITS = {"day": 12 / 365.25, "天": 12 / 365.25, "日": 12 / 365.25, "week": 12 / 52.18, "周": 12 / 52.18,
                "month": 1.0, "个月": 1.0, "月": 1.0, "季": 3.0, "year": 12.0, "年": 12.0}  # fmt: skip
INTERVAL_HELP = (
    "monthly/月付/包月, quarterly/季付, semiannual/半年付, annual/包年/年付, weekly/周付, daily, or N months"
)
MAX_INTERVAL_WORDS = 1000


def interval_months(word: str | None) -> float | None:
    """Months one billing interval covers (包年 -> 12, "Annual plan" -> 12, "3 months" -> 3), or None if unknown."""
    if word is None:
        return None
    text = re.sub(r"[\s\-_/.,:;()（）【】\[\]]+", " ", word.strip().lower())
    if text in INTERVAL_WORDS:
        return INTERVAL_WORDS[text]
    text = re.sub(_FILLER_EN, " ", text)
    for filler in _FILLER_ZH:
        text = text.replace(filler, "")
    text = re.sub(r"\s+", " ", text).strip()
    if text in INTERVAL_WORDS:
        return INTERVAL_WORDS[text]
    counted = _COUNTED.match(text)
    if counted and int(counted.group(1)) > 0:
        unit = counted.group(2).rstrip("s") if counted.group(2).isascii() else counted.group(2)
        return int(counted.group(1)) * _COUNT_UNITS[unit]
    return None


def interval_expression(table: Table, column: str | None, amount: str = "NULL") -> str:
    """SQL: the months each row's billing interval covers. An interval word not in the vocabulary, or a blank
    interval beside an amount, is a DataError naming the column and how many rows hold which word: a price is
    never divided by a guessed interval."""
    if not column:
        return "1.0"
    con = table.con
    text = f"CAST({quote(column)} AS VARCHAR)"
    words = con.execute(
        f"SELECT {text} AS w, count(*), count(*) FILTER (WHERE coalesce({amount}, 0) <> 0) FROM data GROUP BY 1 "
        f"ORDER BY 2 DESC LIMIT {MAX_INTERVAL_WORDS + 1}"
    ).fetchall()
    known = known_intervals(column, words)
    cases = " ".join(f"WHEN '{w.replace(chr(39), chr(39) * 2)}' THEN {m!r}" for w, m in known.items())
    return f"(CASE {text} {cases} END)" if cases else "1.0"


def known_intervals(column: str, words: list[tuple[str | None, int, int]]) -> dict[str, float]:
    """The months each billing-interval word covers, from the column's words with their rows and priced rows (rows
    with an amount that is not zero), most rows first and at most MAX_INTERVAL_WORDS + 1 of them. An interval word
    not in the vocabulary, or a blank interval beside an amount, is a DataError naming the column."""
    if len(words) > MAX_INTERVAL_WORDS:
        raise DataError(
            f"{column}: holds over {MAX_INTERVAL_WORDS} different values, so it is not a billing interval; map the "
            f"right column with --map billing_interval=COLUMN (tool: billing_interval_column) / {column} 取值超过 "
            f"{MAX_INTERVAL_WORDS} 种,不是计费周期列;请用 --map billing_interval=列名 指定"
        )
    known: dict[str, float] = {}
    unknown: list[tuple[str, int]] = []
    blank = 0
    for word, rows, priced in words:
        if word is None or word.strip().lower() in MISSING:
            blank += priced
            continue
        months = interval_months(word)
        if months is None:
            unknown.append((word, rows))
        else:
            known[word] = months
    if unknown or blank:
        listed = [f"{_label(w)} ({n} row{'s' if n > 1 else ''})" for w, n in unknown[:8]]
        listed_zh = [f"{_label(w)}({n} 行)" for w, n in unknown[:8]]
        if len(unknown) > 8:
            listed.append(f"{len(unknown) - 8} more word(s)")
            listed_zh.append(f"另有 {len(unknown) - 8} 个词")
        if blank:
            listed.append(f"blank beside an amount ({blank} row{'s' if blank > 1 else ''})")
            listed_zh.append(f"有金额但周期为空({blank} 行)")
        raise DataError(
            f"{column}: billing intervals that are not known: {'; '.join(listed)}. Known intervals: {INTERVAL_HELP}. "
            f"Write them so, or give monthly amounts in a column named mrr or monthly_revenue, which needs no interval "
            f"(--map amount=COLUMN) / {column} 中有无法识别的计费周期:{';'.join(listed_zh)}。可识别:月付/包月、季付、"
            f"半年付、包年/年付、周付、按日,或“N 个月”;请按此改写,或改用名为 mrr、月费等的月度金额列(无需计费周期)"
        )
    return known


def _label(word: str) -> str:
    """An interval word for a message: a category label, shortened and printable."""
    text = "".join(ch if ch.isprintable() else "?" for ch in word.strip())
    return repr(text if len(text) <= 12 else text[:12] + "…")
