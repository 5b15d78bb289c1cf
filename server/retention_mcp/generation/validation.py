"""Check a typed plan against the constraints the user stated and against its own arithmetic.

Each check has a stable name, a status (passed, failed, or unverified when it could not be carried out) and a detail
in the plan's language that says what was compared. Checks that do not apply (no budget stated, no offers) are left
out rather than reported as passed. The report is:
- failed when any check failed;
- unverified when nothing failed but something could not be checked: a check that could not be carried out, a span
  of the user's constraint text the server could not read (each one says what to fill in), or no constraint at all;
- passed otherwise. A check that ran on nothing is never "passed".

`constraint_rules(c, zh)` gives the lines that tell a model what these checks hold it to, in the same terms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from retention_mcp.generation.cap_checks import check_caps
from retention_mcp.generation.constraints import UNREAD_FIELDS, Constraints, channel_label, format_amount, parameter_of
from retention_mcp.generation.lexicon import zhe_to_off
from retention_mcp.generation.plans import CHANNEL_FIELDS, PlanBase
from retention_mcp.models import Check, CheckStatus, ValidationReport
from retention_mcp.vocabulary import CHANNEL_KINDS, OTHER, PERIOD_DAYS, PRODUCT

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
    }
)


_fmt = format_amount


class _Checks:
    def __init__(self, language: str):
        self.zh = language == "zh"
        self.language = "zh" if self.zh else "en"
        self.items: list[Check] = []
        self.to_fill: list[str] = []

    def add(self, name: str, passed: bool, en: str, zh: str) -> None:
        self.record(name, "passed" if passed else "failed", en, zh)

    def record(self, name: str, status: CheckStatus, en: str, zh: str) -> None:
        self.items.append(Check(name=name, passed=status == "passed", status=status, detail=zh if self.zh else en))

    def fill(self, en: str, zh: str) -> None:
        line = zh if self.zh else en
        if line not in self.to_fill:
            self.to_fill.append(line)


def validate_plan(
    plan: PlanBase, constraints: Constraints, language: str, data_facts: list[str] | None = None
) -> ValidationReport:
    checks = _Checks(language)
    dumped = plan.model_dump()
    _check_budget(plan, constraints, checks)
    _check_discounts(dumped, constraints, checks)
    _check_timeline(plan, constraints, checks)
    _check_goals(plan, constraints, checks)
    _check_channels(dumped, constraints, checks)
    _check_team(plan, constraints, checks)
    check_caps(plan, constraints, checks.record)
    if data_facts:
        _check_data_figures(plan, data_facts, checks)
    for span in constraints.unread:
        fields = UNREAD_FIELDS.get(span.kind, ())
        en_fields = " or ".join(parameter_of(f) for f in fields) or "constraints"
        zh_fields = " 或 ".join(parameter_of(f) for f in fields) or "constraints"
        checks.fill(
            f"{span.input}: '{span.text}' → fill {en_fields}", f"{span.input}:「{span.text}」→ 请填写 {zh_fields}"
        )
    compared = any(c.name in STATED for c in checks.items)
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
    elif any(c.status == "unverified" for c in checks.items) or constraints.unread or not compared:
        status = "unverified"
    else:
        status = "passed"
    return ValidationReport(status=status, passed=status == "passed", checks=checks.items, to_fill=checks.to_fill)


# -- budget ------------------------------------------------------------------------------------------------------------
_PER = {"quarter": (" per quarter", "(每季度)"), "month": (" per month", "(每月)"), "year": (" per year", "(每年)")}
_UNIT = {"quarter": ("quarter", "季度"), "month": ("month", "月"), "year": ("year", "年")}


def _check_budget(plan: PlanBase, c: Constraints, checks: _Checks) -> None:
    budget = getattr(plan, "budget", None)
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
            if c.per_period and c.periods() is None:
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
                over = f" ({stated}{per} over the horizon)" if c.per_period else ""
                over_zh = f"用户预算{per_zh}为 {stated}," if c.per_period else f"用户预算为 {stated},"
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


def line_period(line: Any, phases: dict[str, int], period: str) -> int | None:
    """The 1-based budget period a line is spent in: its own `period`, else the period its phase starts in."""
    if line.period is not None:
        return int(line.period)
    if line.phase and (start := phases.get(line.phase.strip().casefold())) is not None:
        return int((start + 0.5) // PERIOD_DAYS[period]) + 1  # day 91 opens quarter 2
    return None


def _check_per_period(plan: PlanBase, budget: Any, c: Constraints, checks: _Checks) -> None:
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


# -- discounts ---------------------------------------------------------------------------------------------------------
DISCOUNT_KEYS = ("discount_pct", "effective_discount_pct")
_TITLE_KEYS = ("description", "name", "churn_reason", "step", "reward", "offer", "moment", "action")
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


def _title(value: dict[str, Any], fallback: str) -> str:
    return next((str(value[k]) for k in _TITLE_KEYS if isinstance(value.get(k), str) and value.get(k)), fallback)


def _where(path: tuple[str | int, ...]) -> str:
    return ".".join(map(str, path))


def _discounts(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, float]]:
    """Every typed discount in the plan, wherever it stands, named by its part and where it is."""
    if isinstance(value, dict):
        for key in DISCOUNT_KEYS:
            pct = value.get(key)
            if isinstance(pct, int | float) and not isinstance(pct, bool):
                yield f"{_title(value, key)} ({_where(path) or key})", float(pct)
        for k, item in value.items():
            if isinstance(item, dict | list) and k not in _NOT_INCENTIVE_TEXT:
                yield from _discounts(item, (*path, k))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                yield from _discounts(item, (*path, index))


def _text_discounts(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, float]]:
    """Discounts written in the plan's free text (outside the rows that restate the cap)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, item in items:
        if isinstance(item, str):
            if _DISCOUNT_HINT.search(item):
                for words, pct in text_discounts(item):
                    yield f"{_where((*path, k))}: '{words}'", pct
        elif isinstance(item, dict | list) and k not in _NOT_INCENTIVE_TEXT:
            yield from _text_discounts(item, (*path, k))


