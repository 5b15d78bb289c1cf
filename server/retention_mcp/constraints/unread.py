"""Numbers in constraint text that no constraint accounts for."""

from __future__ import annotations

import re

from retention_mcp.constraints.budget import is_price
from retention_mcp.constraints.discount import ZHE
from retention_mcp.constraints.horizon import METRIC_AFTER, data_windows
from retention_mcp.constraints.lexicon import COUNT, NUM, UNIT_EN, UNIT_ZH_STRICT
from retention_mcp.constraints.money import amounts_in
from retention_mcp.constraints.record import Unread
from retention_mcp.constraints.team import team_roles
from retention_mcp.constraints.text import MAX_HITS, Mask, Span, short, subclause

_I = re.IGNORECASE
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
    ("percent", re.compile(rf"(?:{NUM})\s*(?:[%％]|percent\b|per cent\b)|百分之{COUNT}|(?<!\d){ZHE}", _I)),
    (
        "duration",
        re.compile(
            rf"(?<![第\d.])(?:{COUNT})\s*(?:{UNIT_ZH_STRICT}|(?:{UNIT_EN})\b)|半年|half[- ]year|年底|年末|年内|"
            r"end of (?:the )?year|year[- ]end|\beoy\b|end of (?:the )?quarter|季度末",
            _I,
        ),
    ),
]


def unread_in(name: str, text: str, consumed: list[Span], raw: str | None = None) -> list[Unread]:
    """Numbers in a constraint-bearing input that no constraint accounts for, each with its short clause."""
    amounts = {a.start: a for a in amounts_in(text)}
    candidates: list[tuple[str, int, int]] = [("amount", a.start, a.end) for a in amounts.values()]
    for kind, pattern in _UNREAD_PATTERNS:
        for match in pattern.finditer(text):
            if kind == "duration" and re.match(r"(?:19|20)\d\d\s*年|(?:a|an)\s", match.group(0), _I):
                continue  # a year, not a duration; "a year", "a month": a rate ("20% a year")
            candidates.append((kind, match.start(), match.end()))
    candidates += [("headcount", h.start, h.end) for h in team_roles(text)]
    taken = Mask(len(text), [*consumed, *data_windows(text)])
    found: list[Unread] = []
    for kind, start, end in sorted(candidates, key=lambda c: c[1]):
        if taken.touches(start, end):
            continue
        s, e = subclause(text, start, end)
        if _is_metric(text, s, start, end):
            continue
        if kind == "amount" and is_price(text, amounts[start]):
            continue
        taken.add(start, end)
        if e - s > 80:  # a long sub-clause: the words around the number
            s = max(s, start - 35)
            e = min(e, max(end + 35, s + 80))
        unread = Unread(name, short(raw or text, s, e), kind)
        if unread not in found:
            found.append(unread)
        if len(found) == MAX_HITS:  # enough to say the input is unverified and what to fill in
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
        or METRIC_AFTER.match(text, end)
        or _SHARE_OF_SOMETHING.match(text, end)
        or re.match(r"\s*(?:churn|流失)", after, _I)
    )
