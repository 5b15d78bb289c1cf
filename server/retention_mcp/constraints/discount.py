"""The discount cap."""

from __future__ import annotations

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
from retention_mcp.constraints.text import Hit

# -- discount cap -----------------------------------------------------------------------------------------------------
_DISCOUNT_WORD = (
    r"折扣|优惠|让利|降价|减价|打折|discounts?|price cuts?|markdowns?|promo(?:tion)?s?|coupons?|vouchers?|rebates?"
)
_GAP = r"(?:\s*(?:must|should|can|may|will|are|is|of|to be|be|kept|keep|stay|remain|always|all|any|均|都|一律|须|需|要|应|必须|为|是|:|：))*\s*"
_V = rf"(?P<v>{NUM})\s*{PERCENT}"
ZHE = r"(?P<z>\d+(?:\.\d+)?|[一二三四五六七八九](?:[一二三四五六七八九]|点[一二三四五六七八九])?)\s*折"


def discount_hits(text: str) -> list[Hit]:
    if not (has_percent(text) or "折" in text or "成" in text):  # every cap is a percentage, an N折 or N成
        return []
    off = [
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
    hits: list[Hit] = []
    low = text.lower()
    words = ("折扣", "优惠", "让利", "降价", "减价", "打折", "discount", "price cut", "markdown", "promo", "coupon",
             "voucher", "rebate", "off")  # fmt: skip
    for pattern in off if any(w in low for w in words) else ():
        for match in rx(pattern).finditer(text):
            hits.append(Hit(parse_number(match["v"]), match.start(), match.end()))
    price_floor = [  # the price paid may not go below N% of list: at most 100-N off
        rf"(?:不低于|不得低于|不能低于|不少于|至少为?)\s*(?:原价|标价|定价|零售价)的?\s*{_V}",
        rf"(?:(?:no|never|not)\s+(?:lower|less|below)\s+than|at least)\s*{_V}\s+of\s+(?:the\s+)?(?:list|full|regular)\s+price",
    ]
    for pattern in price_floor if any(w in low for w in ("原价", "标价", "定价", "零售价", "price")) else ():
        for match in rx(pattern).finditer(text):
            hits.append(Hit(round(100 - parse_number(match["v"]), 2), match.start(), match.end()))
    zhe = [  # Chinese "N折" is the price paid: 不低于8.5折 / 最低八五折 / 最多打9折 / 8折封顶
        rf"(?:不低于|不得低于|不能低于|不少于|最低|最多|最大|最高|低至|至多)\s*(?:打|到|至|为|是)?\s*(?:原价的?)?\s*{ZHE}",
        rf"{ZHE}\s*(?:封顶|为限|是底线|为底线|为下限|以上|起)",
        rf"(?:折扣|优惠)(?:力度|幅度)?\s*(?:不超过|不低于|最多|最低|上限为?|为|是|:|：)\s*{ZHE}",
        rf"(?:折扣|优惠)(?:力度|幅度)?\s*(?:控制在|限制在|保持在)\s*{ZHE}\s*(?:以内|以上)?",
    ]
    for pattern in zhe if "折" in text else ():
        for match in rx(pattern).finditer(text):
            hits.append(Hit(zhe_to_off(match["z"]), match.start(), match.end()))
    tenths = rf"(?:{_DISCOUNT_WORD})(?:幅度|力度)?{_GAP}(?:{CAP_BEFORE})\s*(?P<c>[一二两三四五])成"  # 两成 = 20% off
    for match in rx(tenths).finditer(text) if "成" in text else ():
        hits.append(Hit(float(CN_DIGITS[match["c"]] * 10), match.start(), match.end()))
    hits.sort(key=lambda h: h.start)
    return hits


def read_discount_cap(text: str) -> float | None:
    """'折扣不超过15%', '最低8.5折', '最多打9折', 'discounts capped at 15%', 'no discount deeper than 10%' -> percent off."""
    hits = discount_hits(text)
    return hits[0].value if hits else None
