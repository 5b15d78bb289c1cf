"""Spending per budget period: a budget per month, quarter or year checked period by period, and a budget per week or
day checked week by week or day by day (budget lines placed by their period, week, day or phase)."""

from __future__ import annotations

import math
from typing import Any

from retention_mcp.constraints.checklist import CheckList, Record
from retention_mcp.constraints.lexicon import PERIOD_WORDS
from retention_mcp.constraints.record import Constraints, format_amount
from retention_mcp.vocabulary import PERIOD_DAYS


def line_period(line: Any, phases: dict[str, int], period: str) -> int | None:
    """The 1-based budget period a line is spent in: its own `period`, else the period its phase starts in."""
    if line.period is not None:
        return int(line.period)
    if line.phase and (start := phases.get(line.phase.strip().casefold())) is not None:
        return int((start + 0.5) // PERIOD_DAYS[period]) + 1  # day 91 opens quarter 2
    return None


def check_per_period(plan: Any, budget: Any, c: Constraints, checks: CheckList) -> None:
    """Spending per budget period: each period's lines at most the stated amount per period (its upper end)."""
    assert c.budget is not None and c.budget_period is not None
    period = c.budget_period
    unit, unit_zh = PERIOD_WORDS[period].unit_en, PERIOD_WORDS[period].unit_zh
    phases = {p.name.strip().casefold(): p.start_day for p in plan.timeline.phases}
    amount, currency = c.budget.amount, budget.currency
    if budget.period not in ("total", period):
        checks.add(
            "budget_per_period",
            False,
            f"The plan counts its budget per {budget.period}; the user's budget is per {unit}: set budget.period to "
            f"{period} and give each line its {unit} (1 = the first).",
            f"方案按{PERIOD_WORDS[budget.period].unit_zh}编列预算,而用户预算按{unit_zh}计:请把 budget.period 设为 {period},"
            f"并按{unit_zh}填写每个科目的 period(1 = 第一个)。",
        )
        return
    unplaced = [line.item for line in budget.lines if line_period(line, phases, period) is None]
    if unplaced:
        checks.add(
            "budget_per_period",
            False,
            f"The budget is {format_amount(amount)} {currency} per {unit}, so spending is checked per {unit}; give these "
            f"budget lines their period (1 = the first {unit}) or the name of a timeline phase: "
            + "; ".join(unplaced)
            + ".",
            f"预算为每{unit_zh} {format_amount(amount)} {currency},支出按{unit_zh}核算;请给以下预算科目填写 period(1 = 第一个"
            f"{unit_zh})或时间表中的阶段名 phase:" + ";".join(unplaced) + "。",
        )
        return
    spent: dict[int, float] = {}
    for line in budget.lines:
        n = line_period(line, phases, period) or 1
        spent[n] = spent.get(n, 0.0) + line.amount
    periods = c.periods()
    count = math.ceil(periods - 1e-9) if periods is not None else None
    over = {n: v for n, v in sorted(spent.items()) if v > amount + 0.005}
    outside = [n for n in sorted(spent) if count is not None and n > count]
    shown = "; ".join(f"{unit} {n}: {format_amount(v)}" for n, v in sorted(spent.items()))
    shown_zh = ";".join(
        f"第 {n} {'个' if period == 'month' else ''}{unit_zh}:{format_amount(v)}" for n, v in sorted(spent.items())
    )
    horizon = f" ({count} in the horizon)" if count is not None else ""
    horizon_zh = f"(计划期共 {count} 期)" if count is not None else ""
    if not over and not outside:
        checks.add(
            "budget_per_period",
            True,
            f"Spending per {unit} is within {format_amount(amount)} {currency}{horizon}: {shown}.",
            f"每{unit_zh}支出均不超过 {format_amount(amount)} {currency}{horizon_zh}:{shown_zh}。",
        )
        return
    parts_en, parts_zh = [], []
    if over:
        parts_en.append(
            f"{', '.join(f'{unit} {n} spends {format_amount(v)}' for n, v in over.items())}, over the {format_amount(amount)} "
            f"{currency} per {unit}"
        )
        parts_zh.append(
            "、".join(f"第 {n} 期支出 {format_amount(v)}" for n, v in over.items())
            + f",超过每{unit_zh} {format_amount(amount)} {currency}"
        )
    if outside:
        parts_en.append(f"{unit} {', '.join(map(str, outside))} is past the horizon of {count} {unit}(s)")
        parts_zh.append(f"第 {'、'.join(map(str, outside))} 期超出计划期({count} 期)")
    checks.add(
        "budget_per_period",
        False,
        "Spending per " + unit + ": " + "; ".join(parts_en) + f" (per {unit}: {shown}).",
        f"按{unit_zh}核算:" + ";".join(parts_zh) + f"(各期:{shown_zh})。",
    )


def check_short_period(plan: dict[str, Any], c: Constraints, record: Record) -> None:
    assert c.budget is not None
    period = c.budget_period or "week"
    days = 7 if period == "week" else 1
    name = "budget_per_week" if period == "week" else "budget_per_day"
    en_unit, zh_unit = ("week", "周") if period == "week" else ("day", "天")
    budget = plan.get("budget") or {}
    lines = budget.get("lines") or []
    phases = {
        str(p.get("name", "")).strip().casefold(): p
        for p in (plan.get("timeline") or {}).get("phases") or []
        if isinstance(p, dict)
    }
    spend: dict[int, float] = {}
    unplaced = 0.0
    for line in lines:
        amount = float(line.get("amount") or 0)
        slot = line.get(period)
        if isinstance(slot, int | float) and not isinstance(slot, bool):
            spend[int(slot)] = spend.get(int(slot), 0.0) + amount
            continue
        phase = phases.get(str(line.get("phase") or "").strip().casefold())
        if phase is None:
            unplaced += amount
            continue
        first = int(phase.get("start_day", 0)) // days
        last = max(first, int(phase.get("end_day", 0)) // days)
        share = amount / (last - first + 1)
        for k in range(first, min(last, first + 3660) + 1):
            spend[k] = spend.get(k, 0.0) + share
    cap = c.budget.amount
    money = f"{format_amount(cap)} {c.budget.currency or ''}".strip()
    worst = max(spend.items(), key=lambda kv: kv[1], default=None)
    if worst is not None and worst[1] > cap + 0.005:
        record(
            name,
            "failed",
            f"The plan spends {format_amount(round(worst[1], 2))} in {en_unit} {worst[0] + 1}; the budget is at most {money} "
            f"per {en_unit}.",
            f"方案第 {worst[0] + 1} {zh_unit}支出 {format_amount(round(worst[1], 2))};预算为每{zh_unit}不超过 {money}。",
        )
    elif unplaced > 0.005 or worst is None:
        record(
            name,
            "unverified",
            f"Budget lines of {format_amount(unplaced)} name no {en_unit} or phase, so spending per {en_unit} (at most "
            f"{money}) cannot be checked.",
            f"有 {format_amount(unplaced)} 的预算科目未注明所属{zh_unit}或阶段,无法核对每{zh_unit}支出(上限 {money})。",
        )
    else:
        record(
            name,
            "passed",
            f"Spending per {en_unit} is at most {format_amount(round(worst[1], 2))}; the budget is {money} per {en_unit}.",
            f"每{zh_unit}支出最多 {format_amount(round(worst[1], 2))};预算为每{zh_unit} {money}。",
        )
