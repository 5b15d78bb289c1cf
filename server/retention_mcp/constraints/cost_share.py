"""The cost cap as a share of revenue."""

from __future__ import annotations

import re

from retention_mcp.constraints.lexicon import CAP_BEFORE, DASH, NUM, PERCENT, has_percent, parse_number, rx
from retention_mcp.constraints.text import Hit, clause

_I = re.IGNORECASE
# -- cost cap against revenue -----------------------------------------------------------------------------------------
_PCT = rf"(?P<low>{NUM})\s*[%％]?(?:{DASH}(?P<high>{NUM}))?\s*{PERCENT}"
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


def cost_cap_hits(text: str) -> list[Hit]:
    if not has_percent(text):  # every cap is a percentage: most inputs are skipped here
        return []
    patterns = [
        rf"(?:{_REVENUE_ZH})\s*(?:的|之)?\s*(?:比例|比重|占比)?\s*(?:{CAP_BEFORE})?\s*(?:的)?\s*{_PCT}",
        rf"(?:占|为|是)\s*(?:{_REVENUE_ZH})\s*(?:的)?\s*(?:比例|比重|占比)?\s*(?:{CAP_BEFORE})?\s*{_PCT}",
        rf"{_PCT}\s*(?:of|of the|of our)\s+{_REVENUE_EN}\b",
    ]
    hits: list[Hit] = []
    for pattern in patterns:
        for match in rx(pattern).finditer(text):
            cs, ce = clause(text, match.start(), match.end())
            if re.search(_COST_WORD, text[cs:ce], _I):
                hits.append(Hit(parse_number(match["high"] or match["low"]), match.start(), match.end()))
    hits.sort(key=lambda h: h.start)
    return hits


def read_revenue_share_cap(text: str) -> float | None:
    """'激励成本控制在销售额的3%-4.5%' -> 4.5; 'incentive cost ≤ 4% of GMV' -> 4; '激励成本不超过实收的3%' -> 3."""
    hits = cost_cap_hits(text)
    return hits[0].value if hits else None
