"""The budget: read from text in both languages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import islice

from retention_mcp.constraints.lexicon import COUNT_NOUN, NUM, Amount, Money, amounts_in, parse_number, rx
from retention_mcp.constraints.text import MAX_HITS, Hit, Span, clause, overlaps, subclause

_I = re.IGNORECASE
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


# -- budget -----------------------------------------------------------------------------------------------------------
BUDGET_WORD = (
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


def is_price(text: str, amount: Amount) -> bool:
    before = text[max(0, amount.start - 16) : amount.start]
    return bool(_PRICE_BEFORE.search(before) or _PRICE_AFTER.match(text, amount.end))


def _period_near(text: str, spans: list[Span]) -> tuple[str | None, Span | None]:
    """The period word closest to the amount, within the sub-clauses of the amount and its budget word; a total word
    ("in total", "总计") closer than any period word makes it a total."""
    regions = {subclause(text, s, e) for s, e in spans}
    last = max(e for _, e in regions)
    if last < len(text) and text[last] in ",，":  # "¥50万元,全年", "HK$300k, quarterly": a period word on its own
        ns, ne = subclause(text, last + 1, last + 1)
        if re.fullmatch(rf"\s*(?:{'|'.join(p for p, _ in _PERIOD_WORDS)})\s*", text[ns:ne], _I):
            regions.add((ns, ne))
    anchor = spans[0]
    best: tuple[int, str | None, Span] | None = None
    for rs, re_ in sorted(regions):
        region = text[rs:re_]
        for pattern, period in [*_PERIOD_WORDS, (_TOTAL_WORDS, None)]:
            for match in rx(pattern).finditer(region):
                s, e = rs + match.start(), rs + match.end()
                distance = max(anchor[0] - e, s - anchor[1], 0)
                if best is None or distance < best[0]:
                    best = (distance, period, (s, e))
    if best is None:
        return None, None
    return best[1], best[2]


def budget_hits(text: str, bearing: bool) -> list[Hit]:
    """Budgets in one input, best first: an amount next to a budget word; in a constraint-bearing input, also a
    currency amount with no budget word ("EUR 25k for the quarter", "¥30万, two ops staff")."""
    amounts = amounts_in(text)
    hits: list[Hit] = []
    for keyword in islice(rx(BUDGET_WORD).finditer(text), MAX_HITS):
        cs, ce = clause(text, keyword.start(), keyword.end())
        after = [a for a in amounts if keyword.end() <= a.start <= keyword.end() + 40 and a.end <= ce]
        after = [a for a in after if not is_price(text, a)]
        before = [
            a
            for a in amounts
            if keyword.start() - 40 <= a.end <= keyword.start()
            and a.start >= cs
            and subclause(text, a.start, a.end) == subclause(text, keyword.start(), keyword.end())
        ]
        chosen = after[0] if after else (before[-1] if before else None)
        if chosen is None:
            bare = re.match(
                rf"\s*(?:(?:总额|总计|为|是|约|共|上限|cap|of|is|:|：|at most|up to|≤|<=)\s*)*(?P<n>{NUM})(?!\s*[%％.\d])",
                text[keyword.end() :],
                _I,
            )
            if not bare or parse_number(bare["n"]) < 100 or COUNT_NOUN.match(text, keyword.end() + bare.end()):
                continue
            if re.match(
                r"\s*(?:天|日|周|个月|季度|年|days?|weeks?|months?|years?)", text[keyword.end() + bare.end() :], _I
            ):
                continue
            chosen = Amount(
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
        for amount in amounts[: MAX_HITS * 2]:
            if not amount.currency or amount.money.amount < 1000 or is_price(text, amount):
                continue
            if rx(r"(?:价值|估值|worth|valued at|value of)\s*(?:约|about|around|~)?\s*$").search(text, 0, amount.start):
                continue
            if any(overlaps(h.spans(), amount.start, amount.end) for h in hits):
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


def _per_unsupported_period(text: str, amount: Amount) -> bool:
    """'$5k per week', '每天预算500元': a budget per week or day has no period the checker knows, so it stays unread
    rather than be taken for the whole plan's."""
    s, _ = subclause(text, amount.start, amount.end)
    return bool(_UNSUPPORTED_PERIOD.match(text, amount.end) or _UNSUPPORTED_PERIOD.search(text[s : amount.start] + " "))


def _budget_hit(text: str, amount: Amount, keyword: Span | None, amounts: Iterable[Amount]) -> Hit:
    spans = [(amount.start, amount.end)] + ([keyword] if keyword else [])
    period, period_span = _period_near(text, spans)
    if period_span:
        spans.append(period_span)
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    money = amount.money
    consumed: list[Span] = []
    cs, ce = clause(text, start, end)
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
    return Hit((money, period), start, end, consumed)


def read_budget(text: str) -> tuple[Money | None, str | None]:
    """The budget a constraint text states and its period ('季度预算12万元' -> 120000 CNY per quarter)."""
    hits = budget_hits(text, bearing=True)
    if not hits:
        return None, None
    money, period = hits[0].value
    return money, period
