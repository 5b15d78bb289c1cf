"""The effective constraints of one call: typed values first, then what the free text says, then what is unread.

`effective_constraints(template, values)` merges the typed `constraints` and `goals` parameters with the free-text
reader; `constraints_result` is the typed form every render and plan result carries; `stated_block` is the short
block every rendered prompt carries, so a model never has to re-read prose for a budget, a cap or a horizon.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from retention_mcp.generation.constraints import (
    UNREAD_FIELDS,
    Conflict,
    Constraints,
    Goal,
    Money,
    Unread,
    format_amount,
    parameter_of,
    read_constraints,
)
from retention_mcp.models import (
    ConstraintConflict,
    EffectiveBudget,
    EffectiveConstraints,
    EffectiveGoal,
    ReadFrom,
    RenderResult,
    UnreadSpan,
)
from retention_mcp.registry import Template
from retention_mcp.rendering import defuse
from retention_mcp.typed_constraints import CONSTRAINTS_FIELD, GOALS_FIELD, MAX_GOALS, ConstraintsInput, GoalInput
from retention_mcp.vocabulary import channel_label

# Inputs that are not free text about the business: the language switch and the data file (its facts are data, and a
# data window is never a plan horizon).
NOT_TEXT = frozenset({"language", "dataset", CONSTRAINTS_FIELD, GOALS_FIELD})
# Every field the effective constraints hold, as the result and the sources name them.
FIELDS = ("budget", "horizon_days", "discount_cap_pct", "cost_cap_pct_of_revenue", "team_size", "channels_allowed",
          "channels_excluded", "goals")  # fmt: skip


# The argument that holds the goals each KPI must trace to, per template (others: the first input ending in "goals").
GOAL_FIELDS = {
    "retention_strategy": "retention_goals",
    "loyalty_program": "business_goals",
    "renewal_campaign": "campaign_goals",
    "churn_analysis": None,
    "subscription_playbook": None,
}


def goal_field(template: Template) -> str | None:
    if template.name in GOAL_FIELDS:
        return GOAL_FIELDS[template.name]
    return next((s.name for s in template.inputs if s.name.endswith("goals")), None)


def render_stated(template: Template, values: BaseModel, constraints: Constraints | None = None) -> RenderResult:
    """The prompt with its stated-constraints block, and the effective constraints in the result. `values` are
    validated (and, with a dataset, grounded) arguments; `constraints` are computed from them when not given."""
    if constraints is None:
        constraints = effective_constraints(values, goal_field(template))
    language = template.resolve_language(getattr(values, "language", "auto"), template.text_values(values))
    rendered = template.render_validated(values, stated_block(constraints, language), language)
    rendered.constraints = constraints_result(constraints)
    return rendered


_fmt = format_amount


def _money_text(amount: float, currency: str | None, period: str | None) -> str:
    per = f" per {period}" if period and period != "total" else ""
    return f"{_fmt(amount)} {currency or ''}".strip() + per


def effective_constraints(values: BaseModel | Mapping[str, Any], goal_field: str | None) -> Constraints:
    """Typed values win; the free text fills what they leave out; a disagreement between them is listed."""
    if isinstance(values, BaseModel):  # validated arguments: the typed parts are models already
        data = {name: getattr(values, name) for name in type(values).model_fields}
    else:
        data = dict(values)
    typed = _typed(data.get(CONSTRAINTS_FIELD), ConstraintsInput)
    goals = [_typed(g, GoalInput) for g in data.get(GOALS_FIELD) or []]
    text = {k: v for k, v in data.items() if k not in NOT_TEXT and v is not None}
    c = read_text(text, goal_field)
    if len(c.goals) > MAX_GOALS:  # numbered up to the most a call takes; the rest is said to be unread
        rest = c.goals[MAX_GOALS:]
        c.goals = c.goals[:MAX_GOALS]
        c.unread.append(
            Unread(goal_field or GOALS_FIELD, f"{len(rest)} more: " + "; ".join(g.text for g in rest)[:70], "goal")
        )
    for name in FIELDS:  # the reader marks what it read; anything else it left is from the text too
        if known(c, name):
            c.sources.setdefault(name, "text")
    if typed is not None:
        apply_constraints(c, typed, "typed")
    if goals:
        c.goals = [Goal(id=f"G{i}", source="typed", **g.model_dump()) for i, g in enumerate(goals, 1)]
        c.sources["goals"] = "typed"
        c.evidence.pop("goals", None)
    settle_unread(c)
    return c


# Above this many characters of free text, the reading runs in a worker thread: the event loop keeps serving other
# calls while a long (or hostile) brief is read, which can take a good part of a second.
THREAD_ABOVE_CHARS = 2_000


async def effective_constraints_async(values: BaseModel, goal_field: str | None) -> Constraints:
    """`effective_constraints`, in a worker thread when the brief is long."""
    size = sum(len(v) for v in (getattr(values, n) for n in type(values).model_fields) if isinstance(v, str))
    if size <= THREAD_ABOVE_CHARS:
        return effective_constraints(values, goal_field)
    import anyio

    return await anyio.to_thread.run_sync(effective_constraints, values, goal_field)


def read_text(text: Mapping[str, Any], goal_field: str | None) -> Constraints:
    """What the free text says: a fresh copy of a reading kept for the last briefs read. Reading is deterministic and
    costs up to a millisecond, and a brief is often read more than once (rendered, then generated; retried)."""
    key = tuple(
        (k, v if isinstance(v, str) else tuple(map(str, v))) for k, v in text.items() if isinstance(v, str | list)
    )
    read = _read_once(key, goal_field)
    return dataclasses.replace(  # the containers a merge changes are the copy's own; their items are never changed
        read,
        channels_excluded=list(read.channels_excluded),
        channels_allowed=list(read.channels_allowed),
        goals=list(read.goals),
        sources=dict(read.sources),
        evidence=dict(read.evidence),
        unread=list(read.unread),
        conflicts=list(read.conflicts),
    )


@functools.lru_cache(maxsize=128)
def _read_once(key: tuple[tuple[str, Any], ...], goal_field: str | None) -> Constraints:
    return read_constraints({k: list(v) if isinstance(v, tuple) else v for k, v in key}, goal_field)


def _typed(value: Any, model: type[BaseModel]) -> Any:
    if value is None or isinstance(value, model):
        return value
    return model.model_validate(value)


def known(c: Constraints, name: str) -> bool:
    """Whether a constraint field holds a value (a list: any item)."""
    value = getattr(c, name)
    return bool(value) if isinstance(value, list) else value is not None


def apply_constraints(c: Constraints, typed: ConstraintsInput, source: str, overwrite: bool = True) -> list[str]:
    """Put typed values on the constraints with their source (typed, or model for an extraction), and return the
    fields set. With `overwrite` a value replaces what the text said, and a disagreement is listed; without it only
    empty fields are filled."""
    filled: list[str] = []
    for name in ConstraintsInput.model_fields:
        value = getattr(typed, name)
        if value is None or (not overwrite and known(c, name)):
            continue
        if c.sources.get(name) == "text" and known(c, name):
            conflict = _conflict(c, name, value)
            if conflict is not None:
                c.conflicts.append(conflict)
        if name == "budget":
            c.budget = Money(value.amount, value.currency or (c.budget.currency if c.budget else None), value.min)
            c.budget_period = None if value.period == "total" else value.period
        else:
            setattr(c, name, list(value) if isinstance(value, list) else value)
        c.sources[name] = source
        c.evidence.pop(name, None)
        filled.append(name)
    if c.channels_allowed:
        c.channels_excluded = [k for k in c.channels_excluded if k not in c.channels_allowed]
    return filled


def _conflict(c: Constraints, name: str, value: Any) -> Conflict | None:
    """What the text said of a field, when a typed value differs from it."""
    if name == "budget":
        assert c.budget is not None
        period = None if value.period == "total" else value.period
        same = (
            abs(c.budget.amount - value.amount) < 0.005
            and (c.budget.currency in (None, value.currency) or value.currency is None)
            and (c.budget_period or None) == period
        )
        said = _money_text(c.budget.amount, c.budget.currency, c.budget_period)
        return None if same else Conflict(name, _money_text(value.amount, value.currency, value.period), said)
    old = getattr(c, name)
    if isinstance(value, list):
        return None if set(old) == set(value) else Conflict(name, ", ".join(value), ", ".join(old))
    return None if abs(float(old) - float(value)) <= 1e-9 else Conflict(name, _fmt(value), _fmt(old))


def settle_unread(c: Constraints) -> None:
    """Drop the unread spans every field they could stand for now holds a typed or extracted value for."""
    c.unread = [
        u
        for u in c.unread
        if not all(known(c, f) and c.sources.get(f) in ("typed", "model") for f in UNREAD_FIELDS.get(u.kind, ()))
    ]


def fill_hint(kind: str) -> list[str]:
    return [parameter_of(f) for f in UNREAD_FIELDS.get(kind, ())]


def constraints_result(c: Constraints) -> EffectiveConstraints:
    budget = None
    if c.budget is not None:
        budget = EffectiveBudget(
            amount=c.budget.amount,
            currency=c.budget.currency,
            period=c.budget_period if c.per_period else "total",  # type: ignore[arg-type]
            min=c.budget.low,
            total=c.budget_cap() if (not c.per_period or c.periods()) else None,
            source=c.sources.get("budget", "text"),  # type: ignore[arg-type]
        )
    return EffectiveConstraints(
        budget=budget,
        horizon_days=c.horizon_days,
        discount_cap_pct=c.discount_cap_pct,
        cost_cap_pct_of_revenue=c.cost_cap_pct_of_revenue,
        team_size=c.team_size,
        channels_allowed=list(c.channels_allowed),
        channels_excluded=list(c.channels_excluded),
        goals=[EffectiveGoal(**dataclasses.asdict(g)) for g in c.goals],
        sources={k: v for k, v in c.sources.items() if known(c, k)},  # type: ignore[misc]
        read_from={k: ReadFrom(input=e.input, text=e.text) for k, e in c.evidence.items() if known(c, k)},
        unread=[UnreadSpan(input=u.input, text=u.text, kind=u.kind, fill=fill_hint(u.kind)) for u in c.unread],  # type: ignore[arg-type]
        conflicts=[ConstraintConflict(field=x.field, typed=x.typed, text=x.text) for x in c.conflicts],
    )


# -- the block every prompt carries -------------------------------------------------------------------------------------
_PERIOD = {"month": ("per month", "每月", "months", "个月"), "quarter": ("per quarter", "每季度", "quarters", "个季度"),
           "year": ("per year", "每年", "years", "年")}  # fmt: skip


def stated_block(c: Constraints, language: str) -> str:
    """The constraints a plan is held to, one line each, in the prompt's language, inside <stated_constraints>."""
    zh = language == "zh"
    lines = ["<stated_constraints>"]
    lines.append(
        "以下约束由用户以类型化参数给出或从上文资料中读出,方案必须逐条遵守;未声明的项请提出建议值并标注【假设】。"
        if zh
        else "The plan is checked against these constraints (typed by the user or read from the facts above). "
        "Respect each one; where one is not stated, propose a value and mark it [Assumption]."
    )
    none = "未声明:请提出建议值并标注为【假设】" if zh else "none stated: propose one and mark it as an assumption"
    lines.append(("- 预算:" if zh else "- Budget: ") + (_budget_line(c, zh) if c.budget is not None else none))
    if c.cost_cap_pct_of_revenue is not None:
        share = _fmt(c.cost_cap_pct_of_revenue)
        lines.append(f"- 成本上限:不超过收入的 {share}%" if zh else f"- Cost cap: at most {share}% of revenue")
    cap = c.discount_cap_pct
    days = c.horizon_days
    for label_en, label_zh, stated in (
        (
            "Discount cap",
            "折扣上限",
            None
            if cap is None
            else (
                f"优惠幅度不超过 {_fmt(cap)}%(即不低于 {round((100 - cap) / 10, 2):g} 折);方案中任何位置的折扣都适用"
                if zh
                else f"at most {_fmt(cap)}% off the list price, for every discount anywhere in the plan"
            ),
        ),
        (
            "Horizon",
            "时间范围",
            None
            if days is None
            else (
                f"{days} 天(第 0 天至第 {days} 天),全部阶段与 KPI 截止日在此之内"
                if zh
                else f"{days} days (day 0 to day {days}); every phase and KPI deadline falls within it"
            ),
        ),
        ("Team", "团队", None if c.team_size is None else (f"{c.team_size} 人" if zh else f"{c.team_size} people")),
    ):
        lines.append(f"- {label_zh}:{stated or none}" if zh else f"- {label_en}: {stated or none}")
    language = "zh" if zh else "en"
    sep = "、" if zh else ", "
    if c.channels_allowed:
        names = sep.join(channel_label(k, language) for k in c.channels_allowed)
        lines.append(
            f"- 渠道:仅限 {names}(产品内功能不受限)"
            if zh
            else f"- Channels: only {names} (in-product features are not channels)"
        )
    if c.channels_excluded:
        names = sep.join(channel_label(k, language) for k in c.channels_excluded)
        lines.append(f"- 禁用渠道:{names}" if zh else f"- Channels ruled out: {names}")
    if c.goals:
        lines.append(
            "- 目标(每个目标各有一个 KPI,goal_id 写编号):" if zh else "- Goals (each gets its own KPI, by id):"
        )
        lines += [f"  {g.id}: {_one_line(g.text)}" for g in c.goals]
    if c.unread:
        lines.append(
            "- 服务器未能识别的约束原文(请自行阅读并遵守):"
            if zh
            else "- Constraint text the server could not read (read and respect it yourself):"
        )
        lines += [f"  {_one_line(u.text)}" for u in c.unread]
    lines.append("</stated_constraints>")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    """User words on one line of the block: a line break in a goal must not start a line that reads as the server's
    (a second "- Discount cap:", a "G9:", a role line)."""
    return " ".join(defuse(text).split())


