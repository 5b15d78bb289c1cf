"""Check a typed plan against the constraints the user stated and against its own arithmetic.

Each check has a stable name, a status (passed, failed, or unverified when it could not be carried out) and a detail
in the plan's language that says what was compared. Checks that do not apply (no budget stated, no offers) are left
out rather than reported as passed. The report is:
- failed when any check failed;
- unverified when nothing failed but something could not be checked: a check that could not be carried out, a span
  of the user's constraint text the server could not read, a constraint the user was asked for and did not give, a
  stated constraint no check read (each one says what to fill in), or no constraint at all;
- passed otherwise. A check that ran on nothing, or only on the plan's own arithmetic, never makes a plan "passed".

The discount scan is in `discount_checks`, the checks on the plan's substance in `substance_checks`, goal coverage in
`goal_checks`, and the lines that tell a model what these checks hold it to in `plan_rules`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from retention_mcp.constraints.caps import check_caps
from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.discount_checks import check_discounts
from retention_mcp.constraints.discount_checks import text_discounts as text_discounts
from retention_mcp.constraints.discount_checks import title_of as _title
from retention_mcp.constraints.discount_checks import where as _where
from retention_mcp.constraints.goal_checks import check_goals
from retention_mcp.constraints.record import UNREAD_FIELDS, Constraints, format_amount, parameter_of
from retention_mcp.constraints.rules import PERIOD_UNITS as _UNIT
from retention_mcp.constraints.rules import constraint_rules as constraint_rules
from retention_mcp.generation.plans import CHANNEL_FIELDS, PlanBase
from retention_mcp.generation.substance_checks import (
    check_data_figures,
    check_substance,
    computed_cost_share,
    declared_cost_share,
)
from retention_mcp.models import CheckStatus, ValidationReport
from retention_mcp.vocabulary import CHANNEL_KINDS, OTHER, PERIOD_DAYS, PRODUCT, channel_label

# Checks that compare the plan with what the user stated or the data gave (the others check its own arithmetic).
STATED = frozenset(
    {
        "budget_present",
        "budget_within_stated",
        "budget_per_period",
        "budget_share_of_revenue",
        "discount_cap",
        "timeline_within_horizon",
        "kpi_deadlines_within_horizon",
        "team_size",
        "channels_allowed",
        "excluded_channels",
        "goals_have_kpis",
        "data_figures_match",
        "budget_per_week",
        "budget_per_day",
        "per_customer_cap",
        "free_periods_cap",
    }
)

# The checks that read each constraint kind. A stated kind that no check read leaves the plan unverified: a check
# for a new kind is found here, or by carrying the kind's field name at the start of its own name.
CHECKED_BY: dict[str, frozenset[str]] = {
    "budget": frozenset(
        {"budget_present", "budget_within_stated", "budget_per_period", "budget_per_week", "budget_per_day"}
    ),
    "cost_cap_pct_of_revenue": frozenset({"budget_present", "budget_share_of_revenue"}),
    "discount_cap_pct": frozenset({"discount_cap"}),
    "horizon_days": frozenset({"timeline_within_horizon"}),
    "team_size": frozenset({"team_size"}),
    "channels_allowed": frozenset({"channels_allowed"}),
    "channels_excluded": frozenset({"excluded_channels"}),
    "goals": frozenset({"goals_have_kpis"}),
}

_fmt = format_amount


def _unchecked(c: Constraints, checks: CheckList) -> None:
    """Every stated constraint is checked, or the plan says it was not: never a silent pass."""
    names = {x.name for x in checks.items}
    for kind in c.sources:
        if getattr(c, kind, None) in (None, [], {}):
            continue
        if names & CHECKED_BY.get(kind, frozenset()) or any(n.startswith(kind) for n in names):
            continue
        checks.record(
            "stated_not_checked",
            "unverified",
            f"{parameter_of(kind)} was stated, but no check of this plan reads it: the plan is not verified against it.",
            f"{parameter_of(kind)} 已声明,但没有检查项核对它:方案未就此核验。",
        )


def validate_plan(
    plan: PlanBase,
    constraints: Constraints,
    language: str,
    data_facts: list[str] | None = None,
    *,
    brief: str = "",
    not_given: Sequence[str] = (),
) -> ValidationReport:
    """`brief` is the user's text (its own prices are list prices, not discounts of the plan); `not_given` names the
    constraints the user was asked for and did not give (a declined, cancelled or failed form): the plan cannot be
    checked against them, so it is at best unverified."""
    checks = CheckList(language)
    dumped = plan.model_dump()
    _check_budget(plan, constraints, checks)
    check_discounts(dumped, constraints, checks, brief)
    _check_timeline(plan, constraints, checks)
    check_goals(plan, constraints, checks)
    _check_channels(dumped, constraints, checks)
    _check_team(plan, constraints, checks)
    check_caps(plan, constraints, checks.record)
    check_data_figures(plan, data_facts or [], checks, brief)
    check_substance(plan, dumped, checks)
    _unchecked(constraints, checks)  # after every check: a stated kind none of them read
    for name in not_given:
        checks.fill(
            f"{parameter_of(name)}: asked for and not given, so the plan could not be checked against it",
            f"{parameter_of(name)}:已询问但未填写,方案无法就此核对",
        )
    for span in constraints.unread:
        fields = UNREAD_FIELDS.get(span.kind, ())
        en_fields = " or ".join(parameter_of(f) for f in fields) or "constraints"
        zh_fields = " 或 ".join(parameter_of(f) for f in fields) or "constraints"
        checks.fill(
            f"{span.input}: '{span.text}' → fill {en_fields}", f"{span.input}:「{span.text}」→ 请填写 {zh_fields}"
        )
    against = STATED if data_facts else STATED - {"data_figures_match"}  # the brief's own figures are no constraint
    compared = any(c.name in against for c in checks.items)
    if not compared:
        checks.fill(
            "No constraint was stated or read, so the plan was checked only against its own arithmetic: fill "
            "constraints (budget, horizon_days, discount_cap_pct, cost_cap_pct_of_revenue, team_size, "
            "channels_allowed, channels_excluded) and goals",
            "资料中没有读到任何约束,只核对了方案自身的算术:请填写 constraints(budget、horizon_days、discount_cap_pct、"
            "cost_cap_pct_of_revenue、team_size、channels_allowed、channels_excluded)与 goals",
        )
    if any(c.status == "failed" for c in checks.items):
        status: CheckStatus = "failed"
    elif any(c.status == "unverified" for c in checks.items) or constraints.unread or not compared or not_given:
        status = "unverified"
    else:
        status = "passed"
    return ValidationReport(status=status, passed=status == "passed", checks=checks.items, to_fill=checks.to_fill)


# -- budget ------------------------------------------------------------------------------------------------------------
_PER = {
    "quarter": (" per quarter", "(每季度)"),
    "month": (" per month", "(每月)"),
    "year": (" per year", "(每年)"),
    "week": (" per week", "(每周)"),
    "day": (" per day", "(每天)"),
}


def _check_budget(plan: PlanBase, c: Constraints, checks: CheckList) -> None:
    budget = getattr(plan, "budget", None)
    if (
        budget is None
        and c.budget is None
        and c.cost_cap_pct_of_revenue is not None
        and getattr(plan, "economics", None)
    ):
        _check_cost_share(plan, c.cost_cap_pct_of_revenue, checks)  # a points plan states its cost in its economics
        return
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
            f"Budget lines add up to {_fmt(spent)} {budget.currency}; the plan's total is {_fmt(budget.total)}.",
            f"预算明细合计 {_fmt(spent)} {budget.currency};方案总预算为 {_fmt(budget.total)}。",
        )
    else:
        checks.add("budget_lines_sum", False, "The budget has no lines.", "预算没有明细。")
    if c.budget is not None and budget.total is not None:
        stated = f"{_fmt(c.budget.amount)} {c.budget.currency or ''}".strip()
        per, per_zh = _PER.get(c.budget_period or "", ("", ""))
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
                    f"({_fmt(spent)} {budget.currency} planned) cannot be set.",
                    f"预算为{per_zh} {stated},但未声明时间范围,无法确定方案可支出的总额(方案计划支出 "
                    f"{_fmt(spent)} {budget.currency})。",
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
                    f"The plan spends {_fmt(spent)} {budget.currency}; the stated budget allows {_fmt(cap)}{over}.",
                    f"方案支出 {_fmt(spent)} {budget.currency};{over_zh}计划期内上限为 {_fmt(cap)}。",
                )
            periods = c.periods()
            if c.per_period and (periods is None or periods > 1):
                _check_per_period(plan, budget, c, checks)
    if c.cost_cap_pct_of_revenue is not None:
        _check_cost_share(plan, c.cost_cap_pct_of_revenue, checks)


def _check_cost_share(plan: PlanBase, cap: float, checks: CheckList) -> None:
    """The cost the plan declares as a share of sales, and what its own points economics give, within the cap."""
    share = declared_cost_share(plan)
    computed = computed_cost_share(plan)
    ok = share is not None and max(share, computed[0] if computed else 0.0) <= cap
    shown = "not stated" if share is None else f"{_fmt(share)}%"
    shown_zh = "未说明" if share is None else f"{_fmt(share)}%"
    if computed is not None:
        shown += f" declared, and the plan's points economics give {computed[1]} for points alone"
        shown_zh += f"(声明值),方案自身的积分经济仅积分成本即为 {computed[1]}"
    checks.add(
        "budget_share_of_revenue",
        ok,
        f"Cost as a share of sales: {shown}; the cap is {_fmt(cap)}%.",
        f"成本占销售额比例:{shown_zh};上限为 {_fmt(cap)}%。",
    )


def line_period(line: Any, phases: dict[str, int], period: str) -> int | None:
    """The 1-based budget period a line is spent in: its own `period`, else the period its phase starts in."""
    if line.period is not None:
        return int(line.period)
    if line.phase and (start := phases.get(line.phase.strip().casefold())) is not None:
        return int((start + 0.5) // PERIOD_DAYS[period]) + 1  # day 91 opens quarter 2
    return None


def _check_per_period(plan: PlanBase, budget: Any, c: Constraints, checks: CheckList) -> None:
    """Spending per budget period: each period's lines at most the stated amount per period (its upper end)."""
    assert c.budget is not None and c.budget_period is not None
    period = c.budget_period
    unit, unit_zh = _UNIT[period]
    phases = {p.name.strip().casefold(): p.start_day for p in plan.timeline.phases}
    amount, currency = c.budget.amount, budget.currency
    if budget.period not in ("total", period):
        checks.add(
            "budget_per_period",
            False,
            f"The plan counts its budget per {budget.period}; the user's budget is per {unit}: set budget.period to "
            f"{period} and give each line its {unit} (1 = the first).",
            f"方案按{_UNIT[budget.period][1]}编列预算,而用户预算按{unit_zh}计:请把 budget.period 设为 {period},"
            f"并按{unit_zh}填写每个科目的 period(1 = 第一个)。",
        )
        return
    unplaced = [line.item for line in budget.lines if line_period(line, phases, period) is None]
    if unplaced:
        checks.add(
            "budget_per_period",
            False,
            f"The budget is {_fmt(amount)} {currency} per {unit}, so spending is checked per {unit}; give these "
            f"budget lines their period (1 = the first {unit}) or the name of a timeline phase: "
            + "; ".join(unplaced)
            + ".",
            f"预算为每{unit_zh} {_fmt(amount)} {currency},支出按{unit_zh}核算;请给以下预算科目填写 period(1 = 第一个"
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
    shown = "; ".join(f"{unit} {n}: {_fmt(v)}" for n, v in sorted(spent.items()))
    shown_zh = ";".join(
        f"第 {n} {'个' if period == 'month' else ''}{unit_zh}:{_fmt(v)}" for n, v in sorted(spent.items())
    )
    horizon = f" ({count} in the horizon)" if count is not None else ""
    horizon_zh = f"(计划期共 {count} 期)" if count is not None else ""
    if not over and not outside:
        checks.add(
            "budget_per_period",
            True,
            f"Spending per {unit} is within {_fmt(amount)} {currency}{horizon}: {shown}.",
            f"每{unit_zh}支出均不超过 {_fmt(amount)} {currency}{horizon_zh}:{shown_zh}。",
        )
        return
    parts_en, parts_zh = [], []
    if over:
        parts_en.append(
            f"{', '.join(f'{unit} {n} spends {_fmt(v)}' for n, v in over.items())}, over the {_fmt(amount)} "
            f"{currency} per {unit}"
        )
        parts_zh.append(
            "、".join(f"第 {n} 期支出 {_fmt(v)}" for n, v in over.items())
            + f",超过每{unit_zh} {_fmt(amount)} {currency}"
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


# -- timeline ----------------------------------------------------------------------------------------------------------
def _check_timeline(plan: PlanBase, c: Constraints, checks: CheckList) -> None:
    backwards = [p for p in plan.timeline.phases if p.end_day < p.start_day]
    checks.add(
        "phase_order",
        not backwards,
        "Every phase ends on or after its start."
        if not backwards
        else "Phases that end before they start: " + ", ".join(p.name for p in backwards) + ".",
        "每个阶段的结束日都不早于开始日。"
        if not backwards
        else "以下阶段结束日早于开始日:" + "、".join(p.name for p in backwards) + "。",
    )
    if c.horizon_days is None:
        return
    horizon = c.horizon_days
    late = [f"{p.name} (day {p.start_day}-{p.end_day})" for p in plan.timeline.phases if p.end_day > horizon]
    late_zh = [f"{p.name}(第{p.start_day}-{p.end_day}天)" for p in plan.timeline.phases if p.end_day > horizon]
    checks.add(
        "timeline_within_horizon",
        not late,
        f"Every phase ends by day {horizon}." if not late else f"Phases past day {horizon}: {', '.join(late)}.",
        f"全部阶段在第 {horizon} 天前结束。" if not late else f"以下阶段超出第 {horizon} 天:{'、'.join(late_zh)}。",
    )
    dated = [k for k in plan.kpis if k.deadline_day is not None]
    if dated:
        overdue = [k.metric for k in dated if (k.deadline_day or 0) > horizon]
        checks.add(
            "kpi_deadlines_within_horizon",
            not overdue,
            f"Every KPI deadline is within day {horizon}."
            if not overdue
            else f"KPIs due after day {horizon}: {', '.join(overdue)}.",
            f"全部 KPI 截止日在第 {horizon} 天之内。"
            if not overdue
            else f"以下 KPI 截止日超出第 {horizon} 天:{'、'.join(overdue)}。",
        )


# -- channels ----------------------------------------------------------------------------------------------------------
def channel_uses(
    value: Any, path: tuple[str | int, ...] = (), parents: tuple[dict[str, Any], ...] = ()
) -> Iterator[tuple[str, str]]:
    """(kind, where) for every channel field in the plan: the fields named channel or channels, which hold kinds.
    Names of budget lines, initiatives or features are never read for channel words."""
    if isinstance(value, dict):
        parents = (*parents, value)
        for key, item in value.items():
            if key in CHANNEL_FIELDS:
                title = next((t for d in reversed(parents) if (t := _title(d, ""))), "")
                for kind in item if isinstance(item, list) else [item]:
                    if isinstance(kind, str):
                        yield kind, _where((*path, key)) + (f" ({title})" if title else "")
            elif isinstance(item, dict | list):
                yield from channel_uses(item, (*path, key), parents)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                yield from channel_uses(item, (*path, index), parents)


def _check_channels(plan: dict[str, Any], c: Constraints, checks: CheckList) -> None:
    if not (c.channels_excluded or c.channels_allowed):
        return
    language = checks.language
    sep = "、" if checks.zh else ", "
    uses = list(channel_uses(plan))

    def listing(hits: dict[str, list[str]]) -> str:
        return "; ".join(f"{channel_label(k, language)}: {', '.join(dict.fromkeys(w))}" for k, w in hits.items())

    if c.channels_excluded:
        excluded = set(c.channels_excluded)
        hits: dict[str, list[str]] = {}
        for kind, where in uses:
            if kind in excluded:
                hits.setdefault(kind, []).append(where)
        ruled_out = sep.join(channel_label(k, language) for k in c.channels_excluded)
        checks.add(
            "excluded_channels",
            not hits,
            f"The plan uses channels the user ruled out ({listing(hits)})."
            if hits
            else f"No excluded channel is used (ruled out: {ruled_out}).",
            f"方案使用了用户排除的渠道({listing(hits)})。" if hits else f"未使用被排除的渠道(已排除:{ruled_out})。",
        )
    if c.channels_allowed:
        allowed = set(c.channels_allowed) | {PRODUCT}
        outside: dict[str, list[str]] = {}
        for kind, where in uses:
            if kind not in allowed and (kind == OTHER or kind in CHANNEL_KINDS):
                outside.setdefault(kind, []).append(where)
        only = sep.join(channel_label(k, language) for k in c.channels_allowed)
        contact = sorted({k for k, _ in uses if k != PRODUCT})
        used = sep.join(channel_label(k, language) for k in contact) or ("无" if checks.zh else "none")
        checks.add(
            "channels_allowed",
            not outside,
            f"The plan uses channels outside the allowed ones ({only}): {listing(outside)}."
            if outside
            else f"Every contact channel is an allowed one ({only}); used: {used}; in-product features are not "
            "channels.",
            f"方案使用了允许范围({only})以外的渠道:{listing(outside)}。"
            if outside
            else f"全部触达渠道均在允许范围内({only});使用了:{used};产品内功能不算渠道。",
        )


# -- team --------------------------------------------------------------------------------------------------------------
def _check_team(plan: PlanBase, c: Constraints, checks: CheckList) -> None:
    if c.team_size is None:
        return
    needed = getattr(plan, "team_size_needed", None)
    if needed is None:
        checks.record(
            "team_size",
            "unverified",
            f"The team has {c.team_size} people, but the plan does not say how many it needs (team_size_needed).",
            f"团队共 {c.team_size} 人,但方案没有写明所需人数(team_size_needed)。",
        )
        return
    checks.add(
        "team_size",
        needed <= c.team_size,
        f"The plan needs {needed} people; the team has {c.team_size}.",
        f"方案需要 {needed} 人;团队共 {c.team_size} 人。",
    )