def _check_discounts(plan: dict[str, Any], c: Constraints, checks: _Checks) -> None:
    if c.discount_cap_pct is None:
        return
    cap = c.discount_cap_pct
    found = list(_discounts(plan)) + list(_text_discounts(plan))
    over = [(name, pct) for name, pct in found if pct > cap + 1e-9]
    deepest = max((pct for _, pct in found), default=None)
    if over:
        names = "; ".join(f"{name} = {_fmt(pct)}% off" for name, pct in over)
        names_zh = ";".join(f"{name} = 优惠 {_fmt(pct)}%" for name, pct in over)
        checks.add(
            "discount_cap",
            False,
            f"Discounts above the {_fmt(cap)}% cap: {names}. (discount_pct is the percent off: 7折 = 30.)",
            f"以下优惠超过 {_fmt(cap)}% 的折扣上限:{names_zh}。(discount_pct 为减免的百分比:7折 = 30。)",
        )
    else:
        shown = "no discounts" if deepest is None else f"deepest discount {_fmt(deepest)}%"
        shown_zh = "无折扣" if deepest is None else f"最大折扣 {_fmt(deepest)}%"
        checks.add(
            "discount_cap",
            True,
            f"Every discount in the plan, typed or in its text, is within the {_fmt(cap)}% cap ({shown}).",
            f"方案中的全部优惠(字段与正文)均在 {_fmt(cap)}% 上限之内({shown_zh})。",
        )


# -- timeline ----------------------------------------------------------------------------------------------------------
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


# -- goals -------------------------------------------------------------------------------------------------------------
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _numbers(text: str) -> set[float]:
    return {float(n) for n in _NUMBER.findall(text.replace(",", ""))}


def _goal_numbers(goal: Any) -> set[float]:
    numbers = _numbers(goal.text) | {v for v in (goal.target, goal.baseline) if v is not None}
    return numbers - {0.0}


