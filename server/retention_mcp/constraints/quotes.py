"""Whether a value a model read out of a brief stands on the brief's own words.

The extraction call returns each value with a verbatim quote. A value is kept only when its quote is found in the
brief (after whitespace and width normalisation) and the quote supports it: the number is in the quote, and the
quote is of the right kind (a budget, not a list price; a discount cap, not a cost share; a horizon, not the period a
data file covers or a date on the calendar). `support_problem` says why a value is not supported, or None.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from retention_mcp.constraints.lexicon import (
    CN_RUN,
    PER_CUSTOMER,
    PERIOD_SAID,
    UNIT_DAYS,
    chinese_integer,
    duration_unit,
    numbers_in,
    rx,
    zhe_to_off,
)
from retention_mcp.vocabulary import channel_kind, channels_in

MIN_QUOTE_CHARS = 2
MAX_QUOTE_CHARS = 300  # a sentence or two: a quote of the whole brief would carry every cue word


def normalise(text: str) -> str:
    """Width-folded (NFKC), case-folded, with every run of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def find_quote(texts: Mapping[str, str], quote: str) -> str | None:
    """The input the quote is found in, verbatim after normalisation; None when it is in none."""
    wanted = normalise(quote)
    if len(wanted.replace(" ", "")) < MIN_QUOTE_CHARS:
        return None
    return next((name for name, text in texts.items() if wanted in normalise(text)), None)


def _has(value: float, numbers: Iterable[float], tolerance: float = 0.005) -> bool:
    return any(abs(value - n) <= max(tolerance, abs(value) * 1e-6) for n in numbers)


# -- cue words --------------------------------------------------------------------------------------------------------
def _rx(*words: str) -> re.Pattern[str]:
    return re.compile("|".join(words))


_LIMIT = _rx(
    r"\bat most\b", r"\bno more than\b", r"\bnot more than\b", r"\bup to\b", r"\bmax", r"\bcap", r"\blimit",
    r"\bnever\b", r"\bdeepest\b", r"\bexceed", r"\bunder\b", r"\bbelow\b", r"\bwithin\b", r"\bkeep\b", r"\bceiling\b",
    r"\bno deeper\b", r"\bonly\b", r"≤", r"<=", "不超过", "不得", "不能", "不可", "最多", "至多", "最高", "上限", "封顶", "以内",
    "以下", "控制在", "低于", "不高于", "不低于", "最低",
)  # fmt: skip
_NO_DISCOUNT = _rx(
    r"\bno discounts?\b", r"\bnever discount", r"\bwithout (?:any )?discounts?\b", r"\bfull price\b",
    r"\bno price cuts?\b", "不打折", "不给折扣", "不降价", "不做折扣", "不提供折扣", "无折扣", "原价",
)  # fmt: skip
_HALF_PRICE = _rx(r"\bhalf[- ]price\b", r"\bhalf off\b", "半价", "五折")
_DISCOUNT = _rx(
    r"\bdiscount", r"\boff\b", r"\bcoupon", r"\bvoucher", r"\bpromo", r"\brebate", r"\bprice cut", r"\bmarkdown",
    "折", "优惠", "减免", "让利", "券", "降价", "立减", "满减",
)  # fmt: skip
_REVENUE = _rx(
    r"\brevenue\b", r"\bsales\b", r"\bgmv\b", r"\bincome\b", r"\bturnover\b", r"\bmargin\b", r"\bof (?:the )?paid\b",
    "收入", "营收", "销售额", "流水", "毛利", "成交额", "营业额", "实付",
)  # fmt: skip
_COST = _rx(r"\bcosts?\b", r"\bspend", r"\bbudget", r"\bexpense", "成本", "费用", "花费", "支出", "投入", "预算")
_BUDGET = _rx(
    r"\bbudget", r"\bspend", r"\bfunds?\b", r"\bfunding\b", r"\ballocat", r"\bmarketing money\b", "预算", "经费",
    "费用", "投入", "花费", "开支", "资金",
)  # fmt: skip
_PRICE = _rx(
    r"\bpric", r"\bplan\b", r"\bplans\b", r"\btier", r"\bper seat\b", r"\bper user\b", r"/ ?seat\b", r"/ ?user\b",
    r"\blist\b", r"\bmsrp\b", r"\bsubscription\b", r"\bannual billing\b", r"\bsaves?\b", "售价", "定价", "价格", "套餐",
    "月费", "年费", "会员费", "原价", "标价", "年付", "月付",
)  # fmt: skip
_PEOPLE = _rx(
    r"\bpeople\b", r"\bpersons?\b", r"\bstaff", r"\bteam\b", r"\bheadcount\b", r"\bftes?\b", r"\bagents?\b",
    r"\bcsms?\b", r"\bmanagers?\b", r"\bmarketers?\b", r"\banalysts?\b", r"\breps?\b", r"\bengineers?\b",
    r"\bemployees?\b", r"\bspecialists?\b", r"\bassociates?\b", "人", "名", "位", "团队",
)  # fmt: skip
_DATA_WINDOW = _rx(
    r"\bdata\b", r"\bdataset\b", r"\bhistory\b", r"\bhistorical\b", r"\bpast\b", r"\blast\b", r"\bprevious\b",
    r"\bcovers?\b", r"\bago\b", "数据", "过去", "历史", "近", "上个", "去年",
)  # fmt: skip
_NEGATION = _rx(
    r"\bno\b", r"\bnot\b", r"\bnever\b", r"\bdon't\b", r"\bdo not\b", r"\bwithout\b", r"\bexclud", r"\bban",
    r"\bavoid", r"\bstop", "不", "禁", "别", "勿", "避免", "停止",
)  # fmt: skip

