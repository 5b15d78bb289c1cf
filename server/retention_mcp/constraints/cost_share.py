"""The cost cap as a share of revenue."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.kind import Kind, Subject, mark
from retention_mcp.constraints.lexicon import CAP_BEFORE, DASH, NUM, PERCENT, has_percent, parse_number, rx
from retention_mcp.constraints.money import earn_rate, money_in, point_value
from retention_mcp.constraints.record import Constraints, format_amount
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


_CAPS_PATTERNS = [
    rf"(?:{_REVENUE_ZH})\s*(?:的|之)?\s*(?:比例|比重|占比)?\s*(?:{CAP_BEFORE})?\s*(?:的)?\s*{_PCT}",
    rf"(?:占|为|是)\s*(?:{_REVENUE_ZH})\s*(?:的)?\s*(?:比例|比重|占比)?\s*(?:{CAP_BEFORE})?\s*{_PCT}",
    rf"{_PCT}\s*(?:of|of the|of our)\s+{_REVENUE_EN}\b",
]
_CAPS = [rx(p) for p in _CAPS_PATTERNS]


def cost_cap_hits(text: str) -> list[Hit]:
    if not has_percent(text):  # every cap is a percentage: most inputs are skipped here
        return []
    hits: list[Hit] = []
    for pattern in _CAPS:
        for match in pattern.finditer(text):
            cs, ce = clause(text, match.start(), match.end())
            if re.search(_COST_WORD, text[cs:ce], _I):
                hits.append(Hit(parse_number(match["high"] or match["low"]), match.start(), match.end()))
    hits.sort(key=lambda h: h.start)
    return hits


def read_revenue_share_cap(text: str) -> float | None:
    """'激励成本控制在销售额的3%-4.5%' -> 4.5; 'incentive cost ≤ 4% of GMV' -> 4; '激励成本不超过实收的3%' -> 3."""
    hits = cost_cap_hits(text)
    return hits[0].value if hits else None


def _check_share(plan: Any, cap: float, checks: CheckList) -> None:
    """The cost the plan declares as a share of sales, and what its own points economics give, within the cap."""
    share = declared_cost_share(plan)
    computed = computed_cost_share(plan)
    ok = share is not None and max(share, computed[0] if computed else 0.0) <= cap
    shown = "not stated" if share is None else f"{format_amount(share)}%"
    shown_zh = "未说明" if share is None else f"{format_amount(share)}%"
    if computed is not None:
        shown += f" declared, and the plan's points economics give {computed[1]} for points alone"
        shown_zh += f"(声明值),方案自身的积分经济仅积分成本即为 {computed[1]}"
    checks.add(
        "budget_share_of_revenue",
        ok,
        f"Cost as a share of sales: {shown}; the cap is {format_amount(cap)}%.",
        f"成本占销售额比例:{shown_zh};上限为 {format_amount(cap)}%。",
    )


# -- cost share from the plan's own economics ---------------------------------------------------------------------------
def computed_cost_share(plan: Any) -> tuple[float, str] | None:
    """(percent of sales, the arithmetic) the plan's own points economics give for points alone: points earned per
    unit spent x what a point is worth x the share of points redeemed (all of them when the plan does not say)."""
    economics = getattr(plan, "economics", None)
    if economics is None:
        return None
    value = point_value(economics.point_value)
    if value is None:
        value = next((v for v in redemption_values(plan)), None)
    rate = earn_rate(economics.earn_rate) if economics.earn_rate else None
    if rate is None:
        rate = next((r for rule in getattr(plan, "earning_rules", []) if (r := earn_rate(rule.reward))), None)
    if value is None or rate is None:
        return None
    if economics.redemption_rate_pct is not None:
        redeemed = economics.redemption_rate_pct
    elif economics.breakage_pct is not None:
        redeemed = 100 - economics.breakage_pct
    else:
        redeemed = 100.0
    share = rate * value * redeemed
    return share, f"{rate:g} x {value:g} x {format_amount(redeemed)}% = {format_amount(share)}%"


def declared_cost_share(plan: Any) -> float | None:
    """The cost share the plan declares: its budget's share of revenue, or its points economics' cost share."""
    budget = getattr(plan, "budget", None)
    economics = getattr(plan, "economics", None)
    shares = [
        v
        for v in (
            budget.share_of_revenue_pct if budget is not None else None,
            economics.cost_pct_of_sales if economics is not None else None,
        )
        if v is not None
    ]
    return max(shares) if shares else None


# -- one point value ---------------------------------------------------------------------------------------------------
def redemption_values(plan: Any) -> Iterator[float]:
    """Currency per point that each redemption with a money reward implies ('¥10 off' for 1,000 points -> 0.01)."""
    for item in getattr(plan, "redemption", []):
        money = money_in(item.reward)
        if money is not None and item.points_cost:
            yield money / item.points_cost


def check(subject: Subject, c: Constraints, checks: CheckList) -> None:
    """The cost share within the cap, where the plan has a budget, or states its cost in its points economics."""
    cap = c.cost_cap_pct_of_revenue
    if cap is None:
        return
    plan = subject.plan
    if getattr(plan, "budget", None) is not None or (c.budget is None and getattr(plan, "economics", None)):
        _check_share(plan, cap, checks)


def line(c: Constraints, zh: bool) -> str | None:
    if c.cost_cap_pct_of_revenue is None:
        return None
    share = format_amount(c.cost_cap_pct_of_revenue)
    text = f"- 成本上限:不超过收入的 {share}%" if zh else f"- Cost cap: at most {share}% of revenue"
    return mark(c, "cost_cap_pct_of_revenue", text, zh)


def row(effective: Any, zh: bool) -> str | None:
    value = effective.cost_cap_pct_of_revenue
    return None if value is None else f"{format_amount(value)}%"


KIND = Kind(
    field="cost_cap_pct_of_revenue",
    name=("cost cap", "成本上限"),
    checks=frozenset({"budget_present", "budget_share_of_revenue"}),
    check=check,
    line=line,
    label=("Cost cap, % of revenue", "成本上限(占收入)"),
    row=row,
)