def kpi_coverage(plan: PlanBase, c: Constraints) -> dict[str, int]:
    """Goal id -> index of the KPI that covers it. A KPI with a goal_id covers that goal only; a KPI without one may
    cover one goal whose numbers it carries (target or baseline), each such KPI at most one goal."""
    ids = {g.id.upper() for g in c.goals}
    covered: dict[str, int] = {}
    for index, kpi in enumerate(plan.kpis):
        goal_id = (kpi.goal_id or "").strip().upper()
        if goal_id in ids and goal_id not in covered:
            covered[goal_id] = index
    free = [i for i, k in enumerate(plan.kpis) if not (k.goal_id or "").strip()]
    candidates: dict[str, list[int]] = {}
    for goal in c.goals:
        if goal.id.upper() in covered:
            continue
        numbers = _goal_numbers(goal)
        candidates[goal.id.upper()] = [
            i for i in free if numbers & {v for v in (plan.kpis[i].target, plan.kpis[i].baseline) if v is not None}
        ]
    owner: dict[int, str] = {}  # KPI index -> goal id, a maximum matching (augmenting paths)

    def assign(goal_id: str, seen: set[int]) -> bool:
        for i in candidates[goal_id]:
            if i in seen:
                continue
            seen.add(i)
            if i not in owner or assign(owner[i], seen):
                owner[i] = goal_id
                return True
        return False

    for goal_id in candidates:
        assign(goal_id, set())
    covered.update({goal_id: i for i, goal_id in owner.items()})
    return covered