_HORIZON = _rx(
    r"\bplan", r"\bhorizon\b", r"\bnext\b", r"\bcoming\b", r"\bwithin\b", r"\bcampaign", r"\bprogram",
    r"\bplaybook\b", r"\bruns?\b", r"\brunning\b", r"\btimeline\b", r"\bduration\b", r"\bdeadline\b",
    r"\bpilot\b", r"\binitiative\b", "计划", "方案", "周期", "未来", "接下来", "之内", "以内", "期间", "活动", "为期",
    "时间范围", "试点",
)  # fmt: skip
_SIGNAL = _rx(
    r"\blogin\b", r"\blog in\b", r"\binactiv", r"\busage\b", r"\bsignals?\b", r"\btrial\b", r"\bgrace\b",
    r"\bonboarding\b", r"\bwindow\b", "登录", "活跃", "试用", "宽限", "信号", "窗口",
)  # fmt: skip
_DURATION = re.compile(
    r"(?P<n>\d+(?:\.\d+)?|[a-z]+(?:[- ][a-z]+)?|[零〇一二两三四五六七八九十百]+|半)\s*-?\s*"
    r"(?P<u>days?|weeks?|wks?|months?|mos?|quarters?|years?|yrs?|个?月|天|日|周|个?星期|个?季度|年)"
)
_HALF_YEAR = re.compile(r"\bhalf[- ]a?[- ]?year\b|\bhalf-year\b|半年")


def durations_in(quote: str) -> list[float]:
    """Day counts the quote states as a length of time ("90 days", "six months", "a quarter", 三个月, 半年)."""
    text = normalise(quote)
    days: list[float] = []
    for m in _DURATION.finditer(text):
        counts = numbers_in(m.group("n"))
        if m.group("n") in ("a", "an", "next", "the next", "one"):
            counts = {1.0}
        days += [c * UNIT_DAYS[duration_unit(m.group("u"))] for c in counts if c > 0]
    if _HALF_YEAR.search(text):
        days.append(182.5)
    return days


