"""Read the hard constraints a user stated, in Chinese or English, from the template arguments.

Deterministic, regex-only and conservative: a number becomes a constraint only where the words around it make it one
("季度预算12万元", "EUR 25k for the quarter", "discounts at most 15%", "未来半年", "two ops staff", "only SMS and
push"). It is the fallback behind the typed `constraints` and `goals` parameters, not the source of truth.

Each input (argument) is read on its own: a budget's period is looked for in the clause of the field the amount
stands in, never at the end of the previous field.

Which inputs are read for what:
- constraint-bearing inputs are those whose name matches CONSTRAINT_FIELD (budget, constraint, resource, channel,
  team, timeline, 预算, 渠道) or TIMELINE_FIELD (timeline, horizon, duration, period, window, 周期, 时间), except the goal
  input. In them an amount with a currency but no budget word is a budget, channels are read, a bare duration in a
  timeline input is a horizon, and head-counts of any role count as the team;
- every input is read for a budget next to a budget word, a cost cap against a revenue word, a discount cap, a horizon
  with words that make it one and an explicit team size (inputs about competitors are not read for caps: their numbers
  are the competitor's offers);
- the goal input (`goal_field`) gives the goals G1..Gn;
- a data window ("orders from 2023-03 to 2024-02", "last 12 months of data", "数据为2025年7-12月") and a metric window
  ("90-day retention", "90天内流失率") are never a plan horizon.

`unread`: in constraint-bearing inputs, every span holding an amount (with a currency, or 万/亿/k/M), a percentage
(or N折), a duration or a head-count that the reader did not turn into a constraint is listed with its clause, unless
it is plainly a metric (churn or retention rate, NPS, conversion or open rate, prices, ARPU, 客单价, 流失率, 留存,
复购率…). Numbers a constraint consumed (a range's low end, a restated equivalent of the budget, the period word, a
team's breakdown, a data window) are not unread.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from itertools import islice
from typing import Any

from retention_mcp.generation.lexicon import CN_DIGITS, UNIT_DAYS, duration_unit, zhe_to_off
from retention_mcp.vocabulary import CHANNELS, ISO_4217, PERIOD_DAYS, channel_label, channels_in

__all__ = ["CHANNELS", "PERIOD_DAYS", "channel_label", "channels_in"]  # re-exported for the checker and the Markdown

_I = re.IGNORECASE


@cache
def _rx(pattern: str) -> re.Pattern[str]:
    """The compiled, case-insensitive form of a pattern: the reader runs on every render, so each compiles once."""
    return re.compile(pattern, _I)


# -- numbers ----------------------------------------------------------------------------------------------------------
_CN_DIGITS = CN_DIGITS
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_EN_WORDS = {
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "eighteen": 18, "twenty": 20,
    "thirty": 30, "sixty": 60, "ninety": 90,
}  # fmt: skip
# A number starts where a run of digits (or of Chinese numerals) starts: no pattern retries inside one, which keeps
# every scan linear in the text.
NUM = r"(?<!\d)(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
CN_NUM = r"(?<![零〇一二两三四五六七八九十百])[零〇一二两三四五六七八九十百]+"
EN_WORD = r"\b(?:" + "|".join(sorted(_EN_WORDS, key=len, reverse=True)) + r")\b"
COUNT = rf"(?:{NUM}|{CN_NUM}|{EN_WORD}|半)"
DASH = r"\s*(?:-|–|—|~|～|至|到|to)\s*"


def parse_number(text: str) -> float:
    """'120,000' -> 120000; '十二' -> 12; 'two' -> 2; '半' -> 0.5."""
    text = text.strip().lower()
    if text in _EN_WORDS:
        return float(_EN_WORDS[text])
    if text == "半":
        return 0.5
    if re.fullmatch(CN_NUM, text):
        return float(_chinese_integer(text))
    return float(text.replace(",", ""))


def _chinese_integer(text: str) -> int:
    """'十二' -> 12, '三百五十' -> 350, '两万五千' -> 25000."""
    if "亿" in text:
        high, _, low = text.partition("亿")
        return (_chinese_integer(high) if high else 1) * 100_000_000 + (_chinese_integer(low) if low else 0)
    if "万" in text:
        high, _, low = text.partition("万")
        return (_chinese_integer(high) if high else 1) * 10_000 + (_chinese_integer(low) if low else 0)
    total, current = 0, 0
    for char in text:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[char]
            current = 0
    return total + current


CN_AMOUNT = re.compile(r"(?P<n>[零〇一二两三四五六七八九十百千万亿]+)\s*(?P<cur>元|块|人民币)?")


# -- money ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Money:
    amount: float  # the cap: the upper end of a range
    currency: str | None
    low: float | None = None  # lower end of a range, when one was given


def parse_chinese_amount(text: str) -> Money | None:
    """'十二万元' -> 120000 CNY; '两万五千元' -> 25000 CNY (Chinese numerals, as amounts are often written)."""
    match = CN_AMOUNT.match(text)
    if not match or not (match["cur"] or re.search("[万亿]", match["n"])):
        return None
    return Money(float(_chinese_integer(match["n"])), "CNY")


_MULTIPLIERS = {
    "万": 1e4, "w": 1e4, "亿": 1e8, "千": 1e3, "百万": 1e6, "千万": 1e7, "k": 1e3, "thousand": 1e3, "m": 1e6,
    "mn": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9,
}  # fmt: skip
_CURRENCY_WORDS = [
    (r"US\$|USD|美元|美金|dollars?|bucks", "USD"),
    (r"HK\$|HKD|港币|港元", "HKD"),
    (r"S\$|SGD|新币|新加坡元", "SGD"),
    (r"A\$|AUD|澳元", "AUD"),
    (r"C\$|CAD|加元", "CAD"),
    (r"EUR|€|欧元|euros?", "EUR"),
    (r"GBP|£|英镑|pounds?(?: sterling)?", "GBP"),
    (r"JPY|日元|円", "JPY"),
    (r"CNY|RMB|¥|￥|元|块|人民币|yuan", "CNY"),
    (r"\$", "USD"),
]
_CURRENCY = "|".join(p for p, _ in _CURRENCY_WORDS) + r"|(?-i:\b[A-Z]{3}\b)"  # any ISO 4217 code, upper case
_MULT = r"百万|千万|万|亿|千|thousand|million|billion|mn|bn|[kKmM](?![a-zA-Z])|(?<=\d)[wW](?![a-zA-Z])"
AMOUNT = (
    rf"(?P<pre>{_CURRENCY})?\s*(?<![\d.,])(?P<low>{NUM})\s*(?P<lowmult>{_MULT})?"
    rf"(?:{DASH}(?P<precur2>{_CURRENCY})?\s*(?P<high>{NUM}))?\s*(?P<mult>{_MULT})?\s*(?P<post>{_CURRENCY})?"
)
_AMOUNT_RE = re.compile(AMOUNT, _I)
# after a number with a multiplier but no currency: it counts something other than money
_COUNT_NOUN = re.compile(
    r"\s*(?:人|名|位|个|家|户|单|次|条|份|笔|张|件|台|套|门店|店|会员|用户|客户|粉丝|订单|席位|账号|账户|次数|"
    r"(?:active |paying |new )?(?:paying|payers?|付费|users?|customers?|members?|accounts?|subscribers?|seats?|orders?|people|visits?|"
    r"sessions?|downloads?|installs?|followers?|fans?|stores?|shops?|transactions?|messages?|emails?|skus?|leads?|"
    r"sign-?ups?|trials?|units?|clients?|logos?|mau|dau|wau|views?|impressions?|clicks?|opens?))",
    _I,
)


def _currency_code(token: str | None) -> str | None:
    if not token:
        return None
    for pattern, code in _CURRENCY_WORDS:
        if re.fullmatch(pattern, token, _I):
            return code
    return token if re.fullmatch(r"[A-Z]{3}", token) and token in ISO_4217 else None


def _money(match: re.Match[str]) -> Money:
    mult_token = (match["mult"] or match["lowmult"] or "").lower()
    mult = _MULTIPLIERS.get(mult_token, 1.0)
    low_mult = _MULTIPLIERS.get((match["lowmult"] or "").lower(), mult)
    low = parse_number(match["low"]) * low_mult
    currency = _currency_code(match["pre"]) or _currency_code(match["precur2"]) or _currency_code(match["post"])
    if match["high"]:
        return Money(parse_number(match["high"]) * mult, currency, low)
    return Money(low, currency)


def parse_amount(text: str) -> Money | None:
    """'12万元' -> 120000 CNY; '$50k' -> 50000 USD; '10-12万' -> 120000 (low 100000); '1.2M USD'; '三十万元'."""
    hits = _amounts(text)
    return hits[0].money if hits else None


@dataclass(frozen=True)
class _Amount:
    start: int
    end: int
    money: Money
    currency: bool  # a currency was written
    multiplier: bool  # 万, k, M…


# before a number with no currency: what it counts ("现有会员20万", "MAU 30k")
_COUNT_BEFORE = re.compile(
    r"(?:会员|用户|客户|粉丝|门店|订单|月活|日活|账号|members?|users?|customers?|accounts?|subscribers?|stores?|orders?|"
    r"mau|dau|followers?)(?:数|数量|量|规模|总数)?\s*(?:约|有|达|共|:|：|of|is|are|at|about|around|~)?\s*$",
    _I,
)
_DIGIT_RUN = re.compile(r"(?<![\d.,])\d")
_CURRENCY_BEFORE = re.compile(rf"(?:{_CURRENCY})\s*$", _I)


def _amount_matches(text: str) -> Iterable[re.Match[str]]:
    """AMOUNT at every run of digits, starting at a currency written just before it: the same matches as scanning
    the text with AMOUNT, without trying the currency words at every character."""
    end = 0
    for digit in _DIGIT_RUN.finditer(text):
        if digit.start() < end:
            continue
        before = _CURRENCY_BEFORE.search(text, max(end, digit.start() - 10), digit.start())
        match = _AMOUNT_RE.match(text, before.start() if before else digit.start())
        if match and match["low"]:
            end = match.end()
            yield match


@lru_cache(maxsize=256)
def _amounts(text: str) -> tuple[_Amount, ...]:
    """Every amount of money in a text: a number with a currency, or with 万/亿/k/M and no count noun after it."""
    found: list[_Amount] = []
    for match in _amount_matches(text):
        currency = bool(
            _currency_code(match["pre"]) or _currency_code(match["precur2"]) or _currency_code(match["post"])
        )
        multiplier = bool(match["mult"] or match["lowmult"])
        tail = text[match.end() : match.end() + 3]
        if not (currency or multiplier) or re.match(r"\s*[%％]|\s*折", tail):
            continue
        if not currency and (_COUNT_NOUN.match(text, match.end()) or _COUNT_BEFORE.search(text, 0, match.start())):
            continue
        start = match.start("pre") if _currency_code(match["pre"]) else match.start("low")
        end = match.end()
        while end > start and text[end - 1].isspace():
            end -= 1
        if match["post"] and not _currency_code(match["post"]):
            end = match.start("post")
            while end > start and text[end - 1].isspace():
                end -= 1
        found.append(_Amount(start, end, _money(match), currency, multiplier))
    chinese = any(c in text for c in "万亿元块币")
    numerals = r"(?<![\d.零〇一二两三四五六七八九十百千万亿])[零〇一二两三四五六七八九十百千][零〇一二两三四五六七八九十百千万亿]*"
    for match in _rx(numerals + r"\s*(?:元|块|人民币)?").finditer(text) if chinese else ():
        money = parse_chinese_amount(match.group(0))
        if money is None or _COUNT_NOUN.match(text, match.end()) or money.amount < 100:
            continue
        if any(a.start <= match.start() < a.end for a in found):
            continue
        found.append(_Amount(match.start(), match.end(), money, "元" in match.group(0), True))
    return tuple(_ranges(text, sorted(found, key=lambda a: a.start)))


def _ranges(text: str, amounts: list[_Amount]) -> list[_Amount]:
    """'五十万到八十万元': two Chinese amounts joined by a dash are one range (the digit form is one AMOUNT match)."""
    merged: list[_Amount] = []
    for amount in amounts:
        last = merged[-1] if merged else None
        if last and last.money.low is None and _rx(rf"{DASH}").fullmatch(text, last.end, amount.start):
            currency = amount.money.currency or last.money.currency
            money = Money(amount.money.amount, currency, last.money.amount)
            merged[-1] = _Amount(last.start, amount.end, money, last.currency or amount.currency, True)
        else:
            merged.append(amount)
    return merged


# -- periods and durations --------------------------------------------------------------------------------------------
_NOT_COUNTED = r"(?<![个第下上两二三四五六七八九十\d])"
_PERIOD_WORDS = [
    (
        rf"{_NOT_COUNTED}季度(?!内)|每季|/\s*季|quarterly|(?:per|a|each|every|for the|this|the) quarter(?! of)|"
        r"/\s*q(?:tr|uarter)?\b|(?<![个\d])季(?=预算|费用|投入)",
        "quarter",
    ),
    (
        r"每月|月度|每个月|/\s*月|月均|monthly|(?:per|a|each|every|for the|this) month(?! of)|/\s*mo(?:nth)?\b|"
        r"\bp\.?m\.?(?=[\s,;.]|$)|(?<![个\d])月(?=预算|费用|投入)",
        "month",
    ),
    (
        r"年度|每年|全年|/\s*年|annual(?:ly)?|yearly|(?:per|a|each|every|for the|this) year(?! of)|per annum|"
        r"\bp\.a\.|/\s*y(?:ea)?r\b|(?<![\d])年(?=预算|费用|投入)",
        "year",
    ),
]
_TOTAL_WORDS = r"总计|总额|合计|总共|共计|总预算|一共|整体|共(?=\s*[\d¥￥$一二两三四五六七八九十])|in total|\btotal\b|overall|all-in|for the whole|across the whole"


def to_days(count: float, unit: str) -> int:
    return round(count * UNIT_DAYS[unit])


# -- the result -------------------------------------------------------------------------------------------------------
Source = str  # "typed" (a typed parameter or the user's answer to a form), "text" (read here) or "model" (extracted)


@dataclass
class Goal:
    id: str  # G1, G2, ...
    text: str
    metric: str | None = None
    baseline: float | None = None
    target: float | None = None
    unit: str | None = None
    deadline_day: int | None = None
    source: Source = "text"


@dataclass(frozen=True)
class Evidence:
    """Where a constraint read from the free text was found: the input and the words it stands on."""

    input: str
    text: str


@dataclass(frozen=True)
class Unread:
    """A span of constraint-bearing free text that states a constraint the reader did not turn into a value."""

    input: str
    text: str
    kind: str  # amount | percent | duration | headcount | goal | channels | deadline | per_customer | free_periods
    scope: str | None = None  # amount: week | day; deadline: the calendar end (Q3, year, M12, black friday)


@dataclass(frozen=True)
class CustomerCap:
    """The most one customer may get (an incentive's value), per period or None for the whole plan."""

    amount: float
    currency: str | None
    period: str | None = None


@dataclass(frozen=True)
class FreeCap:
    """The most free periods one customer may get: count of units (day, week, month)."""

    count: int
    unit: str


@dataclass(frozen=True)
class Conflict:
    """A typed value and the free text disagree; the typed value is used."""

    field: str
    typed: str
    text: str


# The constraint fields a kind of unread number could stand for: once they are all known, the span is accounted for.
UNREAD_FIELDS = {
    "amount": ("budget",),
    "percent": ("discount_cap_pct", "cost_cap_pct_of_revenue"),
    "duration": ("horizon_days",),
    "headcount": ("team_size",),
    "goal": ("goals",),  # goals past the most a call numbers (20): give the goals typed
    "channels": ("channels_allowed", "channels_excluded"),
    "deadline": ("start_date", "horizon_days"),
    "per_customer": ("per_customer_cap",),
    "free_periods": ("free_periods_cap",),
}
SHORT_PERIOD_DAYS = {"week": 7.0, "day": 1.0}  # budget periods the per-period budget check leaves to cap_checks


def parameter_of(field_name: str) -> str:
    """The typed parameter that holds a field: constraints.budget, ..., or goals."""
    return field_name if field_name == "goals" else f"constraints.{field_name}"


@dataclass
class Constraints:
    """The effective constraints of one call. Absent ones are None or empty.

    `budget` is the amount per `budget_period` (None: for the whole plan). `sources` says, per field name (budget,
    horizon_days, discount_cap_pct, cost_cap_pct_of_revenue, team_size, channels_allowed, channels_excluded, goals),
    where the value came from; `evidence` where text-read values stand; `unread` what the reader could not place.
    `channels_allowed` is an allow-list (the user said "only"); `channels_excluded` the kinds ruled out.
    """

    budget: Money | None = None
    budget_period: str | None = None  # day | week | month | quarter | year; None or "total": the whole plan
    cost_cap_pct_of_revenue: float | None = None  # e.g. incentive cost at most 4.5% of sales
    discount_cap_pct: float | None = None  # percent off
    horizon_days: int | None = None
    team_size: int | None = None
    channels_excluded: list[str] = field(default_factory=list)
    channels_allowed: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    per_customer_cap: CustomerCap | None = None
    free_periods_cap: FreeCap | None = None
    start_date: date | None = None  # typed only: what turns a calendar deadline into a horizon
    sources: dict[str, Source] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    unread: list[Unread] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def per_period(self) -> bool:
        return self.budget_period in PERIOD_DAYS

    @property
    def short_period(self) -> bool:
        """A budget per week or per day: its total is checked over the horizon, each week or day by cap_checks."""
        return self.budget_period in SHORT_PERIOD_DAYS

    def periods(self) -> float | None:
        """How many budget periods the horizon spans (one decimal, at least 1); None without a period or horizon."""
        days = {**PERIOD_DAYS, **SHORT_PERIOD_DAYS}.get(self.budget_period or "")
        if days is None or not self.horizon_days:
            return None
        return max(1.0, round(self.horizon_days / days, 1))

    def budget_cap(self) -> float | None:
        """The total a plan may spend: the stated budget, times the periods the horizon spans."""
        if self.budget is None:
            return None
        periods = self.periods()
        return round(self.budget.amount * periods, 2) if periods else self.budget.amount


# -- spans and clauses ------------------------------------------------------------------------------------------------
Span = tuple[int, int]
_REACH = 300
_MAX_HITS = 12  # per input and kind: what a brief states is a handful; more is noise, or an attack
_CLAUSE_END = ";；。\n"
_SUBCLAUSE_END = ",，;；。\n()（）、"


@dataclass
class _Hit:
    """One value read from one input: the words it stands on and every span of numbers it accounts for."""

    value: Any
    start: int
    end: int
    consumed: list[Span] = field(default_factory=list)

    def spans(self) -> list[Span]:
        return [(self.start, self.end), *self.consumed]


def _bounds(text: str, start: int, end: int, stops: str) -> Span:
    """The span between the stops around [start, end); a clause reaches at most _REACH characters either side, which
    keeps every look-around bounded however long a field without punctuation is."""
    lo, hi = max(0, start - _REACH), min(len(text), end + _REACH)
    left = max((text.rfind(c, lo, start) for c in stops), default=-1)
    rights = [i for i in (text.find(c, end, hi) for c in stops) if i != -1]
    return (left + 1 if left != -1 else lo), (min(rights) if rights else hi)


def _clause(text: str, start: int, end: int) -> Span:
    return _bounds(text, start, end, _CLAUSE_END)


def _subclause(text: str, start: int, end: int) -> Span:
    """The comma-delimited part of a clause around a span (a thousands comma between digits does not end it)."""
    left, right = _clause(text, start, end)
    s, e = left, right
    for stop in _SUBCLAUSE_END:  # the nearest stop on each side, found by str.find rather than a step at a time
        i = text.rfind(stop, left, start)
        while i != -1 and _thousands_comma(text, i):
            i = text.rfind(stop, left, i)
        if i != -1:
            s = max(s, i + 1)
        i = text.find(stop, end, right)
        while i != -1 and _thousands_comma(text, i):
            i = text.find(stop, i + 1, right)
        if i != -1:
            e = min(e, i)
    return s, e


def _thousands_comma(text: str, i: int) -> bool:
    return text[i] == "," and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # quoted spans go to terminals and Markdown: no escapes


def _short(text: str, start: int, end: int, limit: int = 80) -> str:
    """A span of at most `limit` characters, trimmed; widened no further than the text it stands in."""
    piece = _CONTROL.sub("", text[start:end]).strip(" \t,，;；:：、()（）")
    if len(piece) <= limit:
        return piece
    return piece[: limit - 1].rstrip() + "…"


def _overlaps(spans: Iterable[Span], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


class _Mask:
    """The characters some spans cover, so that 'does this span touch one of them' costs the span's length only."""

    def __init__(self, size: int, spans: Iterable[Span] = ()) -> None:
        self.covered = bytearray(size + 1)
        for s, e in spans:
            self.add(s, e)

    def add(self, start: int, end: int) -> None:
        self.covered[start:end] = b"\x01" * max(0, end - start)

    def touches(self, start: int, end: int) -> bool:
        return 1 in self.covered[start:end]


# -- budget -----------------------------------------------------------------------------------------------------------
_BUDGET_WORD = (
    r"预算|经费|营销费用|费用上限|费用|投入|花费|资金|budget|spend(?:ing)?(?: cap| limit)?|funding|can spend|"
    r"allocat(?:ed|ion)"
)
_PRICE_BEFORE = re.compile(
    r"(?:客单价|单价|售价|价格|定价|标价|月费|年费|收入|营收|销售额|流水|GMV|ARPU|ARPA|ARPPU|ARR|MRR|LTV|CAC|revenue|"
    r"sales|turnover|prices?d?|pricing|costs? per|per seat|plans? (?:at|from)|tier|basic|pro|team|business|starter|"
    r"enterprise|premium|plus)\s*(?:is|are|of|at|from|为|是|约|:|：)?\s*$",
    _I,
)
_PRICE_AFTER = re.compile(
    r"\s*(?:/\s*(?:seat|user|人|席位|席|位|account|member|head|单|件|次)|per (?:seat|user|account|member|"
    r"head|order)|每人|每席位|每单|ARR|MRR|GMV|revenue|in revenue|in sales|of revenue|营收|销售额|的?收入)",
    _I,
)


def _is_price(text: str, amount: _Amount) -> bool:
    before = text[max(0, amount.start - 16) : amount.start]
    return bool(_PRICE_BEFORE.search(before) or _PRICE_AFTER.match(text, amount.end))


def _period_near(text: str, spans: list[Span]) -> tuple[str | None, Span | None]:
    """The period word closest to the amount, within the sub-clauses of the amount and its budget word; a total word
    ("in total", "总计") closer than any period word makes it a total."""
    regions = {_subclause(text, s, e) for s, e in spans}
    last = max(e for _, e in regions)
    if last < len(text) and text[last] in ",，":  # "¥50万元,全年", "HK$300k, quarterly": a period word on its own
        ns, ne = _subclause(text, last + 1, last + 1)
        if re.fullmatch(rf"\s*(?:{'|'.join(p for p, _ in _PERIOD_WORDS)})\s*", text[ns:ne], _I):
            regions.add((ns, ne))
    anchor = spans[0]
    best: tuple[int, str | None, Span] | None = None
    for rs, re_ in sorted(regions):
        region = text[rs:re_]
        for pattern, period in [*_PERIOD_WORDS, (_TOTAL_WORDS, None)]:
            for match in _rx(pattern).finditer(region):
                s, e = rs + match.start(), rs + match.end()
                distance = max(anchor[0] - e, s - anchor[1], 0)
                if best is None or distance < best[0]:
                    best = (distance, period, (s, e))
    if best is None:
        return None, None
    return best[1], best[2]


def _budget_hits(text: str, bearing: bool) -> list[_Hit]:
    """Budgets in one input, best first: an amount next to a budget word; in a constraint-bearing input, also a
    currency amount with no budget word ("EUR 25k for the quarter", "¥30万, two ops staff")."""
    amounts = _amounts(text)
    hits: list[_Hit] = []
    for keyword in islice(_rx(_BUDGET_WORD).finditer(text), _MAX_HITS):
        cs, ce = _clause(text, keyword.start(), keyword.end())
        after = [a for a in amounts if keyword.end() <= a.start <= keyword.end() + 40 and a.end <= ce]
        after = [a for a in after if not _is_price(text, a)]
        before = [
            a
            for a in amounts
            if keyword.start() - 40 <= a.end <= keyword.start()
            and a.start >= cs
            and _subclause(text, a.start, a.end) == _subclause(text, keyword.start(), keyword.end())
        ]
        chosen = after[0] if after else (before[-1] if before else None)
        if chosen is None:
            bare = re.match(
                rf"\s*(?:(?:总额|总计|为|是|约|共|上限|cap|of|is|:|：|at most|up to|≤|<=)\s*)*(?P<n>{NUM})(?!\s*[%％.\d])",
                text[keyword.end() :],
                _I,
            )
            if not bare or parse_number(bare["n"]) < 100 or _COUNT_NOUN.match(text, keyword.end() + bare.end()):
                continue
            if re.match(
                r"\s*(?:天|日|周|个月|季度|年|days?|weeks?|months?|years?)", text[keyword.end() + bare.end() :], _I
            ):
                continue
            chosen = _Amount(
                keyword.end() + bare.start("n"),
                keyword.end() + bare.end("n"),
                Money(parse_number(bare["n"]), None),
                False,
                False,
            )
        if _per_unsupported_period(text, chosen):
            continue
        hits.append(_budget_hit(text, chosen, (keyword.start(), keyword.end()), amounts))
    if bearing:
        for amount in amounts[: _MAX_HITS * 2]:
            if not amount.currency or amount.money.amount < 1000 or _is_price(text, amount):
                continue
            if _rx(r"(?:价值|估值|worth|valued at|value of)\s*(?:约|about|around|~)?\s*$").search(
                text, 0, amount.start
            ):
                continue
            if any(_overlaps(h.spans(), amount.start, amount.end) for h in hits):
                continue
            if _per_unsupported_period(text, amount):
                continue
            hits.append(_budget_hit(text, amount, None, amounts))
    hits.sort(key=lambda h: h.start)
    return hits


_UNSUPPORTED_PERIOD = re.compile(
    r"\s*(?:weekly|per week|a week|each week|every week|/\s*w(?:ee)?k\b|每周|每星期|/\s*周|daily|per day|a day|each day|"
    r"/\s*day\b|每天|每日|/\s*天|per hour|/\s*h(?:ou)?r\b)",
    _I,
)


def _per_unsupported_period(text: str, amount: _Amount) -> bool:
    """'$5k per week', '每天预算500元': a budget per week or day has no period the checker knows, so it stays unread
    rather than be taken for the whole plan's."""
    s, _ = _subclause(text, amount.start, amount.end)
    return bool(_UNSUPPORTED_PERIOD.match(text, amount.end) or _UNSUPPORTED_PERIOD.search(text[s : amount.start] + " "))


def _budget_hit(text: str, amount: _Amount, keyword: Span | None, amounts: Iterable[_Amount]) -> _Hit:
    spans = [(amount.start, amount.end)] + ([keyword] if keyword else [])
    period, period_span = _period_near(text, spans)
    if period_span:
        spans.append(period_span)
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    money = amount.money
    consumed: list[Span] = []
    cs, ce = _clause(text, start, end)
    for other in amounts:  # a restated equivalent of the same budget: "每月2万(季度合计6万)", "$45k in total"
        if other is amount or other.start < cs or other.end > ce or not money.amount or abs(other.start - start) > 160:
            continue
        ratio = other.money.amount / money.amount
        said_period, _ = _period_near(text, [(other.start, other.end)])  # a period, or None for a total
        near_total = re.search(_TOTAL_WORDS, text[max(cs, other.start - 12) : other.end + 12], _I)
        if abs(ratio - 1) < 1e-9 or (
            (said_period or near_total) and any(abs(ratio - k) < 1e-6 for k in (2, 3, 4, 6, 12, 1 / 3, 1 / 4, 1 / 12))
        ):
            consumed.append((other.start, other.end))
            _, said_span = _period_near(text, [(other.start, other.end)])
            if said_span:
                consumed.append(said_span)
    return _Hit((money, period), start, end, consumed)


def read_budget(text: str) -> tuple[Money | None, str | None]:
    """The budget a constraint text states and its period ('季度预算12万元' -> 120000 CNY per quarter)."""
    hits = _budget_hits(text, bearing=True)
    if not hits:
        return None, None
    money, period = hits[0].value
    return money, period


# -- cost cap against revenue -----------------------------------------------------------------------------------------
_PERCENT = r"(?:[%％]|\s*percent\b|\s*per cent\b)"
_PCT = rf"(?P<low>{NUM})\s*[%％]?(?:{DASH}(?P<high>{NUM}))?\s*{_PERCENT}"
_REVENUE_ZH = (
    r"销售额|销售收入|营业收入|营业额|营收|总收入|收入|实收金额|实收|实付金额|实付|成交额|成交金额|交易额|流水|GMV"
)
_REVENUE_EN = (
    r"(?:the |our |total |annual |monthly |net |gross )*(?:sales|revenues?|gmv|turnover|paid amounts?|amounts? paid|"
    r"billings|bookings|receipts|takings)"
)
_COST_WORD = (
    r"成本|预算|费用|激励|投入|补贴|奖励|让利|支出|花费|返利|积分|cost|budget|spend|incentive|reward|subsid|expense|"
    r"outlay|investment|points?|perks?|benefits?"
)
_CAP_BEFORE = (
    r"不超过|不超|不高于|不多于|不大于|最多|至多|最高|最大|上限为?|上限是|控制在|限制在|限定在|小于等于|低于|少于|≤|<=|<|＜|"
    r"at most|no more than|not (?:to )?exceed(?:ing)?|must not exceed|never exceed|(?:of )?up to|max(?:imum)?(?: of)?|"
    r"capped at|cap(?:ped)? (?:of|at)|limited to|under|below|within|no greater than|no higher than|no deeper than|"
    r"not above|not more than|never more than|less than"
)


def _cost_cap_hits(text: str) -> list[_Hit]:
    if not _has_percent(text):  # every cap is a percentage: most inputs are skipped here
        return []
    patterns = [
        rf"(?:{_REVENUE_ZH})\s*(?:的|之)?\s*(?:比例|比重|占比)?\s*(?:{_CAP_BEFORE})?\s*(?:的)?\s*{_PCT}",
        rf"(?:占|为|是)\s*(?:{_REVENUE_ZH})\s*(?:的)?\s*(?:比例|比重|占比)?\s*(?:{_CAP_BEFORE})?\s*{_PCT}",
        rf"{_PCT}\s*(?:of|of the|of our)\s+{_REVENUE_EN}\b",
    ]
    hits: list[_Hit] = []
    for pattern in patterns:
        for match in _rx(pattern).finditer(text):
            cs, ce = _clause(text, match.start(), match.end())
            if re.search(_COST_WORD, text[cs:ce], _I):
                hits.append(_Hit(parse_number(match["high"] or match["low"]), match.start(), match.end()))
    hits.sort(key=lambda h: h.start)
    return hits


def read_revenue_share_cap(text: str) -> float | None:
    """'激励成本控制在销售额的3%-4.5%' -> 4.5; 'incentive cost ≤ 4% of GMV' -> 4; '激励成本不超过实收的3%' -> 3."""
    hits = _cost_cap_hits(text)
    return hits[0].value if hits else None


# -- discount cap -----------------------------------------------------------------------------------------------------
_DISCOUNT_WORD = (
    r"折扣|优惠|让利|降价|减价|打折|discounts?|price cuts?|markdowns?|promo(?:tion)?s?|coupons?|vouchers?|rebates?"
)
_GAP = r"(?:\s*(?:must|should|can|may|will|are|is|of|to be|be|kept|keep|stay|remain|always|all|any|均|都|一律|须|需|要|应|必须|为|是|:|：))*\s*"
_V = rf"(?P<v>{NUM})\s*{_PERCENT}"
_ZHE = r"(?P<z>\d+(?:\.\d+)?|[一二三四五六七八九](?:[一二三四五六七八九]|点[一二三四五六七八九])?)\s*折"


def _discount_hits(text: str) -> list[_Hit]:
    if not (_has_percent(text) or "折" in text or "成" in text):  # every cap is a percentage, an N折 or N成
        return []
    off = [
        rf"(?:{_DISCOUNT_WORD})(?:幅度|力度|上限|率|额度|cap|rates?|depth)?{_GAP}(?:{_CAP_BEFORE})\s*{_V}",
        rf"(?:{_DISCOUNT_WORD})(?:幅度|力度|上限)?\s*{_V}\s*(?:以内|以下|之内|封顶|为上限|为限|max(?:imum)?\b|at most|or less|tops\b)",
        rf"(?:{_CAP_BEFORE})\s*(?:{_DISCOUNT_WORD})(?:幅度|力度)?\s*(?:of|is|at|为|是|:|：)?\s*{_V}",
        rf"(?:{_CAP_BEFORE})\s*{_V}\s*(?:off|discounts?|的?折扣|的?优惠|的?让利|price cut)",
        rf"{_V}\s*(?:off|discounts?)\s*(?:max(?:imum)?|at most|tops|or less|cap)\b",
        rf"{_V}\s*(?:max(?:imum)?|cap(?:ped)?)\s*(?:discounts?|off)\b",
        rf"(?:discount|折扣|优惠)\s*(?:cap|ceiling|limit|上限|封顶)\s*(?:of|is|at|为|是|:|：)?\s*{_V}",
        rf"\bno\s+(?:{_DISCOUNT_WORD})\s+(?:deeper|bigger|larger|greater|higher|above|over|more|beyond)\s*(?:than)?\s*{_V}",
        rf"(?:never|don't|do not|not|won't|will not)\s+discount\s+(?:by\s+)?(?:more than|over|above|beyond|deeper than)\s*{_V}",
        rf"\bnothing\s+(?:deeper|more|bigger)\s+than\s*{_V}\s*off",
    ]
    hits: list[_Hit] = []
    low = text.lower()
    words = ("折扣", "优惠", "让利", "降价", "减价", "打折", "discount", "price cut", "markdown", "promo", "coupon",
             "voucher", "rebate", "off")  # fmt: skip
    for pattern in off if any(w in low for w in words) else ():
        for match in _rx(pattern).finditer(text):
            hits.append(_Hit(parse_number(match["v"]), match.start(), match.end()))
    price_floor = [  # the price paid may not go below N% of list: at most 100-N off
        rf"(?:不低于|不得低于|不能低于|不少于|至少为?)\s*(?:原价|标价|定价|零售价)的?\s*{_V}",
        rf"(?:(?:no|never|not)\s+(?:lower|less|below)\s+than|at least)\s*{_V}\s+of\s+(?:the\s+)?(?:list|full|regular)\s+price",
    ]
    for pattern in price_floor if any(w in low for w in ("原价", "标价", "定价", "零售价", "price")) else ():
        for match in _rx(pattern).finditer(text):
            hits.append(_Hit(round(100 - parse_number(match["v"]), 2), match.start(), match.end()))
    zhe = [  # Chinese "N折" is the price paid: 不低于8.5折 / 最低八五折 / 最多打9折 / 8折封顶
        rf"(?:不低于|不得低于|不能低于|不少于|最低|最多|最大|最高|低至|至多)\s*(?:打|到|至|为|是)?\s*(?:原价的?)?\s*{_ZHE}",
        rf"{_ZHE}\s*(?:封顶|为限|是底线|为底线|为下限|以上|起)",
        rf"(?:折扣|优惠)(?:力度|幅度)?\s*(?:不超过|不低于|最多|最低|上限为?|为|是|:|：)\s*{_ZHE}",
        rf"(?:折扣|优惠)(?:力度|幅度)?\s*(?:控制在|限制在|保持在)\s*{_ZHE}\s*(?:以内|以上)?",
    ]
    for pattern in zhe if "折" in text else ():
        for match in _rx(pattern).finditer(text):
            hits.append(_Hit(zhe_to_off(match["z"]), match.start(), match.end()))
    tenths = rf"(?:{_DISCOUNT_WORD})(?:幅度|力度)?{_GAP}(?:{_CAP_BEFORE})\s*(?P<c>[一二两三四五])成"  # 两成 = 20% off
    for match in _rx(tenths).finditer(text) if "成" in text else ():
        hits.append(_Hit(float(_CN_DIGITS[match["c"]] * 10), match.start(), match.end()))
    hits.sort(key=lambda h: h.start)
    return hits


def _has_percent(text: str) -> bool:
    return "%" in text or "％" in text or "percent" in text.lower() or "per cent" in text.lower()


def read_discount_cap(text: str) -> float | None:
    """'折扣不超过15%', '最低8.5折', '最多打9折', 'discounts capped at 15%', 'no discount deeper than 10%' -> percent off."""
    hits = _discount_hits(text)
    return hits[0].value if hits else None


# -- horizon ----------------------------------------------------------------------------------------------------------
_UNIT_ZH = r"个?月|天|日|周|个?星期|个?季度|年"
_UNIT_ZH_STRICT = r"个月|天|日(?!期)|周(?![一二三四五六日天末])|个?星期(?![一二三四五六日天])|个?季度|年(?![级龄纪])"
_UNIT_EN = r"days?|weeks?|wks?|months?|mos?|quarters?|years?|yrs?"
_N_EN = rf"(?:{NUM}|{EN_WORD})"
_METRIC_AFTER = re.compile(
    r"\s*(?:的)?\s*(?:内的?)?\s*(?:流失|留存|复购|转化|活跃|回购|续费率|续订率|召回|retention|churn|conversion|active|repeat|"
    r"renewal rate|ltv|payback|trial|试用|免费|free)",
    _I,
)
_PROJECTION = r"预测|预估|展望|规划|计划|project(?:ing|ion|ed)?|forecast(?:ing)?|plan(?:ning)?(?: for)?|outlook|target"
_DATA_WORD = (
    r"数据|订单|记录|历史|样本|交易|日志|导出|覆盖|观察期|统计|data|orders?|records|history|historical|sample|"
    r"transactions|logs?|export(?:ed)?|covers?|observed|observation|collected|span(?:s|ning)?"
)
_QUARTER_NO = {"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4}


@lru_cache(maxsize=256)
def _data_windows(text: str) -> tuple[Span, ...]:
    """Spans that describe the data, not the plan: 'last 12 months of data', '过去12个月', 'data covers Q1-Q2 2024'."""
    patterns = [
        rf"\b(?:the\s+)?(?:last|past|previous|prior|trailing|preceding|historical)\s+(?:{_N_EN}\s+)?(?:{_UNIT_EN})\b",
        rf"(?:过去|近|最近|以往|历史|前)\s*(?:{COUNT})?\s*(?:{_UNIT_ZH})",
        rf"{_N_EN}\s+(?:{_UNIT_EN})\s+(?:of|worth of)\s+(?:data|history|orders|transactions|usage|records|logs|events)",
        rf"(?:{COUNT})\s*(?:{_UNIT_ZH_STRICT})\s*(?:的)?(?:数据|订单|记录|历史|交易|日志|样本)",
    ]
    low = text.lower()
    triggers = [("last", "past", "previous", "prior", "trailing", "preceding", "historical"),
                ("过去", "近", "以往", "历史", "前"), (" of ",), ("数据", "订单", "记录", "历史", "交易", "日志", "样本")]  # fmt: skip
    spans = [
        (m.start(), m.end())
        for p, words in zip(patterns, triggers, strict=True)
        if any(w in low for w in words)
        for m in _rx(p).finditer(text)
    ]
    for match in _rx(_DATA_WORD).finditer(text):  # a whole sub-clause about the data: "数据为2025年7-12月"
        s, e = _subclause(text, match.start(), match.end())
        if not re.search(_PROJECTION, text[s:e], _I):
            spans.append((s, e))
    return tuple(spans)


def _horizon_hits(text: str, timeline: bool, bearing: bool = False, plan_timeline: bool = False) -> list[_Hit]:
    """Horizons stated in one input. `timeline`: the input holds the timeline, so a bare duration is one too;
    `bearing`: the input holds constraints, so 'for 6 months' and 'max 3 months' are the plan's too; `plan_timeline`:
    it is the plan's own timeline (not a data window), so a range of months is the plan's."""
    found: list[_Hit] = []
    if not _rx(
        r"[天日周月季年]|day|week|wk|mo|quarter|year|yr|q\s*[1-4]|half|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
    ).search(text):
        return found

    low = text.lower()

    def add(days: int, match: re.Match[str]) -> None:
        if days > 0:
            found.append(_Hit(days, match.start(), match.end()))

    def scan(pattern: str, *triggers: str) -> Iterable[re.Match[str]]:
        """The matches of a pattern, skipped outright when none of the words it needs is in the text."""
        return _rx(pattern).finditer(text) if any(map(low.__contains__, triggers)) else ()

    counted = [
        rf"(?:未来|为期|周期为?|计划期为?|接下来(?:的)?|今后|往后|之后的|时间范围为?|时长)\s*[:：]?\s*(?P<n>{COUNT})\s*(?P<u>{_UNIT_ZH})",
        rf"(?<![后起前第])(?P<n>{COUNT})\s*(?P<u>{_UNIT_ZH_STRICT})\s*(?:内|之内|以内|期间|计划|方案|周期|冲刺|项目|时间)",
        rf"分\s*(?P<n>{COUNT})\s*(?P<u>个月|个?季度|周|年)(?:使用|执行|投放|推进|完成|落地|进行)",
        rf"\b(?:within|(?:in|over|for|during|across)\s+the\s+(?:next|coming|following)|(?:the\s+)?next|the\s+coming|"
        rf"for\s+(?:the\s+)?next)\s+(?P<n>{_N_EN})\s+(?P<u>{_UNIT_EN})\b(?!\s+(?:of|after|from|since)\b)",
        rf"(?P<n>{_N_EN})[- ](?P<u>day|week|month|quarter|year)(?:s?-long)?\s+(?:plan|campaign|program(?:me)?|horizon|window|"
        r"push|sprint|pilot|initiative|effort|roadmap|project|timeline|run|engagement|period)",
        rf"(?:horizon|timeline|timeframe|time frame|duration)\s*(?:of|is|:|-)?\s*(?:about\s+|roughly\s+)?(?P<n>{_N_EN})\s+(?P<u>{_UNIT_EN})\b",
    ]
    triggers = [
        ("未来", "为期", "周期", "计划期", "接下来", "今后", "往后", "之后", "时间范围", "时长"),
        ("内", "期间", "计划", "方案", "周期", "冲刺", "项目", "时间"),
        ("分",),
        ("within", "next", "coming"),
        ("plan", "campaign", "program", "horizon", "window", "push", "sprint", "pilot", "initiative", "effort",
         "roadmap", "project", "timeline", "run", "engagement", "period"),
        ("horizon", "timeline", "timeframe", "time frame", "duration"),
    ]  # fmt: skip
    for pattern, words in zip(counted, triggers, strict=True):
        for match in scan(pattern, *words):
            if _METRIC_AFTER.match(text, match.end()) and not _goal_within(text, match):
                continue  # "90-day retention", "90天内流失率是整体的2.1倍": a metric's window
            add(to_days(parse_number(match["n"]), duration_unit(match["u"])), match)
    for match in scan(rf"\bover\s+(?P<n>{_N_EN})\s+(?P<u>{_UNIT_EN})\b", "over"):  # "over 6 months"
        s, _ = _subclause(text, match.start(), match.end())
        if not re.search(
            r"[%％]|down|up|drop|declin|fall|rise|grow|usage|churn|retention", text[s : match.start()], _I
        ):
            add(to_days(parse_number(match["n"]), duration_unit(match["u"])), match)
    exact = [
        (r"未来半年|接下来(?:的)?半年|半年内|半年之内|下半年|(?:the\s+)?(?:coming|next)\s+half[- ]year|"
         r"(?:within|over|in|for)\s+(?:the\s+next\s+)?half a year|second half of the year", 182, ("半年", "half")),
        (r"一年内|未来一年|接下来(?:的)?一年|(?:within|over|in|for)\s+(?:the\s+next\s+|the\s+coming\s+)(?:year|12 months)|"
         r"within (?:a|one) year|the coming year|next twelve months", 365, ("一年", "year", "twelve")),
        (r"本季度|下季度|下个季度|下一季度|这个季度|(?:this|next|the coming|the next) quarter|"
         r"(?:within|for|over) (?:a|one|the) quarter", 91, ("季度", "quarter")),
        (r"下个月|下一个月|本月内|(?:within|for|over) (?:a|one|the (?:next|coming)) month|(?:next|the coming) month", 30,
         ("月", "month")),
    ]  # fmt: skip
    for pattern, days, words in exact:
        for match in scan(pattern, *words):
            add(days, match)
    q = r"(?:Q\s*(?P<{0}>[1-4])|第\s*(?P<{0}z>[一二三四1-4])\s*(?:季度)?|(?P<{0}c>[一二三四])(?=\s*(?:、|和|与|至|到|-|–)?\s*[一二三四]?\s*季度))"
    q_range = rf"{q.format('a')}\s*(?:-|–|—|~|～|至|到|to|through|、|和|与|and|&|/)\s*{q.format('b')}\s*(?:季度)?"
    for match in scan(q_range, "q", "季度"):
        if _about_data(text, match):
            continue
        a = _QUARTER_NO[match["a"] or match["az"] or match["ac"]]
        b = _QUARTER_NO[match["b"] or match["bz"] or match["bc"]]
        if b >= a:
            add(to_days(b - a + 1, "quarter"), match)
    quarter = r"(?:(?<![A-Za-z0-9])Q[1-4](?![0-9])|第[一二三四1-4]季度)(?!\s*(?:-|–|至|到|、|和|to|through)\s*(?:Q|第))"
    single = rf"(?:{_PROJECTION})\s*[^,，;；。\n]{{0,10}}?{quarter}"
    for match in scan(single if not timeline else quarter, "q", "季度"):  # "计划Q4执行"; in a timeline: "Q4 2026"
        if not _about_data(text, match) and not _overlaps(
            [(h.start, h.end) for h in found], match.start(), match.end()
        ):
            add(91, match)
    if bearing or timeline:
        for match in scan(_MONTH_RANGE_ZH, "月"):
            _month_range(text, match, add, plan_timeline)
        for match in scan(_MONTH_RANGE_EN, *_MONTHS):
            _month_range(text, match, add, plan_timeline)
        limited = rf"\b(?:for|max(?:imum)?|at most|up to|no (?:more|longer) than|最多|最长|不超过)\s*(?P<n>{COUNT})\s*(?P<u>{_UNIT_ZH_STRICT}|(?:{_UNIT_EN})\b)"
        for match in scan(limited, "for", "max", "most", "up to", "no ", "最多", "最长", "不超过"):
            if not _METRIC_AFTER.match(text, match.end()) and not re.fullmatch(r"(?:19|20)\d\d", match["n"]):
                add(to_days(parse_number(match["n"]), duration_unit(match["u"])), match)
    if timeline:
        bare = rf"(?<![第\d.])(?P<n>{COUNT})\s*(?P<u>{_UNIT_ZH_STRICT}|{_UNIT_EN})\b|(?P<half>半年|half[- ]year|six months)"
        for match in _rx(bare).finditer(text):
            if match["half"]:
                add(182, match)
            elif not re.fullmatch(r"(?:19|20)\d\d", match["n"] or "") and not _METRIC_AFTER.match(text, match.end()):
                add(to_days(parse_number(match["n"]), duration_unit(match["u"])), match)
    windows = _data_windows(text)
    return [h for h in found if not _overlaps(windows, h.start, h.end)]


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_RANGE_ZH = r"(?:(?P<y1>\d{4})\s*年\s*)?(?<!\d)(?P<m1>\d{1,2})\s*月?\s*(?:至|到|-|~|～|–)\s*(?:(?P<y2>\d{4})\s*年\s*)?(?P<m2>\d{1,2})\s*月"
_MONTH_RANGE_EN = (
    rf"\b(?P<n1>{'|'.join(_MONTHS)})[a-z]*\.?(?:\s+(?P<y1>\d{{4}}))?\s*(?:to|through|until|till|-|–|—)\s*"
    rf"(?P<n2>{'|'.join(_MONTHS)})[a-z]*\.?(?:\s+(?P<y2>\d{{4}}))?\b"
)
_PLAN_WORD = (
    r"执行|开展|进行|上线|推进|活动|投放|计划|项目|促销|运营期|campaign|\brun|plan|launch|program|execut|roll(?:ing)? out|"
    r"pilot|deliver"
)


def _month_range(text: str, match: re.Match[str], add: Callable[[int, re.Match[str]], None], plan: bool) -> None:
    """'2026年7月至12月执行', 'run the campaign from July to December': months of a plan (never of the data). `plan`:
    the input is the plan's timeline, so no plan word is needed ('July–December 2026')."""
    s, e = _subclause(text, match.start(), match.end())
    if _about_data(text, match) or not (plan or _rx(_PLAN_WORD).search(text[s:e])):
        return
    if match.groupdict().get("n1"):
        m1, m2 = _MONTHS.index(match["n1"][:3].lower()) + 1, _MONTHS.index(match["n2"][:3].lower()) + 1
    else:
        m1, m2 = int(match["m1"]), int(match["m2"])
    if not (1 <= m1 <= 12 and 1 <= m2 <= 12):
        return
    years = int(match["y2"]) - int(match["y1"]) if match["y1"] and match["y2"] else 0
    months = years * 12 + m2 - m1 + 1
    if years == 0 and m2 < m1:  # "Nov to Feb"
        months += 12
    if 0 < months <= 36:
        add(to_days(months, "month"), match)


def _goal_within(text: str, match: re.Match[str]) -> bool:
    """'12个月内复购率提升': a deadline for a goal on a metric, not the metric's own window."""
    _, e = _clause(text, match.start(), match.end())
    return bool(re.search(r"内|within|in the next", match.group(0), _I)) and bool(
        re.search(_GOAL_VERB, text[match.end() : e], _I)
    )


def _about_data(text: str, match: re.Match[str]) -> bool:
    """A date range in a sub-clause about the data ('data covers Q1-Q2 2024') with no projection word before it."""
    s, _ = _subclause(text, match.start(), match.end())
    before = text[s : match.start()]
    return bool(_rx(_DATA_WORD).search(before)) and not _rx(_PROJECTION).search(before)


def read_horizon(text: str, bare: bool = False) -> int | None:
    """The longest horizon stated: '90天内' -> 90; 'within two quarters' -> 182; 'the coming half-year' -> 182.

    `bare` also reads a duration with no 'within' around it ('90天', '6 weeks'): for fields that hold the timeline.
    A data window ('last 12 months of data') or a metric window ('90-day retention') is never a horizon.
    """
    hits = _horizon_hits(text, bare)
    return max(h.value for h in hits) if hits else None


# -- team size --------------------------------------------------------------------------------------------------------
_N_TEAM = rf"(?:{NUM}|{CN_NUM}|{EN_WORD})"
_ROLE_EN = (
    r"staff(?:ers)?|people|persons?|FTEs?|CSMs?|CSRs?|AMs?|SDRs?|marketers?|engineers?|developers?|devs?|designers?|"
    r"analysts?|operators?|agents?|reps?|representatives?|managers?|specialists?|team members?|employees?|hires?|PMs?|"
    r"writers?|copywriters?|scientists?|coordinators?|associates?|strategists?|ops people|ops|consultants?|"
    r"contractors?|freelancers?|interns?|heads?"
)
_ROLE_ZH = (
    r"客户成功经理|客户成功|客户经理|运营专员|运营|客服|销售|工程师|开发|研发|设计师|设计|数据分析师|分析师|市场|产品经理|"
    r"产品|专员|同事|员工|人员|文案|美工|店长|顾问|实习生|兼职"
)
_MODIFIER = r"(?:(?!of\b|the\b|and\b|or\b|to\b|for\b|per\b|few\b|lot\b|couple\b|number\b|handful\b|bunch\b|dozen\b)[a-z][a-z-]*\s+)"
_CUSTOMER_BEFORE = re.compile(
    r"(?:用户|客户|会员|粉丝|触达|覆盖|服务|reach|customers?|users?|members|accounts?|subscribers|audience|companies|"
    r"businesses|of)\s*(?:约|about|around|of)?\s*$",
    _I,
)


_TEAM_WORDS = ("团队", "人手", "小组", "编制", "人员", "人力", "共", "合计", "team", "staff", "person", "people", "member",
               "strong", "man", "headcount", "fte", "full-time", "total", "altogether")  # fmt: skip


def _team_totals(text: str, bearing: bool = True) -> list[_Hit]:
    low = text.lower()
    if not any(w in low for w in _TEAM_WORDS):
        return []
    patterns = [
        rf"(?:团队|人手|小组|编制|人员|人力)(?:规模|共|总共|一共|合计|为|是|有|:|：|\s)*(?P<n>{NUM}|{CN_NUM})\s*(?:人|名|位)",
        rf"(?P<n>{NUM}|{CN_NUM})\s*(?:人|名)(?:的)?[^\s,，;；。\n]{{0,4}}?(?:团队|小组)",
        rf"(?:共|总共|一共|合计|共计)\s*(?P<n>{NUM}|{CN_NUM})\s*(?:人|名|位)",
        rf"\bteam of (?P<n>{_N_EN})\b",
        rf"\bstaff of (?P<n>{_N_EN})\b",
        rf"(?P<n>{_N_EN})[- ](?:person|people|member|strong|man|headcount)\s+(?:\w+\s+)?team",
        rf"\bteam\s+(?:size\s+)?(?:is|of|:|=)\s*(?P<n>{_N_EN})\b",
        rf"(?P<n>{_N_EN})\s+(?:FTEs?|full-time (?:staff|people|equivalents?)|people on the team|people in total|staff in total)\b",
        rf"\bheadcount(?: of| is|:)?\s*(?P<n>{NUM}|{EN_WORD})",
        rf"\b(?:in total|total(?: of)?|altogether)\s*(?P<n>{_N_EN})\s+(?:people|staff|persons)",
    ]
    hits = []
    for pattern in patterns:
        for match in _rx(pattern).finditer(text):
            if not bearing and _CUSTOMER_BEFORE.search(text[max(0, match.start() - 12) : match.start()]):
                continue  # "ops leads of 3 people teams": the customers' teams
            value = parse_number(match["n"])
            if 0 < value < 10_000 and float(value).is_integer():
                hits.append(_Hit(int(value), match.start(), match.end()))
    return sorted(hits, key=lambda h: h.start)


@lru_cache(maxsize=256)
def _team_roles(text: str) -> tuple[_Hit, ...]:
    """Head-counts of a role: 'two ops staff', '3 CSMs', '1名运营', '运营2人', '3人'."""
    patterns = [
        rf"(?<![\d.])(?P<n>{_N_EN})\s+{_MODIFIER}{{0,2}}(?:{_ROLE_EN})\b",
        rf"(?<![\d.])(?P<n>{NUM}|{CN_NUM})\s*(?:名|位|个)\s*(?:{_ROLE_ZH})",
        rf"(?:{_ROLE_ZH})\s*(?P<n>{NUM}|{CN_NUM})\s*(?:人|名|位)",
        rf"(?<![\d.])(?P<n>{NUM}|{CN_NUM})\s*(?:人|名)(?![次均民天])",
    ]
    hits: list[_Hit] = []
    seen = _Mask(len(text))
    for pattern in patterns:
        for match in _rx(pattern).finditer(text):
            if seen.touches(match.start(), match.end()):
                continue
            if _CUSTOMER_BEFORE.search(text[max(0, match.start() - 12) : match.start()]):
                continue
            value = parse_number(match["n"])
            if 0 < value < 500 and float(value).is_integer():
                hits.append(_Hit(int(value), match.start(), match.end()))
                seen.add(match.start(), match.end())
    return tuple(sorted(hits, key=lambda h: h.start))


def _team_hits(text: str, bearing: bool) -> list[_Hit]:
    """The team in one input: a stated total wins and accounts for its breakdown ("团队3人(运营1、客服2)"); in a
    constraint-bearing input the head-counts of every role are summed ("1名运营+2名客服" -> 3)."""
    totals = _team_totals(text, bearing)
    roles = _team_roles(text) if bearing else ()
    if totals:
        first = totals[0]
        cs, ce = _clause(text, first.start, first.end)
        first.consumed = [s for r in roles if cs <= r.start < ce or r.value == first.value for s in r.spans()] + [
            (t.start, t.end) for t in totals[1:] if t.value == first.value
        ]
        return [first]
    roles = _without_breakdowns(text, roles)
    if roles:
        first, last = roles[0], roles[-1]
        end = last.end if _clause(text, first.start, first.end) == _clause(text, last.start, last.end) else first.end
        return [_Hit(sum(r.value for r in roles), first.start, end, [s for r in roles for s in r.spans()])]
    return []


def _without_breakdowns(text: str, roles: tuple[_Hit, ...]) -> tuple[_Hit, ...]:
    """'two people (one CSM, one marketer)' is two people: a breakdown in brackets that adds up to the count before it
    is part of that count, not more people."""
    kept = list(roles)
    for role in roles:
        inside = re.match(r"\s*[(（]([^)）]*)[)）]", text[role.end :])
        if not inside or role not in kept:
            continue
        s, e = role.end + inside.start(1), role.end + inside.end(1)
        parts = [r for r in kept if s <= r.start and r.end <= e]
        if parts and sum(r.value for r in parts) == role.value:
            kept = [r for r in kept if r not in parts]
            kept[kept.index(role)] = _Hit(
                role.value, role.start, role.end, [*role.consumed, *((r.start, r.end) for r in parts)]
            )
    return tuple(kept)


def read_team_size(text: str) -> int | None:
    """'增长团队3人', 'team of 3', 'two ops staff', '3 CSMs', '1名运营+2名客服' (3), 'one marketer and two engineers' (3)."""
    hits = _team_hits(text, bearing=True)
    return hits[0].value if hits else None


# -- channels ---------------------------------------------------------------------------------------------------------
_NEGATION = (
    r"不新增|不增加|不使用|不用|不做|不打|不发|不投放|不开展|不考虑|不能用|不可用|不允许|不得|不走|禁止|禁用|避免|不含|不包括|"
    r"杜绝|拒绝|\bno\b|\bnot\b|\bnever\b|can't|cannot|won't|without|excluding|exclude[sd]?|avoid|don't use|do not use|ruled out|banned|ban\b"
)
_NEGATION_AFTER = (
    r"不可用|不能用|不允许|禁止|禁用|不做|不考虑|除外|are not allowed|is not allowed|not allowed|are off[- ]limits|"
    r"is off[- ]limits|off the table|are out|is out|are banned|is banned|are excluded|is excluded"
)
_ONLY = (
    r"仅限|仅用|仅使用|仅通过|仅走|仅|只用|只使用|只通过|只走|只能用|只能通过|只发|只|限于|\bonly\b|exclusively|solely"
)


_BAN_ENDS = re.compile(r"[;；。\n]")
_BAN_STOP = r"[,，]\s*(?=[a-z]*\s*(?:only|仅|只))|\bonly\b|仅|只"  # where the ruled-out list ends
_BAN_STOP_AT = re.compile(_BAN_STOP, _I)
_ONLY_AT = re.compile(r"only\b", _I)  # "only" right after the negation, where the slice would see a word start
_BAN_STOP_WITHIN = re.compile(rf"(?s:.{{1,59}}?)(?={_BAN_STOP})", _I)


def _banned_words(text: str, start: int, end: int) -> str:
    """The words after a negation: `text[start:end]` (the rest of its clause) up to an allow-list, at most 60
    characters. Searched in place, never sliced to the clause's end: a brief with a thousand negations in one
    clause stays linear."""
    if _BAN_STOP_AT.match(text, start, end) or _ONLY_AT.match(text, start, end):  # a list that ends at once
        return ""
    within = _BAN_STOP_WITHIN.match(text, start, end)
    return text[start : within.end()] if within else text[start : min(start + 60, end)]


def _excluded_hits(text: str) -> list[_Hit]:
    hits: list[_Hit] = []
    clause_end = -1
    for match in _rx(_NEGATION).finditer(text):
        if clause_end < match.end():
            stop = _BAN_ENDS.search(text, match.end())
            clause_end = stop.start() if stop else len(text)
        clause = _banned_words(text, match.end(), clause_end)
        found = channels_in(clause)
        if found:
            hits.append(_Hit(found, match.start(), match.end() + len(clause)))
    for match in _rx(_NEGATION_AFTER).finditer(text):  # "外呼禁止", "SMS is not allowed": the words before the ban
        start = max(match.start() - 40, *(text.rfind(sep, 0, match.start()) + 1 for sep in _LIST_ENDS))
        found = channels_in(text[start : match.start()])
        if found:
            hits.append(_Hit(found, start, match.end()))
    return hits


_LIST_ENDS = (";", "；", "。", "\n", ",", "，")


def read_excluded_channels(text: str) -> list[str]:
    """Channels named after a negation in the same clause ('不新增外呼与线下成本', 'no outbound calls', 'excluding cold
    calls') or before a ban ('外呼禁止', 'SMS is not allowed')."""
    excluded: list[str] = []
    for hit in _excluded_hits(text):
        excluded += [c for c in hit.value if c not in excluded]
    return excluded


def _allowed_hits(text: str) -> list[_Hit]:
    """Allow-lists: 'X only', 'only X and Y', '仅限短信和App推送', '只用企微', 'channels limited to email', 'email-only'."""
    stop = r"(?=渠道|触达|进行|开展|投放|沟通|发送|联系|[,，;；。\n]|$)"
    patterns = [
        rf"(?:{_ONLY})\s*(?:use|using|via|through|on|over|用|使用|通过|走|发)?\s*(?P<list>[^;；。\n,，][^;；。\n]*?){stop}",
        # the shortest list before "only": a blank at the clause's start, else one that ends at a word (which keeps
        # the search linear: a lazy list that may end in a space rescans every run of spaces)
        r"(?:^|(?<=[;；。\n]))(?:[^\S\n]|(?P<list>[^;；。\n]+?)(?<!\s))\s+only\b",
        r"(?:channels?|触点|渠道)\s*(?:are|is|:|：|为|是)?\s*(?:limited to|restricted to|仅限|限于|限定为)\s*(?P<list>[^;；。\n]+)",
        r"(?<![\w-])(?P<list>[\w-]+)-only\b",
    ]
    hits: list[_Hit] = []
    for pattern in patterns:
        for match in _rx(pattern).finditer(text):
            listed = match["list"] or ""
            negation = _rx(_NEGATION).search(listed)
            if negation:
                listed = listed[: negation.start()]
            found = channels_in(re.split(r"[:：]", listed)[-1])
            if found:
                hits.append(_Hit(found, match.start(), match.start("list") + len(listed)))
    return sorted(hits, key=lambda h: h.start)


def read_allowed_channels(text: str) -> tuple[list[str], bool]:
    """Channels a user lists as the ones to use, and whether they said 'only' (仅/只/only): only then is it an
    allow-list. '渠道:邮件、应用内Banner' lists the channels without ruling out others."""
    hits = _allowed_hits(text)
    if hits:
        return hits[0].value, True
    match = re.search(r"(?:渠道|触点|channels?)\s*(?:为|是|包括|:|：|are|include)\s*(?P<list>[^;；。\n]+)", text, _I)
    if match:
        listed = match["list"]
        negation = _rx(_NEGATION).search(listed)
        found = channels_in(listed[: negation.start()] if negation else listed)
        if found:
            return found, False
    return [], False


# -- goals ------------------------------------------------------------------------------------------------------------
_GOAL_HEADER = re.compile(
    rf"^\s*(?:(?P<en>(?:within|in|over|by)\s+(?:the\s+next\s+)?(?P<n1>{NUM}|{EN_WORD})\s+(?P<u1>{_UNIT_EN}))|"
    rf"(?P<zh>(?P<n2>{COUNT})\s*(?P<u2>{_UNIT_ZH_STRICT})\s*[内里])|短期|中长期|长期)\s*(?:[:：,，]\s*|(?=[^\s:：,，]))",
    re.IGNORECASE,
)
_GOAL_VERB = (
    r"提升|提高|降低|降至|降到|减少|增加|增长|达到|达成|达标|实现|突破|控制|维持|保持|拉升|缩短|扩大|进入|获得|转化|"
    r"\b(?:improve|increase|reduce|cut|lift|raise|grow|reach|hit|get|drive|achieve|lower|boost|keep|hold|win|"
    r"double|halve|bring|move|convert|recover|expand|launch|rank|size|choose)\w*"
)
_FROM_TO = re.compile(
    rf"^(?P<metric>.+?)\s*(?:from|从|由)\s*[$¥￥€£]?\s*(?P<b>{NUM})\s*(?P<bu>%|pp)?\s*"
    rf"(?:to|降至|降到|降低至|降低到|提升至|提升到|提高到|提高至|增至|增长至|增加到|增加至|升至|到|至|->|→)\s*[$¥￥€£]?\s*"
    rf"(?P<t>{NUM})\s*(?P<u>%)?(?![\d万千亿kKmM])",
    _I,
)
_TO_TARGET = re.compile(
    rf"^(?P<metric>.+?)\s*(?:提升至|提升到|提高到|提高至|降至|降到|降低至|降低到|达到|达|增至|升至|到|至|to|reach(?:es)?|of|at|"
    r"under|below|above|at least|at most|≥|>=|≤|<=|<|>|:|：)?\s*"
    rf"(?P<t>{NUM})\s*(?P<u>%)?$",
    _I,
)


def _goal_like(piece: str) -> bool:
    return bool(re.search(r"\d|[%％]", piece) or _rx(_GOAL_VERB).search(piece))


def _split_goal_text(text: str) -> list[str]:
    """Split at ; 。 line breaks and numbering, then at commas, 、 and 'and' where both sides read as goals; never
    inside a number ('1,200') or a 'from 4.8% to 3.2%' phrase."""
    text = re.sub(
        r"(?:^|(?<=\n))[^\S\n]*\(?(?:\d{1,2}|[a-z])[.)、](?=\s)|(?:^|(?<=[\s;；,，]))\(?(?:[1-9]|[a-z])[)、]|[(（][1-9][)）]|[①②③④⑤⑥⑦⑧⑨⑩]",
        "\n",
        text,
        flags=_I,
    )
    pieces: list[str] = []
    for part in re.split(r"[;；。\n]+|\.\s+(?=[A-Z])", text):
        pieces += _split_soft(part.strip())
    return [p for p in pieces if p]


_SOFT_SEP = re.compile(r"(?<!\d),|,(?!\d)|，|、|\s+and\s+|\s*&\s*|以及|并且|并|同时")
_GOAL_LIKE = re.compile(rf"\d|[%％]|{_GOAL_VERB}", _I)  # what `_goal_like` looks for, in one pattern
_DIGIT_OR_PCT = re.compile(r"[\d%％]")
_DIGIT = re.compile(r"\d")
_GOAL_END_ZH = ("提升", "降低", "达标", "增长", "减少", "提高", "改善", "优化")
_BETWEEN_END = re.compile(r"\bbetween\s+\S+$", _I)
_WORD_CHAR = re.compile(r"\w")


class _Before:
    """Whether `text[:k]` holds a match of `pattern`, for a k that only grows: each character is searched about once
    (the text is never sliced). `reach` is at least the longest shortest match, so one straddling `k` is found."""

    def __init__(self, pattern: re.Pattern[str], text: str, reach: int = 16):
        self.pattern, self.text, self.reach = pattern, text, reach
        self.checked = 0
        self.found = False

    def upto(self, k: int) -> bool:
        if not self.found and k > self.checked:
            self.found = self.pattern.search(self.text, max(0, self.checked - self.reach), k) is not None
            self.checked = k
        return self.found


class _After:
    """Whether `text[start:]` holds a match of `pattern`, for a start that only grows, as `pattern.search(text[start:])`
    says it (at the slice's start, a word boundary holds whatever comes before it)."""

    def __init__(self, pattern: re.Pattern[str], text: str):
        self.pattern, self.text = pattern, text
        self.like_until = -1  # a match begins at or after every start up to here
        self.dead_from = len(text) + 1  # no match begins at or after here

    def at(self, start: int) -> bool:
        if start <= self.like_until:
            return True
        if start < self.dead_from:
            match = self.pattern.search(self.text, start)
            if match is not None:
                self.like_until = match.start()
                return True
            self.dead_from = start
        return self._on_the_slice_only(start)

    def _on_the_slice_only(self, start: int) -> bool:
        """No match begins at `start` or after it in the text; on the slice one may begin at its start, where a word
        boundary holds even after a word character (its shortest match is a few characters long)."""
        return (
            start > 0
            and _WORD_CHAR.match(self.text, start - 1) is not None
            and (self.pattern.match(self.text[start : start + 64]) is not None)
        )


def _split_soft(part: str) -> list[str]:
    result: list[str] = []
    rest = part
    while rest:
        best = None
        left_like, left_digit_pct, left_digit = (_Before(p, rest) for p in (_GOAL_LIKE, _DIGIT_OR_PCT, _DIGIT))
        right_like, right_digit = _After(_GOAL_LIKE, rest), _After(_DIGIT, rest)
        for match in _SOFT_SEP.finditer(rest):
            # rest[:k] and rest[r:] are `left` and `right` without their surrounding spaces (rest is stripped)
            k = len(rest[: match.start()].rstrip())
            r = len(rest) - len(rest[match.end() :].lstrip())
            if not k or r >= len(rest) or _BETWEEN_END.search(rest, max(0, k - 200), k):
                continue
            sep = match.group(0).strip()
            if sep == "、":
                left = rest[:k]
                ok = (left_digit_pct.upto(k) or left.endswith(_GOAL_END_ZH)) and right_like.at(r)
            elif sep in ("and", "&") or sep in ("以及", "并且", "并", "同时"):
                ok = bool(_rx(_GOAL_VERB).match(rest[r : r + 64])) or (left_digit.upto(k) and right_digit.at(r))
            else:
                ok = left_like.upto(k) and right_like.at(r)
            if ok:
                best = match
                break
        if best is None:
            result.append(rest.strip())
            break
        result.append(rest[: best.start()].strip())
        rest = rest[best.end() :].strip()
    return result


def read_goals(text: str) -> list[Goal]:
    """Split a goals text into goals G1..Gn at ; 。 line breaks, numbering, commas, 、 and 'and'; the deadline a goal
    starts with ('90天内:', 'Within 90 days:') becomes its deadline_day, and a plainly stated 'from 4.8% to 3.2%' its
    baseline and target."""
    goals: list[Goal] = []
    deadline: int | None = None
    for part in _split_goal_text(text):
        part = re.sub(r"^(?:and|then|以及|并且|并|同时)\s+", "", part.strip(" \t-•*·、,，"), flags=_I)
        part = re.sub(r"^(?:goals?|targets?|objectives?|kpis?|目标|指标)\s*[:：]\s*", "", part, flags=_I)
        header = _GOAL_HEADER.match(part)
        if header:
            if header["n1"] or header["n2"]:
                n, u = (header["n1"], header["u1"]) if header["n1"] else (header["n2"], header["u2"])
                deadline = to_days(parse_number(n), duration_unit(u))
            part = part[header.end() :].strip()
        if len(part) < 2:
            continue
        goal = Goal(f"G{len(goals) + 1}", part, deadline_day=deadline)
        _fill_goal(goal)
        goals.append(goal)
    return goals


_CHANGE_WORDS = re.compile(r"(?:[+＋\-]|\bby|\bup|\bdown|下降|降低|减少|增加|增长|提升|提高|环比|同比)\s*$", _I)
_LEADING_VERB = re.compile(
    r"^(?:reduce|lower|cut|lift|raise|grow|increase|improve|boost|get|bring|drive|keep|hold|降低|提升|提高|增加|减少|"
    r"保持|控制)\s*",
    _I,
)


def _metric_name(text: str) -> str | None:
    name = _LEADING_VERB.sub("", text.strip(" :：")).strip(" :：")
    return name or None


# What ends a goal without being its target: a calendar deadline ("by Q3", "第三季度末前") and a rating scale ("4.6/5").
_GOAL_TAIL = re.compile(
    r"\s*(?:(?:by|before|until|in|within|through|during|for)\s+)?(?:(?:the\s+)?end\s+of\s+)?(?:Q[1-4]|H[12])"
    r"(?:\s*(?:FY)?\s*\d{2,4})?\s*$|\s*(?:在|于)?(?:Q[1-4]|第[一二三四1-4]季度)(?:末|底|前|内|结束前)?\s*$",
    _I,
)
_RATING_SCALE = re.compile(r"(?<=\d)\s*/\s*(?:5|10|100)(?![\d.])")
_TARGET_MULT = re.compile(rf"^(?P<head>.*?(?P<t>{NUM}))\s*(?P<m>万|千)\s*(?:人|户|名|个|位|家)?\s*$")


def _fill_goal(goal: Goal) -> None:
    """Metric, baseline, target and unit, when a goal states them plainly; a change ('+10pp', 'by 20%') is no target.
    A deadline ("by Q3") and a rating scale ("4.6/5") are never the target; a target in 万 or 千 is multiplied out."""
    text = _RATING_SCALE.sub("", _GOAL_TAIL.sub("", goal.text, count=1))
    scale = 1.0
    if mult := _TARGET_MULT.match(text):
        text, scale = mult["head"], 1e4 if mult["m"] == "万" else 1e3
    match = _FROM_TO.match(text)
    if match:
        goal.metric = _metric_name(match["metric"])
        goal.baseline, goal.target = parse_number(match["b"]), parse_number(match["t"]) * scale
        goal.unit = "%" if (match["u"] or match["bu"] == "%") else None
        return
    match = _TO_TARGET.match(text)
    if match and not _CHANGE_WORDS.search(match["metric"]):
        goal.metric = _metric_name(match["metric"])
        goal.target = parse_number(match["t"]) * scale
        goal.unit = "%" if match["u"] else None


# -- unread -----------------------------------------------------------------------------------------------------------
_METRIC_WORDS = re.compile(
    r"churn|retention|retain|nps|csat|ces\b|conversion|open rate|click|ctr|arpu|arpa|arppu|\barr\b|\bmrr\b|ltv|cac|"
    r"price|pricing|priced|per seat|margin|renewal rate|growth rate|engagement|usage|trial|login|active|repeat|"
    r"流失|留存|复购|转化|打开率|点击率|满意度|毛利|利润率|客单价|单价|售价|价格|定价|续费率|增长率|渗透率|活跃|试用|"
    r"revenue|销售额|营收|收入|gmv|arr|growing|growth|grew|yoy|mom\b|qoq|同比|环比|增长了|月活|日活|周活|mau|dau|wau|"
    r"users?|用户数",
    _I,
)
_UNREAD_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # a 折 starts where a number starts (without the look-behind, a long digit run is scanned from every digit)
    ("percent", re.compile(rf"(?:{NUM})\s*(?:[%％]|percent\b|per cent\b)|百分之{COUNT}|(?<!\d){_ZHE}", _I)),
    (
        "duration",
        re.compile(
            rf"(?<![第\d.])(?:{COUNT})\s*(?:{_UNIT_ZH_STRICT}|(?:{_UNIT_EN})\b)|半年|half[- ]year|年底|年末|年内|"
            r"end of (?:the )?year|year[- ]end|\beoy\b|end of (?:the )?quarter|季度末",
            _I,
        ),
    ),
]


def _unread_in(name: str, text: str, consumed: list[Span], raw: str | None = None) -> list[Unread]:
    """Numbers in a constraint-bearing input that no constraint accounts for, each with its short clause."""
    amounts = {a.start: a for a in _amounts(text)}
    candidates: list[tuple[str, int, int]] = [("amount", a.start, a.end) for a in amounts.values()]
    for kind, pattern in _UNREAD_PATTERNS:
        for match in pattern.finditer(text):
            if kind == "duration" and re.match(r"(?:19|20)\d\d\s*年|(?:a|an)\s", match.group(0), _I):
                continue  # a year, not a duration; "a year", "a month": a rate ("20% a year")
            candidates.append((kind, match.start(), match.end()))
    candidates += [("headcount", h.start, h.end) for h in _team_roles(text)]
    taken = _Mask(len(text), [*consumed, *_data_windows(text)])
    found: list[Unread] = []
    for kind, start, end in sorted(candidates, key=lambda c: c[1]):
        if taken.touches(start, end):
            continue
        s, e = _subclause(text, start, end)
        if _is_metric(text, s, start, end):
            continue
        if kind == "amount" and _is_price(text, amounts[start]):
            continue
        taken.add(start, end)
        if e - s > 80:  # a long sub-clause: the words around the number
            s = max(s, start - 35)
            e = min(e, max(end + 35, s + 80))
        unread = Unread(name, _short(raw or text, s, e), kind)
        if unread not in found:
            found.append(unread)
        if len(found) == _MAX_HITS:  # enough to say the input is unverified and what to fill in
            break
    return found


_SHARE_OF_SOMETHING = re.compile(
    r"\s*(?:of\s+(?:our\s+|the\s+|all\s+|their\s+|his\s+|her\s+)?(?:customers|users|accounts|members|clients|base|"
    r"time|revenue|sales)|capacity|utili[sz]ation|time\b|的(?:客户|用户|会员|时间|精力)|时间|精力|产能)",
    _I,
)


def _is_metric(text: str, clause_start: int, start: int, end: int) -> bool:
    """A number that describes the business (a rate, a price, a share of the customers, a capacity), not a limit."""
    before = text[max(clause_start, start - 24) : start]
    after = text[end : end + 12]
    return bool(
        _METRIC_WORDS.search(before)
        or _METRIC_AFTER.match(text, end)
        or _SHARE_OF_SOMETHING.match(text, end)
        or re.match(r"\s*(?:churn|流失)", after, _I)
    )


# -- the reader -------------------------------------------------------------------------------------------------------
TIMELINE_FIELD = re.compile(r"timeline|horizon|duration|period|window|周期|时间", re.IGNORECASE)
CONSTRAINT_FIELD = re.compile(r"budget|constraint|resource|channel|team|timeline|预算|渠道", re.IGNORECASE)
NO_CAPS_FIELD = re.compile(r"competitor|竞品|竞争", re.IGNORECASE)


def _timeline_kind(name: str) -> tuple[bool, bool]:
    """Whether an input holds a timeline, and whether it is the plan's own (a 'time_window' may be the data's)."""
    timeline = bool(TIMELINE_FIELD.search(name))
    return timeline, timeline and not re.search(r"window|data|数据", name, re.IGNORECASE)


def constraint_bearing(name: str, goal_field: str | None = None) -> bool:
    """Whether an input holds constraints (its unread numbers are listed): see the module docstring."""
    return name != goal_field and bool(CONSTRAINT_FIELD.search(name) or TIMELINE_FIELD.search(name))


@dataclass
class _Input:
    name: str
    raw: str  # as the user wrote it: evidence and unread spans quote it
    bearing: bool
    consumed: list[Span] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text the patterns read: an English sentence end ('. ', '! ') is a clause end like '。' (same length,
        so every span is a span of `raw` too)."""
        return _sentence_ends(self.raw)


@lru_cache(maxsize=256)
def _sentence_ends(text: str) -> str:
    return re.sub(r"[.!?](?=\s|$)", "。", text)


def read_constraints(arguments: Mapping[str, Any], goal_field: str | None = None) -> Constraints:
    """Read every constraint from a template's arguments, each input on its own (see the module docstring)."""
    inputs = [_Input(name, text, constraint_bearing(name, goal_field)) for name, text in _strings(arguments)]
    c = Constraints()

    def pick(name: str, hits_of: Callable[[_Input], list[_Hit]], choose_max: bool = False) -> _Hit | None:
        """The first input's first hit (or the largest); the same value stated elsewhere is accounted for too."""
        per_input = [(i, hits_of(i)) for i in inputs]
        everything = [(i, h) for i, hits in per_input for h in hits]
        if not everything:
            return None
        owner, best = max(everything, key=lambda ih: ih[1].value) if choose_max else everything[0]
        for i, h in everything:
            if h is best or h.value == best.value or choose_max:
                i.consumed += h.spans()
        c.sources[name] = "text"
        c.evidence[name] = Evidence(owner.name, _short(owner.raw, best.start, best.end))
        return best

    budget = pick("budget", lambda i: _budget_hits(i.text, i.bearing))
    if budget:
        c.budget, c.budget_period = budget.value
    cap = pick("cost_cap_pct_of_revenue", lambda i: [] if NO_CAPS_FIELD.search(i.name) else _cost_cap_hits(i.text))
    if cap:
        c.cost_cap_pct_of_revenue = cap.value
    discount = pick("discount_cap_pct", lambda i: [] if NO_CAPS_FIELD.search(i.name) else _discount_hits(i.text))
    if discount:
        c.discount_cap_pct = discount.value

    def horizons(i: _Input) -> list[_Hit]:
        timeline, plan_timeline = _timeline_kind(i.name)
        return _horizon_hits(i.text, timeline, bearing=i.bearing, plan_timeline=plan_timeline)

    horizon = pick("horizon_days", horizons, True)
    if horizon:
        c.horizon_days = horizon.value
    team = pick("team_size", lambda i: _team_hits(i.text, i.bearing))
    if team:
        c.team_size = team.value
    for i in inputs:  # channels: from constraint-bearing inputs only ("no email opens" is a churn signal)
        if not i.bearing:
            continue
        for hits, target, name in (
            (_allowed_hits(i.text), c.channels_allowed, "channels_allowed"),
            (_excluded_hits(i.text), c.channels_excluded, "channels_excluded"),
        ):
            for hit in hits:
                target += [k for k in hit.value if k not in target]
                i.consumed += hit.spans()
                c.sources[name] = "text"
                c.evidence.setdefault(name, Evidence(i.name, _short(i.raw, hit.start, hit.end)))
    c.channels_excluded = [k for k in c.channels_excluded if k not in c.channels_allowed]
    if not c.channels_excluded:
        c.sources.pop("channels_excluded", None)
        c.evidence.pop("channels_excluded", None)
    goal_text = next((i.raw for i in inputs if i.name == goal_field), None)
    if goal_text:
        c.goals = read_goals(goal_text)
        if c.goals:
            c.sources["goals"] = "text"
            c.evidence["goals"] = Evidence(goal_field or "", _short(goal_text, 0, len(goal_text)))
    for i in inputs:
        if i.bearing:
            c.unread += _unread_in(i.name, i.text, i.consumed, i.raw)
    from retention_mcp.generation.accounting import Text, account

    account(c, [Text(i.name, i.raw, i.text, i.bearing, i.consumed) for i in inputs], goal_field)
    return c


def _strings(arguments: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for name, value in arguments.items():
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, list):
            yield name, "\n".join(str(v) for v in value)


def format_amount(value: float) -> str:
    """An amount or a percentage as the checks and the prompt write it: 120,000; 4.5; 1,234.56."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")
