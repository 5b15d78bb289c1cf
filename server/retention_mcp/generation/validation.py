"""Check a typed plan against the constraints the user stated and against its own arithmetic.

Each check has a stable name, passed or not, and a detail in the plan's language that says what was compared.
Checks that do not apply (no budget stated, no offers) are left out rather than reported as passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from retention_mcp.generation.constraints import Constraints, channel_label, channels_in
from retention_mcp.generation.plans import PlanBase
from retention_mcp.models import Check, ValidationReport


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


class _Checks:
    def __init__(self, language: str):
        self.zh = language == "zh"
        self.items: list[Check] = []

    def add(self, name: str, passed: bool, en: str, zh: str) -> None:
        status = "passed" if passed else "failed"
        self.items.append(Check(name=name, passed=passed, status=status, detail=zh if self.zh else en))


def validate_plan(
    plan: PlanBase, constraints: Constraints, language: str, data_facts: list[str] | None = None
) -> ValidationReport:
    checks = _Checks(language)
    dumped = plan.model_dump() if constraints.discount_cap_pct is not None or constraints.channels_excluded else {}
    _check_budget(plan, constraints, checks)
    _check_discounts(dumped, constraints, checks)
    _check_timeline(plan, constraints, checks)
    _check_goals(plan, constraints, checks)
    _check_channels(dumped, constraints, checks)
    _check_team(plan, constraints, checks)
    if data_facts:
        _check_data_figures(plan, data_facts, checks)
    if any(not c.passed for c in checks.items):
        status = "failed"
    elif constraints.unread or (constraints.is_empty() and not data_facts):
        status = "unverified"
    else:
        status = "passed"
    return ValidationReport(status=status, passed=status == "passed", checks=checks.items)


def _check_budget(plan: PlanBase, c: Constraints, checks: _Checks) -> None:
    budget = getattr(plan, "budget", None)
    if budget is None:
        if c.budget is not None or c.cost_cap_pct_of_revenue is not None:
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
    cap = c.budget_cap()
    if cap is not None and c.budget is not None and budget.total is not None:
        stated = f"{_fmt(c.budget.amount)} {c.budget.currency or ''}".strip()
        per = {"quarter": " per quarter", "month": " per month", "year": " per year"}.get(c.budget_period or "", "")
        per_zh = {"quarter": "(每季度)", "month": "(每月)", "year": "(每年)"}.get(c.budget_period or "", "")
        if c.budget.currency and budget.currency.upper() != c.budget.currency:
            checks.add(
                "budget_within_stated",
                False,
                f"The plan budgets in {budget.currency}; the user's budget is {stated}{per}.",
                f"方案使用 {budget.currency} 计价,而用户预算为 {stated}{per_zh}。",
            )
        else:
            spent = max(budget.total, sum(line.amount for line in budget.lines))
            checks.add(
                "budget_within_stated",
                spent <= cap + 0.005,
                f"The plan spends {_fmt(spent)} {budget.currency}; the stated budget allows {_fmt(cap)} "
                f"({stated}{per} over the horizon).",
                f"方案支出 {_fmt(spent)} {budget.currency};用户预算{per_zh}为 {stated},在计划期内上限为 {_fmt(cap)}。",
            )
    if c.cost_cap_pct_of_revenue is not None:
        share = budget.share_of_revenue_pct
        ok = share is not None and share <= c.cost_cap_pct_of_revenue
        shown = "not stated" if share is None else f"{_fmt(share)}%"
        shown_zh = "未说明" if share is None else f"{_fmt(share)}%"
        checks.add(
            "budget_share_of_revenue",
            ok,
            f"Cost as a share of sales: {shown}; the cap is {_fmt(c.cost_cap_pct_of_revenue)}%.",
            f"成本占销售额比例:{shown_zh};上限为 {_fmt(c.cost_cap_pct_of_revenue)}%。",
        )


DISCOUNT_KEYS = ("discount_pct", "effective_discount_pct")
_TITLE_KEYS = ("description", "name", "churn_reason", "step", "reward", "offer")


def _discounts(value: Any) -> Iterator[tuple[str, float]]:
    """Every discount in the plan, wherever it stands (offers, win-back, loyalty, save offers), with its name."""
    if isinstance(value, dict):
        for key in DISCOUNT_KEYS:
            if isinstance(value.get(key), int | float):
                name = next((str(value[k]) for k in _TITLE_KEYS if isinstance(value.get(k), str)), key)
                yield name, float(value[key])
        for item in value.values():
            yield from _discounts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _discounts(item)


def _check_discounts(plan: dict[str, Any], c: Constraints, checks: _Checks) -> None:
    if c.discount_cap_pct is None:
        return
    cap = c.discount_cap_pct
    found = list(_discounts(plan))
    over = [(name, pct) for name, pct in found if pct > cap + 1e-9]
    deepest = max((pct for _, pct in found), default=None)
    if over:
        names = "; ".join(f"{name} ({_fmt(pct)}%)" for name, pct in over)
        checks.add(
            "discount_cap",
            False,
            f"Discounts above the {_fmt(cap)}% cap: {names}.",
            f"以下优惠超过 {_fmt(cap)}% 的折扣上限:{names}。",
        )
    else:
        shown = "no discounts" if deepest is None else f"deepest discount {_fmt(deepest)}%"
        shown_zh = "无折扣" if deepest is None else f"最大折扣 {_fmt(deepest)}%"
        checks.add(
            "discount_cap",
            True,
            f"Every discount in the plan is within the {_fmt(cap)}% cap ({shown}).",
            f"方案中的全部优惠均在 {_fmt(cap)}% 上限之内({shown_zh})。",
        )


def _check_timeline(plan: PlanBase, c: Constraints, checks: _Checks) -> None:
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


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _numbers(text: str) -> set[float]:
    return {float(n) for n in _NUMBER.findall(text.replace(",", ""))}


def _check_goals(plan: PlanBase, c: Constraints, checks: _Checks) -> None:
    if not c.goals:
        return
    missing = []
    for goal in c.goals:
        by_id = any((k.goal_id or "").strip().upper() == goal.id for k in plan.kpis)
        goal_numbers = _numbers(goal.text) - {0.0}
        by_numbers = bool(goal_numbers) and any(
            {v for v in (k.target, k.baseline) if v is not None} & goal_numbers for k in plan.kpis
        )
        if not (by_id or by_numbers):
            missing.append(goal)
    covered = len(c.goals) - len(missing)
    checks.add(
        "goals_have_kpis",
        not missing,
        f"{covered} of {len(c.goals)} stated goals have a KPI"
        + ("." if not missing else "; missing: " + "; ".join(f"{g.id} {g.text}" for g in missing) + "."),
        f"{len(c.goals)} 个目标中有 {covered} 个有对应 KPI"
        + ("。" if not missing else ";缺少:" + ";".join(f"{g.id} {g.text}" for g in missing) + "。"),
    )


def _channel_texts(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every channel the plan uses: fields named channel(s), and budget line items (a line is spending on one)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _channel_texts(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _channel_texts(item, key)
    elif isinstance(value, str) and key in ("channel", "channels", "item"):
        yield key, value


def _check_channels(plan: dict[str, Any], c: Constraints, checks: _Checks) -> None:
    if not c.channels_excluded:
        return
    excluded = set(c.channels_excluded)
    hits: dict[str, list[str]] = {}
    for _, text in _channel_texts(plan):
        for cid in channels_in(text):
            if cid in excluded:
                hits.setdefault(cid, []).append(text)
    language = "zh" if checks.zh else "en"
    ruled_out = ("、" if checks.zh else ", ").join(channel_label(cid, language) for cid in c.channels_excluded)
    if hits:
        used = "; ".join(
            f"{channel_label(cid, language)}: {', '.join(dict.fromkeys(texts))}" for cid, texts in hits.items()
        )
        checks.add(
            "excluded_channels",
            False,
            f"The plan uses channels the user ruled out ({used}).",
            f"方案使用了用户排除的渠道({used})。",
        )
    else:
        checks.add(
            "excluded_channels",
            True,
            f"No excluded channel is used (ruled out: {ruled_out}).",
            f"未使用被排除的渠道(已排除:{ruled_out})。",
        )


def _check_team(plan: PlanBase, c: Constraints, checks: _Checks) -> None:
    needed = getattr(plan, "team_size_needed", None)
    if c.team_size is None or needed is None:
        return
    checks.add(
        "team_size",
        needed <= c.team_size,
        f"The plan needs {needed} people; the team has {c.team_size}.",
        f"方案需要 {needed} 人;团队共 {c.team_size} 人。",
    )


_FACT_ID = re.compile(r"^(D\d+):")


def fact_numbers(line: str) -> set[float]:
    """Numbers in a fact line; a percentage also counts as its fraction (2.85% -> 2.85 and 0.0285)."""
    found: set[float] = set()
    for match in re.finditer(r"(\d[\d,]*(?:\.\d+)?)(\s*%)?", line.split(":", 1)[-1]):
        value = float(match.group(1).replace(",", ""))
        found.add(value)
        if match.group(2):
            found.add(value / 100)
    return found


def _matches(value: float, numbers: set[float]) -> bool:
    return any(abs(value - n) <= max(0.005 * abs(n), 0.005) for n in numbers)


def _check_data_figures(plan: PlanBase, data_facts: list[str], checks: _Checks) -> None:
    """Numbers the plan attributes to the data must be numbers the server computed."""
    by_id = {m.group(1): fact_numbers(line) for line in data_facts if (m := _FACT_ID.match(line))}
    everything = set().union(*by_id.values()) if by_id else set()
    cited: list[tuple[str, float, str | None]] = []
    for finding in getattr(plan, "findings", []):
        if finding.value is not None and (finding.source == "data" or finding.data_ref):
            cited.append((finding.statement, finding.value, finding.data_ref))
    for kpi in plan.kpis:
        if kpi.data_ref and kpi.baseline is not None:
            cited.append((kpi.metric, kpi.baseline, kpi.data_ref))
    if not cited:
        return
    wrong = []
    for label, value, ref in cited:
        ref = (ref or "").strip().upper()
        numbers = by_id.get(ref, everything) if ref else everything
        if ref and ref not in by_id:
            wrong.append(f"{label} ({ref}: no such fact)")
        elif not _matches(value, numbers):
            wrong.append(f"{label} = {value:g}" + (f" ({ref})" if ref else ""))
    checks.add(
        "data_figures_match",
        not wrong,
        f"All {len(cited)} figures attributed to the data match the computed facts."
        if not wrong
        else "Figures attributed to the data that the data does not give: " + "; ".join(wrong) + ".",
        f"归于数据的 {len(cited)} 个数字均与计算结果一致。"
        if not wrong
        else "以下归于数据的数字与计算结果不符:" + ";".join(wrong) + "。",
    )
