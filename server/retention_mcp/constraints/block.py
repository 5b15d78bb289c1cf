"""The stated-constraints block every rendered prompt carries: the constraints a plan is held to, one line each.

Values read by a model are marked as model-read, never as the user's words; a typed value that replaces what the
text says is named with the text it replaces; a kind the brief states in a sentence the server could not read never
gets "none stated: propose one". The churn analysis is an analysis, not a campaign: its block asks for no budget,
discount cap, horizon or team it was not given.
"""

from __future__ import annotations

from retention_mcp.constraints.record import Constraints, format_amount
from retention_mcp.rendering import defuse
from retention_mcp.vocabulary import channel_label

_fmt = format_amount
# What an unread span's kind leaves stated but unread, per line of the block.
_UNREAD_LINES = {"amount": "budget", "percent": "discount", "duration": "horizon", "deadline": "horizon",
                 "headcount": "team"}  # fmt: skip
_FIELD_NAMES = {
    "budget": ("budget", "预算"), "horizon_days": ("horizon", "时间范围"), "discount_cap_pct": ("discount cap", "折扣上限"),
    "cost_cap_pct_of_revenue": ("cost cap", "成本上限"), "team_size": ("team", "团队"),
    "channels_allowed": ("channels allowed", "可用渠道"), "channels_excluded": ("channels ruled out", "禁用渠道"),
    "per_customer_cap": ("per-customer cap", "每位客户上限"), "free_periods_cap": ("free periods", "免费期上限"),
    "start_date": ("start date", "开始日期"),
}  # fmt: skip
_UNITS = {"day": ("day", "天"), "week": ("week", "周"), "month": ("month", "个月")}


_PERIOD = {"month": ("per month", "每月", "months", "个月"), "quarter": ("per quarter", "每季度", "quarters", "个季度"),
           "year": ("per year", "每年", "years", "年"), "week": ("per week", "每周", "weeks", "周"),
           "day": ("per day", "每天", "days", "天")}  # fmt: skip


def stated_block(c: Constraints, language: str, analysis: bool = False) -> str:
    """The constraints a plan is held to, one line each, in the prompt's language, inside <stated_constraints>."""
    zh = language == "zh"
    lines = ["<stated_constraints>"]
    unread_lines = {_UNREAD_LINES[u.kind] for u in c.unread if u.kind in _UNREAD_LINES}

    def none(line: str) -> str | None:
        """What the block says of a kind with no value: stated but unread, not applicable, or none stated."""
        if line in unread_lines:
            return (
                "见下方未能识别的原文(用户已声明,请遵守)"
                if zh
                else "stated in the text listed below as unread: respect it as written"
            )
        if analysis:
            return None
        return none_stated

    def mark(name: str, text: str) -> str:
        if c.sources.get(name) == "model":
            return text + (
                "(由模型从资料中读出,非用户原话)" if zh else " (read by a model from the brief, not the user's words)"
            )
        return text

    lines.append(
        "以下约束由用户以类型化参数给出或从上文资料中读出,方案必须逐条遵守;未声明的项请提出建议值并标注【假设】。"
        if zh
        else "The plan is checked against these constraints (typed by the user or read from the facts above). "
        "Respect each one; where one is not stated, propose a value and mark it [Assumption]."
    )
    none_stated = (
        "未声明:请提出建议值并标注为【假设】" if zh else "none stated: propose one and mark it as an assumption"
    )
    budget = mark("budget", _budget_line(c, zh)) if c.budget is not None else none("budget")
    if budget is not None:
        lines.append(("- 预算:" if zh else "- Budget: ") + budget)
    if c.cost_cap_pct_of_revenue is not None:
        share = _fmt(c.cost_cap_pct_of_revenue)
        cost = f"- 成本上限:不超过收入的 {share}%" if zh else f"- Cost cap: at most {share}% of revenue"
        lines.append(mark("cost_cap_pct_of_revenue", cost))
    cap = c.discount_cap_pct
    days = c.horizon_days
    for name, label_en, label_zh, stated in (
        (
            "discount_cap_pct",
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
            "horizon_days",
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
        (
            "team_size",
            "Team",
            "团队",
            None if c.team_size is None else (f"{c.team_size} 人" if zh else f"{c.team_size} people"),
        ),
    ):
        line = (
            mark(name, stated)
            if stated
            else none({"discount_cap_pct": "discount", "horizon_days": "horizon"}.get(name, "team"))
        )
        if line is not None:
            lines.append(f"- {label_zh}:{line}" if zh else f"- {label_en}: {line}")
    lines += _new_kinds(c, zh)
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
    lines += _replaced(c, zh)
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


def _new_kinds(c: Constraints, zh: bool) -> list[str]:
    """Lines for the caps per customer and the start date, when stated."""
    lines: list[str] = []
    cap = c.per_customer_cap
    if cap is not None:
        per_en, per_zh = (f" per {cap.period}", f"每{_PERIOD[cap.period][1].lstrip('每')}") if cap.period else ("", "")
        money = f"{_fmt(cap.amount)} {cap.currency or ''}".strip()
        lines.append(
            f"- 每位客户上限:每位客户{per_zh}所获优惠价值不超过 {money};每项优惠写明 value_per_customer"
            if zh
            else f"- Per-customer cap: at most {money} of incentives per customer{per_en}; give each offer its "
            "value_per_customer"
        )
    free = c.free_periods_cap
    if free is not None:
        en, zh_unit = _UNITS.get(free.unit, (free.unit, free.unit))
        lines.append(
            f"- 免费期上限:每位客户最多 {free.count} {zh_unit}免费;每项优惠写明 free_periods(数量与单位)"
            if zh
            else f"- Free periods: at most {free.count} free {en}{'s' if free.count != 1 else ''} per customer; give "
            "each offer its free_periods (count and unit)"
        )
    if c.start_date is not None:
        lines.append(f"- 开始日期:{c.start_date.isoformat()}" if zh else f"- Start date: {c.start_date.isoformat()}")
    return lines


def _replaced(c: Constraints, zh: bool) -> list[str]:
    """One line per typed value that replaces what the text says."""
    lines: list[str] = []
    for x in c.conflicts:
        en, zh_name = _FIELD_NAMES.get(x.field, (x.field, x.field))
        said = _one_line(x.text)
        lines.append(
            f"- 类型化值优先:{zh_name} {x.typed}——取代资料中的「{said}」"
            if zh
            else f"- Typed: {en} {x.typed} — replaces the brief's '{said}'"
        )
    return lines
