"""The budget: read from text in both languages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import islice
from typing import Any

from retention_mcp.constraints.budget_periods import check_per_period, check_short_period
from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.kind import Kind, Subject, mark
from retention_mcp.constraints.lexicon import NUM, PERIOD_ROWS, PERIOD_SAID, PERIOD_WORDS, parse_number, rx
from retention_mcp.constraints.money import COUNT_NOUN, Amount, Money, amounts_in
from retention_mcp.constraints.record import Constraints, format_amount
from retention_mcp.constraints.text import MAX_HITS, Hit, Span, clause, overlaps, subclause

_I = re.IGNORECASE
# -- periods and durations --------------------------------------------------------------------------------------------
_CHECKED = ("quarter", "month", "year")  # the periods a budget is checked by, in the order a tie is settled
_TOTAL_WORDS = r"总计|总额|合计|总共|共计|总预算|一共|整体|共(?=\s*[\d¥￥$一二两三四五六七八九十])|in total|\btotal\b|overall|all-in|for the whole|across the whole"
_PERIODS_OR_TOTAL = [(rx(PERIOD_SAID[p]), p) for p in _CHECKED] + [(rx(_TOTAL_WORDS), None)]
_PERIOD_ALONE = rx(rf"\s*(?:{'|'.join(PERIOD_SAID[p] for p in _CHECKED)})\s*")


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
        if _PERIOD_ALONE.fullmatch(text, ns, ne):
            regions.add((ns, ne))
    anchor = spans[0]
    best: tuple[int, str | None, Span] | None = None
    for rs, re_ in sorted(regions):
        region = text[rs:re_]
        for pattern, period in _PERIODS_OR_TOTAL:
            for match in pattern.finditer(region):
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


_UNSUPPORTED_PERIOD = re.compile(rf"\s*(?:{PERIOD_SAID['week']}|{PERIOD_SAID['day']}|per hour|/\s*h(?:ou)?r\b)", _I)


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


# -- budget ------------------------------------------------------------------------------------------------------------


def check(subject: Subject, c: Constraints, checks: CheckList) -> None:
    """The plan's budget against the stated one: present, its lines adding up, within the total the horizon allows,
    per period; a budget per week or day, each week or day."""
    plan = subject.plan
    budget = getattr(plan, "budget", None)
    if (
        budget is None
        and c.budget is None
        and c.cost_cap_pct_of_revenue is not None
        and getattr(plan, "economics", None)
    ):
        return  # a points plan states its cost in its economics: the cost-share check reads it
    if budget is None:
        if c.budget is not None or c.cost_cap_pct_of_revenue is not None:
            if "budget" not in type(plan).model_fields:
                checks.record(
                    "budget_present",
                    "unverified",
                    "The user stated a budget, but this kind of plan has no budget section to check it against.",
                    "用户给出了预算,但这类方案没有预算部分,无法核对。",
                )
            else:
                checks.add(
                    "budget_present",
                    False,
                    "The user stated a budget but the plan has none.",
                    "用户给出了预算,但方案没有预算部分。",
                )
        return
    if budget.total is None:
        if c.budget is not None:
            checks.add(
                "budget_within_stated",
                False,
                "The user stated a budget amount but the plan gives no total.",
                "用户给出了预算金额,但方案没有给出总预算。",
            )
    elif budget.lines:
        spent = sum(line.amount for line in budget.lines)
        ok = spent <= budget.total + 0.005
        checks.add(
            "budget_lines_sum",
            ok,
            f"Budget lines add up to {format_amount(spent)} {budget.currency}; the plan's total is {format_amount(budget.total)}.",
            f"预算明细合计 {format_amount(spent)} {budget.currency};方案总预算为 {format_amount(budget.total)}。",
        )
    else:
        checks.add("budget_lines_sum", False, "The budget has no lines.", "预算没有明细。")
    if c.budget is not None and budget.total is not None:
        stated = f"{format_amount(c.budget.amount)} {c.budget.currency or ''}".strip()
        words = PERIOD_WORDS.get(c.budget_period or "")
        per, per_zh = (f" {words.per_en}", f"({words.per_zh})") if words else ("", "")
        if c.budget.currency and budget.currency.upper() != c.budget.currency:
            checks.add(
                "budget_within_stated",
                False,
                f"The plan budgets in {budget.currency}; the user's budget is {stated}{per}.",
                f"方案使用 {budget.currency} 计价,而用户预算为 {stated}{per_zh}。",
            )
        else:
            spent = max(budget.total, sum(line.amount for line in budget.lines))
            if (c.per_period or c.short_period) and c.periods() is None:
                checks.record(
                    "budget_within_stated",
                    "unverified",
                    f"The budget is {stated}{per} and no horizon is stated, so the total the plan may spend "
                    f"({format_amount(spent)} {budget.currency} planned) cannot be set.",
                    f"预算为{per_zh} {stated},但未声明时间范围,无法确定方案可支出的总额(方案计划支出 "
                    f"{format_amount(spent)} {budget.currency})。",
                )
                checks.fill(
                    f"constraints.horizon_days: the budget is{per}, so its total over the plan needs the horizon",
                    f"constraints.horizon_days:预算按{per_zh.strip('()')}计,计划期内总额需要时间范围",
                )
            else:
                cap = c.budget_cap() or 0.0
                recurring = c.per_period or c.short_period
                over = f" ({stated}{per} over the horizon)" if recurring else ""
                over_zh = f"用户预算{per_zh}为 {stated}," if recurring else f"用户预算为 {stated},"
                checks.add(
                    "budget_within_stated",
                    spent <= cap + 0.005,
                    f"The plan spends {format_amount(spent)} {budget.currency}; the stated budget allows {format_amount(cap)}{over}.",
                    f"方案支出 {format_amount(spent)} {budget.currency};{over_zh}计划期内上限为 {format_amount(cap)}。",
                )
            periods = c.periods()
            if c.per_period and (periods is None or periods > 1):
                check_per_period(plan, budget, c, checks)
    if c.short_period and c.budget is not None:
        check_short_period(subject.dumped, c, checks.record)


def _stated(c: Constraints, zh: bool) -> str:
    assert c.budget is not None
    amount, currency = c.budget.amount, c.budget.currency or ("(币种见资料)" if zh else "(currency as in the facts)")
    low = c.budget.low
    shown = f"{format_amount(low)}–{format_amount(amount)}" if low is not None else format_amount(amount)
    if not c.per_period:
        return f"总额不超过 {shown} {currency}" if zh else f"at most {shown} {currency} in total"
    per_en, per_zh, many_en, many_zh, _, _ = PERIOD_WORDS[c.budget_period or ""]
    periods = c.periods()
    if periods is None:
        return (
            f"{per_zh}不超过 {shown} {currency}(时间范围未声明,按每期核算)"
            if zh
            else f"at most {shown} {currency} {per_en} (no horizon stated: checked per period)"
        )
    total = format_amount(c.budget_cap() or 0)
    if periods <= 1:
        return (
            f"{per_zh}不超过 {shown} {currency};计划期在一{many_zh}之内,总额不超过 {total} {currency}"
            if zh
            else f"at most {shown} {currency} {per_en}; the horizon is within one {c.budget_period}, so at most "
            f"{total} {currency} in total"
        )
    return (
        f"{per_zh}不超过 {shown} {currency};计划期共 {format_amount(periods)}{many_zh},总额不超过 {total} {currency};"
        f"每期支出分别核算,预算科目注明所属期(period)或阶段(phase)"
        if zh
        else f"at most {shown} {currency} {per_en}; {format_amount(periods)} {many_en} in the horizon, so at most {total} "
        f"{currency} in total; spending is checked per period, so give each budget line its period or phase"
    )


def line(c: Constraints, zh: bool) -> str | None:
    if c.budget is None:
        return None
    return ("- 预算:" if zh else "- Budget: ") + mark(c, "budget", _stated(c, zh), zh)


def row(effective: Any, zh: bool) -> str | None:
    b = effective.budget
    if b is None:
        return None
    amount = f"{format_amount(b.min)}–{format_amount(b.amount)}" if b.min is not None else format_amount(b.amount)
    shown = f"{amount} {b.currency or ''}".strip()
    if b.period in PERIOD_ROWS:
        shown += f"({PERIOD_ROWS[b.period][1]})" if zh else f" {PERIOD_ROWS[b.period][0]}"
    if b.total is not None and b.total != b.amount:
        cap = format_amount(b.total)
        shown += f",计划期内上限 {cap}" if zh else f", {cap} over the horizon"
    return shown


KIND = Kind(
    field="budget",
    name=("budget", "预算"),
    checks=frozenset(
        {"budget_present", "budget_within_stated", "budget_per_period", "budget_per_week", "budget_per_day"}
    ),
    check=check,
    line=line,
    label=("Budget", "预算"),
    row=row,
    ask="budget",
)
