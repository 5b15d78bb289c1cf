"""The discount cap: read from the brief, and a plan's discounts checked against it.

The discount cap against a plan: every typed discount wherever it stands, and discounts written in the fields that
carry an offer to customers (offers, rewards, benefits, messages, save steps), never in text that describes list
prices, competitors or restates the cap. A percentage that restates the brief's own prices (an annual price "save
45% versus monthly", or the brief's 年付8.5折) is a list price, not an incentive of the plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.kind import Kind, Subject, mark
from retention_mcp.constraints.lexicon import (
    CAP_BEFORE,
    CN_DIGITS,
    NUM,
    PERCENT,
    has_percent,
    parse_number,
    rx,
    zhe_to_off,
)
from retention_mcp.constraints.plan_walk import title_of, where
from retention_mcp.constraints.record import Constraints, format_amount
from retention_mcp.constraints.text import Hit

# -- discount cap -----------------------------------------------------------------------------------------------------
_DISCOUNT_WORD = (
    r"折扣|优惠|让利|降价|减价|打折|discounts?|price cuts?|markdowns?|promo(?:tion)?s?|coupons?|vouchers?|rebates?"
)
_GAP = r"(?:\s*(?:must|should|can|may|will|are|is|of|to be|be|kept|keep|stay|remain|always|all|any|均|都|一律|须|需|要|应|必须|为|是|:|：))*\s*"
_V = rf"(?P<v>{NUM})\s*{PERCENT}"
ZHE = r"(?P<z>\d+(?:\.\d+)?|[一二三四五六七八九](?:[一二三四五六七八九]|点[一二三四五六七八九])?)\s*折"


_OFF_PATTERNS = [
    rf"(?:{_DISCOUNT_WORD})(?:幅度|力度|上限|率|额度|cap|rates?|depth)?{_GAP}(?:{CAP_BEFORE})\s*{_V}",
    rf"(?:{_DISCOUNT_WORD})(?:幅度|力度|上限)?\s*{_V}\s*(?:以内|以下|之内|封顶|为上限|为限|max(?:imum)?\b|at most|or less|tops\b)",
    rf"(?:{CAP_BEFORE})\s*(?:{_DISCOUNT_WORD})(?:幅度|力度)?\s*(?:of|is|at|为|是|:|：)?\s*{_V}",
    rf"(?:{CAP_BEFORE})\s*{_V}\s*(?:off|discounts?|的?折扣|的?优惠|的?让利|price cut)",
    rf"{_V}\s*(?:off|discounts?)\s*(?:max(?:imum)?|at most|tops|or less|cap)\b",
    rf"{_V}\s*(?:max(?:imum)?|cap(?:ped)?)\s*(?:discounts?|off)\b",
    rf"(?:discount|折扣|优惠)\s*(?:cap|ceiling|limit|上限|封顶)\s*(?:of|is|at|为|是|:|：)?\s*{_V}",
    rf"\bno\s+(?:{_DISCOUNT_WORD})\s+(?:deeper|bigger|larger|greater|higher|above|over|more|beyond)\s*(?:than)?\s*{_V}",
    rf"(?:never|don't|do not|not|won't|will not)\s+discount\s+(?:by\s+)?(?:more than|over|above|beyond|deeper than)\s*{_V}",
    rf"\bnothing\s+(?:deeper|more|bigger)\s+than\s*{_V}\s*off",
]
_OFF = [rx(p) for p in _OFF_PATTERNS]


_PRICE_FLOOR_PATTERNS = [  # the price paid may not go below N% of list: at most 100-N off
    rf"(?:不低于|不得低于|不能低于|不少于|至少为?)\s*(?:原价|标价|定价|零售价)的?\s*{_V}",
    rf"(?:(?:no|never|not)\s+(?:lower|less|below)\s+than|at least)\s*{_V}\s+of\s+(?:the\s+)?(?:list|full|regular)\s+price",
]
_PRICE_FLOOR = [rx(p) for p in _PRICE_FLOOR_PATTERNS]


_ZHE_CAPS_PATTERNS = [  # Chinese "N折" is the price paid: 不低于8.5折 / 最低八五折 / 最多打9折 / 8折封顶
    rf"(?:不低于|不得低于|不能低于|不少于|最低|最多|最大|最高|低至|至多)\s*(?:打|到|至|为|是)?\s*(?:原价的?)?\s*{ZHE}",
    rf"{ZHE}\s*(?:封顶|为限|是底线|为底线|为下限|以上|起)",
    rf"(?:折扣|优惠)(?:力度|幅度)?\s*(?:不超过|不低于|最多|最低|上限为?|为|是|:|：)\s*{ZHE}",
    rf"(?:折扣|优惠)(?:力度|幅度)?\s*(?:控制在|限制在|保持在)\s*{ZHE}\s*(?:以内|以上)?",
]
_ZHE_CAPS = [rx(p) for p in _ZHE_CAPS_PATTERNS]

_TENTHS = rx(rf"(?:{_DISCOUNT_WORD})(?:幅度|力度)?{_GAP}(?:{CAP_BEFORE})\s*(?P<c>[一二两三四五])成")  # 两成 = 20% off


def discount_hits(text: str) -> list[Hit]:
    if not (has_percent(text) or "折" in text or "成" in text):  # every cap is a percentage, an N折 or N成
        return []
    hits: list[Hit] = []
    low = text.lower()
    words = ("折扣", "优惠", "让利", "降价", "减价", "打折", "discount", "price cut", "markdown", "promo", "coupon",
             "voucher", "rebate", "off")  # fmt: skip
    for pattern in _OFF if any(w in low for w in words) else ():
        for match in pattern.finditer(text):
            hits.append(Hit(parse_number(match["v"]), match.start(), match.end()))
    for pattern in _PRICE_FLOOR if any(w in low for w in ("原价", "标价", "定价", "零售价", "price")) else ():
        for match in pattern.finditer(text):
            hits.append(Hit(round(100 - parse_number(match["v"]), 2), match.start(), match.end()))
    for pattern in _ZHE_CAPS if "折" in text else ():
        for match in pattern.finditer(text):
            hits.append(Hit(zhe_to_off(match["z"]), match.start(), match.end()))
    for match in _TENTHS.finditer(text) if "成" in text else ():
        hits.append(Hit(float(CN_DIGITS[match["c"]] * 10), match.start(), match.end()))
    hits.sort(key=lambda h: h.start)
    return hits


def read_discount_cap(text: str) -> float | None:
    """'折扣不超过15%', '最低8.5折', '最多打9折', 'discounts capped at 15%', 'no discount deeper than 10%' -> percent off."""
    hits = discount_hits(text)
    return hits[0].value if hits else None


DISCOUNT_KEYS = ("discount_pct", "effective_discount_pct")
# Text that restates the cap, or describes what competitors do, is not an incentive of the plan.
_NOT_INCENTIVE_TEXT = frozenset({"constraint_check", "assumptions", "versus_competitors", "competitors"})
_N = r"\d+(?:\.\d+)?"
_RANGE = rf"(?:{_N}\s*%?\s*(?:-|–|~|～|至|到|to)\s*)?"
# (pattern, how the number reads): "off" = percent off; "zhe" = Chinese N折, the share paid; a fixed value otherwise
_DISCOUNT_TEXT: list[tuple[re.Pattern[str], str | float]] = [
    (re.compile(rf"{_RANGE}(?P<n>{_N})\s*(?:%|percent\b)\s*(?:off\b|的?折扣|的?优惠|discount)", re.I), "off"),
    (re.compile(rf"(?:立减|直减|优惠|折扣|让利|减免|降价|打折|discount(?:ed)?(?: of| by)?|save|markdown of)\s*"
                rf"(?:up to\s*|高达\s*)?{_RANGE}(?P<n>{_N})\s*%", re.I), "off"),
    (re.compile(r"打\s*(?P<z>\d+(?:\.\d+)?|[一二两三四五六七八九]{1,2})\s*折"), "zhe"),
    (re.compile(r"(?<![\d.第])(?P<z>\d(?:\.\d)?|[1-9]\d)\s*折(?![扣算合旧叠])"), "zhe"),
    (re.compile(r"(?<![一二两三四五六七八九十])(?P<z>[一二两三四五六七八九]{1,2})折(?![扣算合旧叠])"), "zhe"),
    (re.compile(r"半价|half[- ]price|half off|50/50 price", re.I), 50.0),
    (re.compile(r"买一送一|买一赠一|buy one,? get one(?: free)?|\bbogo\b", re.I), 50.0),
]  # fmt: skip


# Every discount expression holds one of these: texts without any are not scanned further.
_DISCOUNT_HINT = re.compile(r"%|percent|折|半价|买一|half|bogo|buy one", re.I)


def text_discounts(text: str) -> list[tuple[str, float]]:
    """Discount expressions in a text, each as (the words, percent off): '5折' -> 50, '40% off' -> 40."""
    found: list[tuple[str, float]] = []
    if not _DISCOUNT_HINT.search(text):
        return found
    taken: list[tuple[int, int]] = []
    for pattern, reading in _DISCOUNT_TEXT:
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            if reading == "off":
                value = float(match["n"])
            elif reading == "zhe":
                value = zhe_to_off(match["z"])
            else:
                value = float(reading)
            if 0 < value <= 100:
                taken.append(match.span())
                found.append((match.group(0).strip(), value))
    return found


def _discounts(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, float]]:
    """Every typed discount in the plan, wherever it stands, named by its part and where it is."""
    if isinstance(value, dict):
        for key in DISCOUNT_KEYS:
            pct = value.get(key)
            if isinstance(pct, int | float) and not isinstance(pct, bool):
                yield f"{title_of(value, key)} ({where(path) or key})", float(pct)
        for k, item in value.items():
            if isinstance(item, dict | list) and k not in _NOT_INCENTIVE_TEXT:
                yield from _discounts(item, (*path, k))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                yield from _discounts(item, (*path, index))


# The fields whose text carries an incentive to customers. Summaries, rationales, cost logic, arithmetic, worked
# examples with list prices, competitor notes and rows restating the cap describe; they offer nothing.
OFFER_TEXT_KEYS = frozenset(
    {
        "action", "actions", "benefits", "call_to_action", "condition", "deliverables", "description", "downgrade",
        "earning", "key_action", "key_message", "member_value", "message", "motions", "offer", "pause", "plays",
        "price_effect_per_month", "purpose", "recognition", "redemption", "reward", "sample", "steps", "variants",
        "we_give",
    }
)  # fmt: skip
# Keys the schema does not know are read in full: nothing says they only describe.
_UNKNOWN = "extras"

_CLAUSE_END = re.compile(r"[。;;\n!?!?]")
_PRICE_CUE = re.compile(
    r"年付|年费|包年|季付|月付|按年|按月|连续包月|标价|原价|定价|价格|售价|list price|annual|yearly|per year|/\s*y(?:ea)?r|"
    r"billed|prepa(?:y|id)|pricing|price|versus monthly|vs\.? monthly|compared (?:to|with) (?:paying )?monthly|"
    r"than monthly|over monthly|相比月付|比月付|较月付",
    re.I,
)
_CAP_CUE = re.compile(
    r"最多|不超过|不得超过|不高于|上限|至多|以内|\bcap\b|at most|no more than|\bmax(?:imum)?\b|limit", re.I
)
_PCT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b)", re.I)
_MONEY = r"[$¥￥€£]?\s*(\d+(?:\.\d+)?)\s*(?:元|美元|块|usd|cny|eur|rmb|dollars?)?"
_MONTHLY = [
    re.compile(_MONEY + r"\s*(?:/|per |a |每)\s*(?:month|mo\b|个?月)", re.I),
    re.compile(r"(?:月付|月费|monthly(?: price| plan)?(?: is| at|:)?)\s*[::]?\s*" + _MONEY, re.I),
]
_ANNUAL = [
    re.compile(_MONEY + r"\s*(?:/|per |a |每)\s*(?:year|yr\b|年)", re.I),
    re.compile(r"(?:年付|年费|包年|annual(?:ly)?(?: price| plan)?(?: is| at|:)?|yearly)\s*[::]?\s*" + _MONEY, re.I),
]

_MONTH_WORDS = {"one": 1.0, "two": 2.0, "three": 3.0, "一": 1.0, "两": 2.0, "二": 2.0, "三": 3.0}
_FREE_MONTHS = re.compile(
    r"(?:annual|yearly|年付|包年)[^。;;\n]{0,30}?(?:saves?|gets?|free|送|省|免)\s*(\d+|one|two|three|[一两二三])\s*"
    r"(?:free\s*)?(?:个)?(?:months?|月)",
    re.I,
)


def _around(text: str, start: int, end: int, reach: int = 24) -> str:
    """The words around [start, end) within the same clause, at most `reach` characters either side."""
    before = text[max(0, start - reach) : start]
    after = text[end : end + reach]
    cut = list(_CLAUSE_END.finditer(before))
    if cut:
        before = before[cut[-1].end() :]
    if stop := _CLAUSE_END.search(after):
        after = after[: stop.start()]
    return before + text[start:end] + after


def list_price_offs(brief: str) -> set[float]:
    """Percent-off figures the brief itself gives as prices (its own annual price against the monthly one, 年付8.5折),
    not as a cap: a plan that restates them restates a list price."""
    found: set[float] = set()
    if not brief:
        return found
    spans = [(m.start(), m.end(), float(m.group(1))) for m in _PCT.finditer(brief)]
    spans += [(brief.find(words), brief.find(words) + len(words), pct) for words, pct in text_discounts(brief)]
    for start, end, pct in spans:
        around = _around(brief, start, end)
        if start >= 0 and _PRICE_CUE.search(around) and not _CAP_CUE.search(around) and 0 < pct < 100:
            found.add(pct)
    for match in _FREE_MONTHS.finditer(brief):  # "annual billing saves 2 months": 10 months paid for 12
        months = _MONTH_WORDS.get(match.group(1).casefold()) or float(match.group(1))
        if 0 < months < 12:
            found.add(round(100 * months / 12, 2))
    monthly = [float(m.group(1)) for p in _MONTHLY for m in p.finditer(brief)]
    annual = [float(m.group(1)) for p in _ANNUAL for m in p.finditer(brief)]
    for month in monthly:
        for year in annual:
            if month > 0 and year < 12 * month:
                found.add(round(100 * (1 - year / (12 * month)), 2))
    return found


_COMPARED = re.compile(r"versus|\bvs\.?|compared (?:to|with)|\bthan\b|\bover monthly|相比|相较|比月付|较月付", re.I)


def _restates_list_price(text: str, words: str, pct: float, list_offs: set[float], brief: str) -> bool:
    """A figure the brief gives as a price, written as a comparison of prices ('save 45% versus monthly') or in the
    brief's own words next to a price ('年付8.5折'), restates a list price."""
    if not any(abs(pct - off) <= 1.0 for off in list_offs):
        return False
    start = text.find(words)
    if start < 0:
        return False
    around = _around(text, start, start + len(words))
    return bool(_COMPARED.search(around)) or (words in brief and bool(_PRICE_CUE.search(around)))