def _pct_values(text: str) -> set[float]:
    """Percentages in the quote: "20%", "20 percent", and the percent off of a Chinese N折."""
    found = {float(m.group(1)) for m in re.finditer(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b|per cent\b|pct\b)", text)}
    for m in re.finditer(r"((?:[a-z]+[ -]){1,3})(?:percent|per cent)\b", text):  # twenty percent
        found |= numbers_in(m.group(1))
    for m in re.finditer(rf"百分之([{CN_RUN}]+)", text):  # 百分之二十
        found.add(float(chinese_integer(m.group(1))))
    for m in re.finditer(
        r"(\d+(?:\.\d+)?|[一二三四五六七八九](?:[一二三四五六七八九]|点[一二三四五六七八九])?)\s*折", text
    ):
        found.add(zhe_to_off(m.group(1)))
    return found


# -- the checks -------------------------------------------------------------------------------------------------------
def support_problem(name: str, value: Any, quote: str, input_name: str) -> str | None:
    """Why the quote does not support the value of constraint `name`, or None when it does."""
    text = normalise(quote)
    if len(text) > MAX_QUOTE_CHARS:
        return "the quote is longer than the sentence that states the value"
    price_input = "pric" in input_name
    if name == "budget":
        amounts = [value["amount"]] + ([value["min"]] if value.get("min") is not None else [])
        numbers = numbers_in(text)
        if not all(_has(a, numbers) for a in amounts):
            return "the amount is not in the quote"
        if not _BUDGET.search(text) and (price_input or _PRICE.search(text)):
            return "the quote states a price, not a budget"
        if PER_CUSTOMER.search(text):
            return "the quote caps an amount per customer, not the budget"
        stated = {period for period, said in PERIOD_SAID.items() if rx(said).search(text)}
        period = value.get("period") or "total"
        if period != "total" and period not in stated:
            return f"the quote does not say the amount is per {period}"
        if period == "total" and stated:
            return f"the quote states an amount per {sorted(stated)[0]}, not in total"
        return None
    if name == "discount_cap_pct":
        if _NO_DISCOUNT.search(text):
            return None if value == 0 else "the quote rules out discounts, so the cap is 0"
        pcts = _pct_values(text) | ({50.0} if _HALF_PRICE.search(text) else set())
        if not _has(float(value), pcts, 0.01):
            return "the discount is not in the quote"
        if _REVENUE.search(text) or (_COST.search(text) and not _DISCOUNT.search(text)):
            return "the quote caps a cost share, not a discount"
        if not _DISCOUNT.search(text):
            return "the quote names no discount"
        if not _LIMIT.search(text) or price_input:
            return "the quote states a price or an offer, not a cap"
        return None
    if name == "cost_cap_pct_of_revenue":
        if not _has(float(value), _pct_values(text), 0.01):
            return "the share is not in the quote"
        if not _REVENUE.search(text):
            return "the quote names no revenue"
        if not _LIMIT.search(text):
            return "the quote states no cap"
        return None
    if name == "horizon_days":
        if _DATA_WINDOW.search(text):
            return "the quote is about the data or the past, not the plan's horizon"
        if not any(abs(d - value) <= max(1.5, 0.02 * value) for d in durations_in(text)):
            return "the quote states no length of time of that many days"
        if _SIGNAL.search(text) or not _HORIZON.search(text):
            return "the quote is not about how long the plan runs"
        return None
    if name == "team_size":
        counts = [n for n in numbers_in(text) if n >= 1 and n == int(n)]
        if not counts or not _has(float(value), {max(counts), sum(counts)}):  # "6 CSMs plus 1 marketer" is 7, not 1
            return "the head count is not in the quote"
        if not _PEOPLE.search(text):
            return "the quote names no people"
        return None
    if name in ("channels_allowed", "channels_excluded"):
        named = set(channels_in(unicodedata.normalize("NFKC", quote)))
        kinds = [channel_kind(k) or k for k in value if isinstance(k, str)]
        if not set(kinds) <= named:
            return "the quote does not name " + ", ".join(k for k in kinds if k not in named)
        if name == "channels_excluded" and not _NEGATION.search(text):
            return "the quote does not rule the channels out"
        return None
    return "no check for this field"