def _check_goals(plan: PlanBase, c: Constraints, checks: _Checks) -> None:
    if not c.goals:
        return
    covered = kpi_coverage(plan, c)
    missing = [g for g in c.goals if g.id.upper() not in covered]
    n = len(c.goals) - len(missing)
    checks.add(
        "goals_have_kpis",
        not missing,
        f"{n} of {len(c.goals)} stated goals have their own KPI"
        + (
            "."
            if not missing
            else " (a KPI covers the goal named in its goal_id, or one goal whose numbers it carries); missing: "
            + "; ".join(f"{g.id} {g.text}" for g in missing)
            + "."
        ),
        f"{len(c.goals)} 个目标中有 {n} 个有各自的 KPI"
        + (
            "。"
            if not missing
            else "(KPI 只覆盖其 goal_id 所写的目标,或数字相符的一个目标);缺少:"
            + ";".join(f"{g.id} {g.text}" for g in missing)
            + "。"
        ),
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


def _check_channels(plan: dict[str, Any], c: Constraints, checks: _Checks) -> None:
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
def _check_team(plan: PlanBase, c: Constraints, checks: _Checks) -> None:
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


# -- figures attributed to the data ------------------------------------------------------------------------------------
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


# -- what the model is told --------------------------------------------------------------------------------------------
def constraint_rules(c: Constraints, zh: bool) -> list[str]:
    """The hard-constraint lines of the plan-mode instructions, one per rule the checks above hold the plan to, in
    the plan's language: budget in total and per period (lines carry their period or phase), the discount cap with
    its direction, horizon, team, channel kinds (allow-list and exclusions) and one KPI per goal."""
    language = "zh" if zh else "en"
    sep = "、" if zh else ", "
    lines: list[str] = []
    currency = (c.budget.currency or "") if c.budget else ""
    if c.budget is not None:
        cap = c.budget_cap() or 0.0
        periods = c.periods()
        if c.per_period and (periods is None or periods > 1):  # spending is checked per period
            unit, unit_zh = _UNIT[c.budget_period or ""]
            amount = c.budget.amount
            total_en = f" and at most {_fmt(cap)} {currency} over the plan" if periods else ""
            total_zh = f",整个计划期合计不超过 {_fmt(cap)} {currency}" if periods else ""
            lines.append(
                f"- 预算:每{unit_zh}不超过 {_fmt(amount)} {currency}{total_zh};budget.period 填 {c.budget_period},"
                f"budget.total 为整个方案的合计;每个 budget.lines 条目填写 period(第几个{unit_zh},1 = 第一个)或"
                f"timeline 中的阶段名 phase,每期合计不超过 {_fmt(amount)};币种用 {currency or '资料中的币种'}。"
                if zh
                else f"- Budget: at most {_fmt(amount)} {currency} per {unit}{total_en}; set budget.period to "
                f"{c.budget_period} and budget.total to the whole plan's total; give every budget line its period "
                f"({unit} number, 1 = the first) or the name of its timeline phase, and keep each {unit}'s lines "
                f"at most {_fmt(amount)}; currency {currency or 'as in the facts'}."
            )
        else:
            lines.append(
                f"- 预算:budget.total 与全部 budget.lines 之和不超过 {_fmt(cap)} {currency};币种用 {currency or '资料中的币种'}。"
                if zh
                else f"- Budget: budget.total and the sum of budget.lines at most {_fmt(cap)} {currency}; currency "
                f"{currency or 'as in the facts'}."
            )
    if c.cost_cap_pct_of_revenue is not None:
        share = f"{c.cost_cap_pct_of_revenue:g}"
        lines.append(
            f"- 成本占销售额:budget.share_of_revenue_pct 必须填写且不超过 {share}%。"
            if zh
            else f"- Cost as a share of sales: fill budget.share_of_revenue_pct, at most {share}%."
        )
    if c.discount_cap_pct is not None:
        v = c.discount_cap_pct
        paid = f"{round((100 - v) / 10, 2):g}"
        lines.append(
            f"- 折扣:方案中任何位置的优惠(offers、召回、增购、会员权益、挽留、个性化权益)都填 discount_pct,"
            f"即减免的百分比(7折 = 30,半价 = 50),都不超过 {v:g}(不低于 {paid} 折);正文中写的折扣同样受此限制。"
            if zh
            else f"- Discounts: every incentive anywhere in the plan (offers, win-back, expansion, loyalty and tier "
            f"benefits, save offers, triggers) fills discount_pct as the percent OFF the list price (7折 = 30, half "
            f"price = 50), at most {v:g}; discounts written in the text are held to the same cap."
        )
    if c.horizon_days is not None:
        lines.append(
            f"- 时间:每个阶段的 end_day 和每个 KPI 的 deadline_day 不超过 {c.horizon_days}。"
            if zh
            else f"- Horizon: every phase end_day and KPI deadline_day at most {c.horizon_days}."
        )
    if c.team_size is not None:
        lines.append(
            f"- 团队:填写 team_size_needed,且不超过 {c.team_size}。"
            if zh
            else f"- Team: fill team_size_needed, at most {c.team_size}."
        )
    kinds = ", ".join(CHANNEL_KINDS)
    lines.append(
        f"- 渠道字段(channel/channels)填渠道类型:{kinds};不发消息的产品内功能(徽章、社群挑战、暂停按钮)填 product。"
        if zh
        else f"- Channel fields (channel/channels) take a channel kind: {kinds}; an in-product feature that sends no "
        "message (badge, community challenge, pause button) is product."
    )
    if c.channels_allowed:
        only = sep.join(f"{channel_label(k, language)} ({k})" for k in c.channels_allowed)
        lines.append(
            f"- 仅可使用以下渠道:{only};其他触达渠道(包括 other)都不可用,product 不受限。"
            if zh
            else f"- Only these channels may be used: {only}; no other contact channel (other included); product is "
            "not restricted."
        )
    if c.channels_excluded:
        names = sep.join(f"{channel_label(k, language)} ({k})" for k in c.channels_excluded)
        lines.append(
            f"- 禁用渠道:任何 channel/channels 字段都不得使用 {names}。"
            if zh
            else f"- Channels ruled out: no channel/channels field may use {names}."
        )
    if c.goals:
        lines.append(
            "- 目标:每个目标各有一个 KPI,其 goal_id 写该目标编号;一个 KPI 只对应一个目标。"
            if zh
            else "- Goals: each goal gets its own KPI whose goal_id is the goal's id; one KPI covers one goal."
        )
    if not any((c.budget, c.cost_cap_pct_of_revenue is not None, c.discount_cap_pct is not None, c.horizon_days,
                c.team_size, c.channels_allowed, c.channels_excluded, c.goals)):  # fmt: skip
        lines.append(
            "- 资料中没有可检查的数值约束;仍须遵守资料中的全部说明。"
            if zh
            else "- No checkable numeric constraint was found; still respect everything the facts say."
        )
    return lines
