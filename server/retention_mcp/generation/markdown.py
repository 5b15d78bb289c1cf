"""A plan as Markdown in its own language: headings per section, tables where the parts are typed."""

from __future__ import annotations

from typing import Any

from retention_mcp.generation.plans import PlanBase
from retention_mcp.models import ValidationReport

LABELS: dict[str, tuple[str, str]] = {
    "summary": ("Summary", "概述"),
    "assumptions": ("Assumptions", "假设"),
    "segments": ("Segments", "客群"),
    "initiatives": ("Initiatives", "举措"),
    "offers": ("Offers", "优惠"),
    "budget": ("Budget", "预算"),
    "timeline": ("Timeline", "时间线"),
    "kpis": ("KPIs", "关键指标"),
    "ab_tests": ("A/B tests", "A/B 测试"),
    "risks": ("Risks", "风险"),
    "touchpoints": ("Lifecycle touchpoints", "生命周期触点"),
    "win_back": ("Win-back campaigns", "挽回活动"),
    "tiers": ("Tiers", "会员等级"),
    "earning_rules": ("Earning rules", "积分规则"),
    "redemption": ("Redemption", "兑换方式"),
    "sequence": ("Contact sequence", "触达节奏"),
    "findings": ("Findings", "发现"),
    "drivers": ("Churn drivers", "流失驱动因素"),
    "open_questions": ("Open questions", "待回答的问题"),
    "stages": ("Lifecycle stages", "生命周期阶段"),
    "expansion_plays": ("Expansion plays", "扩展策略"),
    "team_size_needed": ("Team", "团队"),
    # columns
    "name": ("Name", "名称"),
    "definition": ("Definition", "定义"),
    "size": ("Size", "规模"),
    "share_pct": ("Share %", "占比%"),
    "goal_ids": ("Goals", "目标"),
    "segment": ("Segment", "客群"),
    "channels": ("Channels", "渠道"),
    "channel": ("Channel", "渠道"),
    "actions": ("Actions", "动作"),
    "owner": ("Owner", "负责人"),
    "description": ("Offer", "优惠"),
    "discount_pct": ("Discount %", "折扣%"),
    "item": ("Item", "科目"),
    "amount": ("Amount", "金额"),
    "purpose": ("Purpose", "用途"),
    "start_day": ("Start day", "开始日"),
    "end_day": ("End day", "结束日"),
    "deliverables": ("Deliverables", "交付内容"),
    "metric": ("Metric", "指标"),
    "baseline": ("Baseline", "基线"),
    "target": ("Target", "目标"),
    "unit": ("Unit", "单位"),
    "deadline_day": ("Due day", "截止日"),
    "goal_id": ("Goal", "对应目标"),
    "hypothesis": ("Hypothesis", "假设"),
    "variants": ("Variants", "实验组"),
    "risk": ("Risk", "风险"),
    "mitigation": ("Mitigation", "应对"),
    "stage": ("Stage", "阶段"),
    "day": ("Day", "天"),
    "message": ("Message", "信息"),
    "churn_reason": ("Churn reason", "流失原因"),
    "target_rule": ("Target rule", "目标规则"),
    "offer": ("Offer", "优惠"),
    "success_metric": ("Success metric", "成功指标"),
    "qualification": ("Qualification", "达成条件"),
    "benefits": ("Benefits", "权益"),
    "action": ("Behaviour", "行为"),
    "reward": ("Reward", "奖励"),
    "cost_pct_of_sales": ("Cost % of sales", "成本占销售额%"),
    "statement": ("Finding", "发现"),
    "value": ("Value", "数值"),
    "source": ("Source", "来源"),
    "driver": ("Driver", "驱动因素"),
    "evidence": ("Evidence", "证据"),
    "confidence": ("Confidence", "可信度"),
    "signals": ("Signals", "信号"),
    "plays": ("Plays", "动作"),
    "trigger": ("Trigger", "触发条件"),
}
ORDER = [
    "summary", "segments", "initiatives", "touchpoints", "win_back", "tiers", "earning_rules", "redemption",
    "sequence", "findings", "drivers", "stages", "expansion_plays", "offers", "timeline", "budget", "kpis",
    "ab_tests", "risks", "team_size_needed", "assumptions", "open_questions",
]  # fmt: skip


def _label(key: str, zh: bool) -> str:
    en, cn = LABELS.get(key, (key.replace("_", " ").capitalize(), key))
    return cn if zh else en


def _cell(value: Any, zh: bool) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:g}"
    if isinstance(value, list):
        return ("、" if zh else "; ").join(_cell(v, zh) for v in value) or "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(rows: list[dict[str, Any]], zh: bool) -> list[str]:
    columns = [k for k in rows[0] if any(r.get(k) not in (None, "", []) for r in rows)]
    lines = [
        "| " + " | ".join(_label(c, zh) for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(_cell(r.get(c), zh) for c in columns) + " |" for r in rows]
    return lines


def plan_markdown(plan: PlanBase, language: str, validation: ValidationReport | None = None) -> str:
    zh = language == "zh"
    data = plan.model_dump()
    out = [f"# {plan.title}", ""]
    keys = [k for k in ORDER if k in data] + [k for k in data if k not in ORDER and k != "title"]
    for key in keys:
        value = data[key]
        if value in (None, [], ""):
            continue
        out.append(f"## {_label(key, zh)}")
        if key == "budget":
            out += _budget(value, zh)
        elif key == "timeline":
            out += _table(value["phases"], zh)
        elif key == "team_size_needed":
            out.append(f"{value} 人" if zh else f"{value} people")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out += _table(value, zh)
        elif isinstance(value, list):
            out += [f"- {_cell(v, zh)}" for v in value]
        else:
            out.append(str(value))
        out.append("")
    if validation is not None:
        out += validation_markdown(validation, zh)
    return "\n".join(out).rstrip() + "\n"


def _budget(budget: dict[str, Any], zh: bool) -> list[str]:
    period = {"month": ("per month", "每月"), "quarter": ("per quarter", "每季度"), "year": ("per year", "每年")}
    total = "—" if budget["total"] is None else _cell(float(budget["total"]), zh)
    head = f"{'总预算' if zh else 'Total'}: {total} {budget['currency']}"
    if budget.get("period") in period:
        head += f" ({period[budget['period']][1 if zh else 0]})"
    if budget.get("share_of_revenue_pct") is not None:
        head += f";{'占销售额' if zh else 'share of sales'} {budget['share_of_revenue_pct']:g}%"
    lines = [head, ""]
    if budget["lines"]:
        lines += _table(budget["lines"], zh)
        spent = sum(line["amount"] for line in budget["lines"])
        width = lines[2].count("|") - 1  # columns of the table just written
        lines.append(f"| **{'合计' if zh else 'Sum'}** | **{_cell(float(spent), zh)}** |" + " |" * (width - 2))
    return lines


def validation_markdown(validation: ValidationReport, zh: bool) -> list[str]:
    title = "约束检查" if zh else "Constraint checks"
    verdict = ("全部通过" if zh else "all passed") if validation.passed else ("存在未通过项" if zh else "some failed")
    lines = [f"## {title} ({verdict})"]
    lines += [f"- {'✅' if c.passed else '❌'} `{c.name}`: {c.detail}" for c in validation.checks]
    return lines