def _budget_line(c: Constraints, zh: bool) -> str:
    assert c.budget is not None
    amount, currency = c.budget.amount, c.budget.currency or ("(币种见资料)" if zh else "(currency as in the facts)")
    low = c.budget.low
    shown = f"{_fmt(low)}–{_fmt(amount)}" if low is not None else _fmt(amount)
    if not c.per_period:
        return f"总额不超过 {shown} {currency}" if zh else f"at most {shown} {currency} in total"
    per_en, per_zh, many_en, many_zh = _PERIOD[c.budget_period or ""]
    periods = c.periods()
    if periods is None:
        return (
            f"{per_zh}不超过 {shown} {currency}(时间范围未声明,按每期核算)"
            if zh
            else f"at most {shown} {currency} {per_en} (no horizon stated: checked per period)"
        )
    total = _fmt(c.budget_cap() or 0)
    if periods <= 1:
        return (
            f"{per_zh}不超过 {shown} {currency};计划期在一{many_zh}之内,总额不超过 {total} {currency}"
            if zh
            else f"at most {shown} {currency} {per_en}; the horizon is within one {c.budget_period}, so at most "
            f"{total} {currency} in total"
        )
    return (
        f"{per_zh}不超过 {shown} {currency};计划期共 {_fmt(periods)}{many_zh},总额不超过 {total} {currency};"
        f"每期支出分别核算,预算科目注明所属期(period)或阶段(phase)"
        if zh
        else f"at most {shown} {currency} {per_en}; {_fmt(periods)} {many_en} in the horizon, so at most {total} "
        f"{currency} in total; spending is checked per period, so give each budget line its period or phase"
    )
