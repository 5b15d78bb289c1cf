"""Read the hard constraints a user stated, in Chinese or English, from the template arguments.

Deterministic and conservative: a number becomes a constraint only next to words that make it one
("季度预算12万元", "discounts at most 15%", "90天内", "team of 3", "no outbound calls"). What is not read is not
checked; the plan's validation report lists what was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from retention_mcp.vocabulary import CHANNELS, PERIOD_DAYS, channel_label, channels_in

__all__ = ["CHANNELS", "PERIOD_DAYS", "channel_label", "channels_in"]  # re-exported for the checker and the Markdown

# -- numbers ----------------------------------------------------------------------------------------------------------
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_EN_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "sixty": 60,
    "ninety": 90,
}  # fmt: skip
NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
CN_NUM = r"[零〇一二两三四五六七八九十百]+"
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


_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_AMOUNT = re.compile(r"(?P<n>[零〇一二两三四五六七八九十百千万]+)\s*(?P<mult>万|亿)?\s*(?P<cur>元|块|人民币)?")


def parse_chinese_amount(text: str) -> Money | None:
    """'十二万元' -> 120000 CNY; '两万五千元' -> 25000 CNY (Chinese numerals, as amounts are often written)."""
    match = CN_AMOUNT.match(text)
    if not match or not (match["mult"] or match["cur"] or "万" in match["n"]):
        return None
    value = _chinese_integer(match["n"]) * {"万": 1e4, "亿": 1e8}.get(match["mult"] or "", 1)
    return Money(float(value), "CNY")


# -- money ------------------------------------------------------------------------------------------------------------
_MULTIPLIERS = {"万": 1e4, "亿": 1e8, "千": 1e3, "k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6}
_CURRENCY_WORDS = [
    (r"US\$|USD|美元|美金|dollars?", "USD"),
    (r"HK\$|HKD|港币|港元", "HKD"),
    (r"EUR|€|欧元|euros?", "EUR"),
    (r"GBP|£|英镑|pounds?", "GBP"),
    (r"JPY|日元", "JPY"),
    (r"CNY|RMB|¥|￥|元|块|人民币", "CNY"),
    (r"\$", "USD"),
]
_CURRENCY = "|".join(p for p, _ in _CURRENCY_WORDS)
_MULT = r"万|亿|千|thousand|million|mn|[kKmM](?![a-zA-Z])"
AMOUNT = (
    rf"(?P<pre>{_CURRENCY})?\s*(?P<low>{NUM})\s*(?P<lowmult>{_MULT})?"
    rf"(?:{DASH}(?P<precur2>{_CURRENCY})?\s*(?P<high>{NUM}))?\s*(?P<mult>{_MULT})?\s*(?P<post>{_CURRENCY})?"
)
_AMOUNT_RE = re.compile(AMOUNT, re.IGNORECASE)


def _currency_code(token: str | None) -> str | None:
    if not token:
        return None
    for pattern, code in _CURRENCY_WORDS:
        if re.fullmatch(pattern, token, re.IGNORECASE):
            return code
    return None


@dataclass(frozen=True)
class Money:
    amount: float  # the cap: the upper end of a range
    currency: str | None
    low: float | None = None  # lower end of a range, when one was given


def parse_amount(text: str) -> Money | None:
    """'12万元' -> 120000 CNY; '$50k' -> 50000 USD; '10-12万' -> 120000 (low 100000); '1.2M USD'."""
    match = _AMOUNT_RE.search(text)
    return _money(match) if match else None


def _money(match: re.Match[str]) -> Money:
    mult_token = (match["mult"] or match["lowmult"] or "").lower()
    mult = _MULTIPLIERS.get(mult_token, 1.0)
    low_mult = _MULTIPLIERS.get((match["lowmult"] or "").lower(), mult)
    low = parse_number(match["low"]) * low_mult
    currency = _currency_code(match["pre"]) or _currency_code(match["precur2"]) or _currency_code(match["post"])
    if match["high"]:
        return Money(parse_number(match["high"]) * mult, currency, low)
    return Money(low, currency)


# -- periods and durations --------------------------------------------------------------------------------------------
_PERIOD_WORDS = [
    (r"季度|每季|quarter(?:ly)?|per quarter|/\s*quarter|a quarter|\bq\b", "quarter"),
    (r"每月|月度|月预算|/\s*月|monthly|per month|/\s*mo(?:nth)?|a month", "month"),
    (r"年度|每年|全年|annual(?:ly)?|yearly|per year|/\s*y(?:ea)?r|a year", "year"),
]
_UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365 / 12, "quarter": 365 / 4, "year": 365.0}


def _unit(token: str) -> str:
    token = token.lower()
    if token.startswith(("天", "日", "day")):
        return "day"
    if token.startswith(("周", "星期", "个星期", "week", "个周")):
        return "week"
    if "季" in token or token.startswith("quarter"):
        return "quarter"
    if "月" in token or token.startswith("month"):
        return "month"
    return "year"


def to_days(count: float, unit: str) -> int:
    return round(count * _UNIT_DAYS[unit])


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
    """A span of constraint-bearing free text that holds a number the reader did not turn into a constraint."""

    input: str
    text: str
    kind: str  # amount | percent | duration | headcount


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
}


@dataclass
class Constraints:
    """The effective constraints of one call. Absent ones are None or empty.

    `budget` is the amount per `budget_period` (None: for the whole plan). `sources` says, per field name (budget,
    horizon_days, discount_cap_pct, cost_cap_pct_of_revenue, team_size, channels_allowed, channels_excluded, goals),
    where the value came from; `evidence` where text-read values stand; `unread` what the reader could not place.
    `channels_allowed` is an allow-list (the user said "only"); `channels_excluded` the kinds ruled out.
    """

    budget: Money | None = None
    budget_period: str | None = None  # month | quarter | year; None or "total": the whole plan
    cost_cap_pct_of_revenue: float | None = None  # e.g. incentive cost at most 4.5% of sales
    discount_cap_pct: float | None = None  # percent off
    horizon_days: int | None = None
    team_size: int | None = None
    channels_excluded: list[str] = field(default_factory=list)
    channels_allowed: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    sources: dict[str, Source] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    unread: list[Unread] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def per_period(self) -> bool:
        return self.budget_period in PERIOD_DAYS

    def periods(self) -> float | None:
        """How many budget periods the horizon spans (one decimal, at least 1); None without a period or horizon."""
        if not self.per_period or not self.horizon_days:
            return None
        return max(1.0, round(self.horizon_days / PERIOD_DAYS[self.budget_period or ""], 1))

    def budget_cap(self) -> float | None:
        """The total a plan may spend: the stated budget, times the periods the horizon spans."""
        if self.budget is None:
            return None
        periods = self.periods()
        return round(self.budget.amount * periods, 2) if periods else self.budget.amount

    def is_empty(self) -> bool:
        return not any(
            (self.budget, self.cost_cap_pct_of_revenue, self.discount_cap_pct, self.horizon_days, self.team_size)
        ) and not (self.channels_excluded or self.channels_allowed or self.goals)


# -- readers ----------------------------------------------------------------------------------------------------------
_CLAUSE = r"[^;；。\n]"
_BUDGET_WORD = r"预算|经费|营销费用|费用上限|budget"


def read_budget(text: str) -> tuple[Money | None, str | None]:
    """The first budget amount next to a budget word, and its period if one is named nearby."""
    for keyword in re.finditer(_BUDGET_WORD, text, re.IGNORECASE):
        after = text[keyword.end() : keyword.end() + 40]
        before = text[max(0, keyword.start() - 40) : keyword.start()]
        gap = re.match(r"\s*(?:(?:总额|总计|为|是|约|共|上限|cap|of|is|:|：|at most|up to|≤|<=)\s*)*", after, re.I)
        start = gap.end() if gap else 0
        money = None
        match = _AMOUNT_RE.match(after, start)
        if match and match.group("low") and _looks_like_money(match):
            money = _money(match)
        elif parse_chinese_amount(after[start:]):  # "季度预算十二万元"
            money = parse_chinese_amount(after[start:])
        else:  # "$50k quarterly budget", "12万元的季度预算"
            candidates = [m for m in _AMOUNT_RE.finditer(before) if m.group("low") and _looks_like_money(m)]
            if candidates and not re.search(r"[;；。\n]", before[candidates[-1].end() :]):
                money = _money(candidates[-1])
        if money is None:
            continue
        window = text[max(0, keyword.start() - 12) : keyword.end() + 40]
        return money, _period(window)
    # "$50k per quarter", "每季度12万元": a currency amount with a period and no budget word
    for match in _AMOUNT_RE.finditer(text):
        if match.group("low") and (match["pre"] or match["post"]) and _looks_like_money(match):
            if _money(match).amount < 1000:  # "$29/mo" is a price, not a budget
                continue
            window = text[max(0, match.start() - 6) : match.end() + 14]
            period = _period(window)
            if period and not re.search(r"/\s*(?:seat|user|席位|人)", text[match.end() : match.end() + 8], re.I):
                return _money(match), period
    return None, None


def _looks_like_money(match: re.Match[str]) -> bool:
    tail = match.string[match.end() : match.end() + 2]
    return bool(match["pre"] or match["post"] or match["mult"] or match["lowmult"]) and not tail.startswith("%")


def _period(window: str) -> str | None:
    for pattern, period in _PERIOD_WORDS:
        if re.search(pattern, window, re.IGNORECASE):
            return period
    return None


_PCT = rf"(?P<low>{NUM})\s*%?(?:{DASH}(?P<high>{NUM}))?\s*%"


def read_revenue_share_cap(text: str) -> float | None:
    """'激励成本控制在销售额的3%-4.5%' -> 4.5; 'incentive cost at most 4.5% of sales' -> 4.5."""
    patterns = [
        rf"(?:销售额|营收|营业额|收入|GMV)的?\s*(?:的)?\s*{_PCT}",
        rf"{_PCT}\s*(?:of|of total)\s*(?:sales|revenue|gmv)",
    ]
    for pattern in patterns:
        for match in re.finditer(pattern, text, re.IGNORECASE):
            clause = _clause_around(text, match.start(), match.end())
            if re.search(r"成本|预算|费用|激励|投入|cost|budget|spend|incentive", clause, re.IGNORECASE):
                return parse_number(match["high"] or match["low"])
    return None


_CAP_BEFORE = (
    r"不超过|不超|不高于|不多于|最多|至多|最高|上限为?|控制在|限制在|小于等于|≤|<=|<|"
    r"at most|no more than|not (?:to )?exceed(?:ing)?|up to|max(?:imum)?(?: of)?|capped at|cap(?:ped)? of|"
    r"limited to|under|below|within|no greater than|no higher than"
)
_DISCOUNT_WORD = r"折扣|优惠|让利|降价|discounts?|price cuts?|markdowns?|% off"


def _first_number(patterns: list[str], text: str, group: str) -> float | None:
    """The number in `group` of the first pattern that matches."""
    for pattern in patterns:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            return parse_number(match[group])
    return None


def read_discount_cap(text: str) -> float | None:
    """'折扣不超过15%', '折扣≤15%', '最低8.5折', 'discounts at most 15%', 'max 15% off' -> 15."""
    patterns = [
        rf"(?:{_DISCOUNT_WORD})(?:幅度|力度|上限|率|cap|s)?\s*(?:is|are|of|:|：|为)?\s*(?:{_CAP_BEFORE})\s*(?P<v>{NUM})\s*%",
        rf"(?:{_DISCOUNT_WORD})(?:幅度|力度|上限)?\s*(?P<v>{NUM})\s*%\s*(?:以内|以下|之内|封顶|为上限)",
        rf"(?:{_CAP_BEFORE})\s*(?P<v>{NUM})\s*%\s*(?:off|discounts?|的?折扣|的?优惠)",
        rf"(?P<v>{NUM})\s*%\s*(?:max(?:imum)?|cap)\s*(?:discount|off)",
        rf"(?:discount|折扣)\s*(?:cap|上限)\s*(?:of|为|是|:|：)?\s*(?P<v>{NUM})\s*%",
    ]
    value = _first_number(patterns, text, "v")
    if value is not None:
        return value
    # Chinese "N折" is the price paid: 不低于8.5折 / 最低八五折 -> at most 15% off
    match = re.search(
        r"(?:不低于|最低|最多打|最低打|不能低于|不少于)\s*(?P<z>\d+(?:\.\d+)?|[一二三四五六七八九]{1,2})\s*折", text
    )
    if match:
        return _zhe_to_discount(match["z"])
    return None


def _zhe_to_discount(token: str) -> float:
    if re.fullmatch(r"[一二三四五六七八九]{1,2}", token):
        digits = [_CN_DIGITS[c] for c in token]
        price: float = digits[0] * 10 + (digits[1] if len(digits) > 1 else 0)
    else:
        value = float(token)
        price = value * 10 if value < 10 else value
    return round(100 - price, 2)


_HORIZON_PATTERNS = [
    rf"(?:未来|为期|周期为?|计划期为?)\s*(?P<n>{COUNT})\s*(?P<u>个?月|天|日|周|个?星期|个?季度|年)",
    rf"(?P<n>{COUNT})\s*(?P<u>个?月|天|日|周|个?星期|个?季度|年)\s*(?:内|之内|以内|期间|计划|方案|周期)",
    rf"(?:within|in the next|over the next|for the next|during the next|across)\s+(?:the\s+)?(?P<n>{NUM}|{EN_WORD})\s+"
    r"(?P<u>days?|weeks?|months?|quarters?|years?)\b",
    rf"(?P<n>{NUM}|{EN_WORD})[- ](?P<u>day|week|month|quarter|year)\s+(?:plan|campaign|program(?:me)?|horizon|window|push|sprint)",
    rf"horizon(?: of| is|:)?\s+(?P<n>{NUM}|{EN_WORD})\s+(?P<u>days?|weeks?|months?|quarters?|years?)",
]
_HORIZON_EXACT = [
    (r"半年内|半年之内|within (?:half a year|six months)", 182),
    (r"一年内|全年|12个月内|within (?:a|one) year|over the next year", 365),
    (r"本季度|下季度|下个季度|this quarter|next quarter|within (?:a|one|the) quarter", 91),
]


_BARE_DURATION = rf"(?P<n>{COUNT})\s*(?P<u>个?月|天|日|周|个?星期|个?季度|年|days?|weeks?|months?|quarters?|years?)\b"


def read_horizon(text: str, bare: bool = False) -> int | None:
    """The longest horizon stated: '90天内' -> 90; 'within two quarters' -> 182; '12个月内' -> 365.

    `bare` also reads a duration with no 'within' around it ('90天', '6 weeks'): for fields that hold the timeline.
    """
    found: list[int] = []
    if bare:
        for match in re.finditer(_BARE_DURATION, text, re.IGNORECASE):
            found.append(to_days(parse_number(match["n"]), _unit(match["u"])))
    for pattern in _HORIZON_PATTERNS:
        for match in re.finditer(pattern, text, re.IGNORECASE):
            if match["u"] in ("周", "week") and re.match(r"\s*[一二三四五六日天]", text[match.end() :]):
                continue
            found.append(to_days(parse_number(match["n"]), _unit(match["u"])))
    for pattern, days in _HORIZON_EXACT:
        if re.search(pattern, text, re.IGNORECASE):
            found.append(days)
    return max(found) if found else None


def read_team_size(text: str) -> int | None:
    """'增长团队3人', '团队共三人', 'team of 3', 'a 3-person team', '3 FTEs' -> 3."""
    patterns = [
        rf"(?:团队|人手|小组|人员|编制){_CLAUSE}{{0,6}}?(?P<n>{NUM}|{CN_NUM})\s*(?:人|名|位)",
        rf"(?P<n>{NUM}|{CN_NUM})\s*(?:人|名)(?:的)?\w{{0,4}}?(?:团队|小组)",
        rf"team of (?P<n>{NUM}|{EN_WORD})",
        rf"(?P<n>{NUM}|{EN_WORD})[- ](?:person|people|member|strong)\s+team",
        rf"(?P<n>{NUM}|{EN_WORD})\s+(?:FTEs?|full-time (?:staff|people)|people on the team)",
        rf"headcount(?: of| is|:)?\s*(?P<n>{NUM})",
    ]
    value = _first_number(patterns, text, "n")
    if value is not None and 0 < value < 10_000:
        return int(value)
    return None


_NEGATION = (
    r"不新增|不增加|不使用|不用|不做|不投放|不开展|不考虑|不能用|不可用|不允许|不得|禁止|禁用|避免|不含|不包括|不走|"
    r"\bno\b|\bnot\b|\bnever\b|without|excluding|exclude[sd]?|avoid|don't use|do not use|ruled out|banned"
)


def read_excluded_channels(text: str) -> list[str]:
    """Channels named after a negation in the same clause: '不新增外呼与线下成本', 'no outbound calls'."""
    excluded: list[str] = []
    for match in re.finditer(_NEGATION, text, re.IGNORECASE):
        span = re.match(rf"{_CLAUSE}*", text[match.end() :])
        clause = re.split(r"[,，]\s*(?=[a-z]*\s*(?:only|仅|只))", span.group(0) if span else "", flags=re.I)[0]
        for cid in channels_in(clause[:60]):
            if cid not in excluded:
                excluded.append(cid)
    return excluded


def read_allowed_channels(text: str) -> tuple[list[str], bool]:
    """Channels a user lists as the ones to use, and whether they said 'only' (仅/只/only)."""
    patterns = [
        rf"(?:渠道|触点|channels?)\s*(?:为|是|包括|:|：|are)\s*(?P<list>{_CLAUSE}+)",
        rf"(?:仅|只)(?:用|使用|通过|限)?\s*(?P<list>{_CLAUSE}+?)(?:渠道|触达)",
        rf"(?P<list>{_CLAUSE}+?)\s+only\b",
    ]
    for index, pattern in enumerate(patterns):
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            listed = match["list"]
            negation = re.search(_NEGATION, listed, re.IGNORECASE)
            if negation:
                listed = listed[: negation.start()]
            found = channels_in(listed.split(":")[-1].split("：")[-1])
            if found:
                exclusive = index > 0 or bool(re.search(r"仅|只|only", match.group(0), re.IGNORECASE))
                return found, exclusive
    return [], False


_GOAL_HEADER = re.compile(
    rf"^\s*(?:(?:within|in|over)\s+(?:the\s+next\s+)?(?:{NUM}|{EN_WORD})\s+\w+|{COUNT}\s*\S{{0,3}}[内里]|"
    r"短期|中长期)\s*[:：,，]\s*",
    re.IGNORECASE,
)


def read_goals(text: str) -> list[Goal]:
    """Split a goals text into goals G1..Gn at semicolons, full stops and line breaks."""
    parts = [p.strip(" \t-•*·、") for p in re.split(r"[;；。\n]+", text)]
    goals: list[str] = []
    for part in parts:
        part = _GOAL_HEADER.sub("", part).strip()
        part = re.sub(r"^\(?\d+[.)、]\s*", "", part)
        if len(part) >= 2:
            goals.append(part)
    return [Goal(f"G{i}", g) for i, g in enumerate(goals, 1)]


TIMELINE_FIELD = re.compile(r"timeline|horizon|duration|period|周期|时间", re.IGNORECASE)
CONSTRAINT_FIELD = re.compile(r"budget|constraint|resource|channel|team|timeline|预算|渠道", re.IGNORECASE)


def read_constraints(arguments: Mapping[str, Any], goal_field: str | None = None) -> Constraints:
    """Read every constraint from a template's arguments.

    Budget, discount, horizon and team size may be stated in any field. Excluded channels are read from fields that
    hold constraints (budget, resources, channels, team, timeline), so that a churn signal such as "no email opens"
    is not mistaken for a rule. Goals come from `goal_field`.
    """
    texts = {name: value for name, value in _strings(arguments)}
    everything = "\n".join(texts.values())
    constraint_text = "\n".join(v for k, v in texts.items() if CONSTRAINT_FIELD.search(k)) or ""
    timeline_text = "\n".join(v for k, v in texts.items() if TIMELINE_FIELD.search(k))
    budget, period = read_budget(everything)
    allowed, exclusive = read_allowed_channels(constraint_text)
    excluded = read_excluded_channels(constraint_text)
    if exclusive:
        excluded += [cid for cid in CHANNELS if cid not in allowed and cid not in excluded]
    goals = read_goals(texts[goal_field]) if goal_field and texts.get(goal_field) else []
    return Constraints(
        budget=budget,
        budget_period=period,
        cost_cap_pct_of_revenue=read_revenue_share_cap(everything),
        discount_cap_pct=read_discount_cap(everything),
        horizon_days=max(
            (h for h in (read_horizon(everything), read_horizon(timeline_text, bare=True)) if h), default=None
        ),
        team_size=read_team_size(everything),
        channels_excluded=excluded,
        channels_allowed=[c for c in allowed if c not in excluded],
        goals=goals,
    )


def _strings(arguments: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for name, value in arguments.items():
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, list):
            yield name, "\n".join(str(v) for v in value)


def _clause_around(text: str, start: int, end: int) -> str:
    left = max(text.rfind(sep, 0, start) for sep in ";；。\n")
    rights = [i for i in (text.find(sep, end) for sep in ";；。\n") if i != -1]
    return text[left + 1 : min(rights) if rights else len(text)]