def _text_discounts(
    value: Any, path: tuple[str | int, ...] = (), offer_text: bool = False
) -> Iterator[tuple[str, float, str, str]]:
    """(where, percent off, the text, the words) for each discount written in the fields that carry an offer (every
    field under `extras`)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, item in items:
        reads = offer_text or k in OFFER_TEXT_KEYS or k == _UNKNOWN
        if isinstance(item, str):
            if reads and _DISCOUNT_HINT.search(item):
                for words, pct in text_discounts(item):
                    yield f"{where((*path, k))}: '{words}'", pct, item, words
        elif isinstance(item, dict | list) and k not in _NOT_INCENTIVE_TEXT:
            # a list of strings under an offer key (benefits, actions) is offer text; a dict's own keys decide
            inherit = (offer_text or k == _UNKNOWN) or (k in OFFER_TEXT_KEYS and isinstance(item, list))
            yield from _text_discounts(item, (*path, k), inherit)


def check_discounts(plan: dict[str, Any], c: Constraints, checks: CheckList, brief: str = "") -> None:
    if c.discount_cap_pct is None:
        return
    cap = c.discount_cap_pct
    found = list(_discounts(plan))
    list_offs: set[float] | None = None  # read from the brief only when a written discount is over the cap
    for name, pct, text, words in _text_discounts(plan):
        if pct > cap + 1e-9:
            list_offs = list_price_offs(brief) if list_offs is None else list_offs
            if _restates_list_price(text, words, pct, list_offs, brief):
                continue
        found.append((name, pct))
    over = [(name, pct) for name, pct in found if pct > cap + 1e-9]
    deepest = max((pct for _, pct in found), default=None)
    if over:
        names = "; ".join(f"{name} = {format_amount(pct)}% off" for name, pct in over)
        names_zh = ";".join(f"{name} = 优惠 {format_amount(pct)}%" for name, pct in over)
        checks.add(
            "discount_cap",
            False,
            f"Discounts above the {format_amount(cap)}% cap: {names}. (discount_pct is the percent off: 7折 = 30.)",
            f"以下优惠超过 {format_amount(cap)}% 的折扣上限:{names_zh}。(discount_pct 为减免的百分比:7折 = 30。)",
        )
    else:
        shown = "no discounts" if deepest is None else f"deepest discount {format_amount(deepest)}%"
        shown_zh = "无折扣" if deepest is None else f"最大折扣 {format_amount(deepest)}%"
        checks.add(
            "discount_cap",
            True,
            f"Every discount in the plan, typed or in its text, is within the {format_amount(cap)}% cap ({shown}).",
            f"方案中的全部优惠(字段与正文)均在 {format_amount(cap)}% 上限之内({shown_zh})。",
        )


def check(subject: Subject, c: Constraints, checks: CheckList) -> None:
    check_discounts(subject.dumped, c, checks, subject.brief)


def line(c: Constraints, zh: bool) -> str | None:
    cap = c.discount_cap_pct
    if cap is None:
        return None
    text = (
        f"优惠幅度不超过 {format_amount(cap)}%(即不低于 {round((100 - cap) / 10, 2):g} 折);方案中任何位置的折扣都适用"
        if zh
        else f"at most {format_amount(cap)}% off the list price, for every discount anywhere in the plan"
    )
    return ("- 折扣上限:" if zh else "- Discount cap: ") + mark(c, "discount_cap_pct", text, zh)


def row(effective: Any, zh: bool) -> str | None:
    value = effective.discount_cap_pct
    return None if value is None else f"{format_amount(value)}%"


KIND = Kind(
    field="discount_cap_pct",
    name=("discount cap", "折扣上限"),
    checks=frozenset({"discount_cap"}),
    check=check,
    line=line,
    label=("Discount cap", "折扣上限"),
    row=row,
    ask="discount",
)
