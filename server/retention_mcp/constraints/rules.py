"""The hard-constraint lines of the plan-mode instructions: what the plan checks hold a model to, in the same terms."""

from __future__ import annotations

from retention_mcp.constraints.lexicon import PERIOD_WORDS
from retention_mcp.constraints.record import Constraints, format_amount
from retention_mcp.vocabulary import CHANNEL_KINDS, channel_label


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
            words = PERIOD_WORDS[c.budget_period or ""]
            unit, unit_zh = words.unit_en, words.unit_zh
            amount = c.budget.amount
            total_en = f" and at most {format_amount(cap)} {currency} over the plan" if periods else ""
            total_zh = f",整个计划期合计不超过 {format_amount(cap)} {currency}" if periods else ""
            lines.append(
                f"- 预算:每{unit_zh}不超过 {format_amount(amount)} {currency}{total_zh};budget.period 填 {c.budget_period},"
                f"budget.total 为整个方案的合计;每个 budget.lines 条目填写 period(第几个{unit_zh},1 = 第一个)或"
                f"timeline 中的阶段名 phase,每期合计不超过 {format_amount(amount)};币种用 {currency or '资料中的币种'}。"
                if zh
                else f"- Budget: at most {format_amount(amount)} {currency} per {unit}{total_en}; set budget.period to "
                f"{c.budget_period} and budget.total to the whole plan's total; give every budget line its period "
                f"({unit} number, 1 = the first) or the name of its timeline phase, and keep each {unit}'s lines "
                f"at most {format_amount(amount)}; currency {currency or 'as in the facts'}."
            )
        else:
            lines.append(
                f"- 预算:budget.total 与全部 budget.lines 之和不超过 {format_amount(cap)} {currency};币种用 {currency or '资料中的币种'}。"
                if zh
                else f"- Budget: budget.total and the sum of budget.lines at most {format_amount(cap)} {currency}; currency "
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
