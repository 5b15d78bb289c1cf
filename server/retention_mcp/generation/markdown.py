"""A plan as Markdown in its own language, laid out like the document its prompt asks for.

The validation status comes first (passed, failed, or unverified when nothing could be checked against the user's
constraints); then the template's sections, in the order and with the headings of its prompt (plans.SECTIONS);
then the constraints the server read with the result of each check; last, anything the model wrote that the schema
does not know. Goals are printed with their ids, lists stay lists, steps are sorted by day (T-30 before T-7), and an
A/B hypothesis (实验假设) is never called an assumption (前提假设). What the model wrote is untrusted: the title stays
on one line, and raw HTML and image syntax are shown as text (untrusted.inert_markdown), never loaded or run.
"""

from __future__ import annotations

import re
from typing import Any

from retention_mcp.constraints.kinds import checked, kinds, stated_checks
from retention_mcp.generation.plans import EXTRAS, PLAN_MODELS, PlanBase, Section, sections_for
from retention_mcp.models import Check, ConstraintFill, EffectiveConstraints, ValidationReport
from retention_mcp.untrusted import inert_markdown, one_line
from retention_mcp.vocabulary import CHANNEL_KINDS, channel_label

LABELS: dict[str, tuple[str, str]] = {
    # sections and fields
    "summary": ("Summary", "概述"),
    "goals": ("Goals", "目标"),
    "assumptions": ("Assumptions", "前提假设"),
    "constraint_check": ("How the plan respects the constraints", "方案如何满足约束"),
    "segments": ("Segments", "客群"),
    "signals": ("Signals", "信号"),
    "touchpoints": ("Lifecycle touchpoints", "生命周期触点"),
    "initiatives": ("Initiatives", "重点举措"),
    "contact_policy": ("Contact rules", "触达规则"),
    "loyalty_ideas": ("Loyalty ideas", "忠诚度思路"),
    "win_back": ("Win-back campaigns", "召回活动"),
    "offers": ("Offers", "优惠"),
    "budget": ("Budget", "预算"),
    "timeline": ("Timeline", "时间表"),
    "team": ("Roles", "角色分工"),
    "team_size_needed": ("People needed", "所需人数"),
    "kpis": ("KPIs", "KPI"),
    "ab_tests": ("A/B tests", "A/B 测试"),
    "risks": ("Risks", "风险"),
    "program_name": ("Program name", "计划名称"),
    "member_promise": ("Member promise", "会员承诺"),
    "earning_rules": ("Earning rules", "积分获取规则"),
    "tiers": ("Tiers", "会员等级"),
    "redemption": ("Redemption", "兑换"),
    "economics": ("Points economics", "积分经济模型"),
    "personalisation": ("Triggers", "触发与权益"),
    "engagement": ("Activities", "活动"),
    "partnerships": ("Partnerships", "合作"),
    "program_rules": ("Rules", "规则"),
    "migration": ("Migration steps", "迁移步骤"),
    "guardrails": ("Guardrails", "护栏"),
    "renewal_basis": ("Renewal basis", "续费率口径"),
    "messaging": ("Messaging", "沟通话术"),
    "sequence": ("Contact sequence", "触达节奏"),
    "coverage": ("Coverage model", "覆盖模型"),
    "forecast": ("Forecast", "预测"),
    "notice_checks": ("Rules to check", "需核查的规则"),
    "optimisation_rules": ("Review and budget rules", "复盘与预算调整规则"),
    "data_sources": ("Data sources", "数据来源"),
    "churn_definition": ("Churn definition", "流失定义"),
    "analysis_plan": ("Analysis plan", "分析计划"),
    "findings": ("Findings", "发现"),
    "drivers": ("Drivers", "驱动因素"),
    "risk_groups": ("High-risk groups", "高风险客群"),
    "actions": ("Actions", "行动"),
    "projection": ("Projection", "预测"),
    "open_questions": ("Open questions", "待回答的问题"),
    "stages": ("Stages", "阶段"),
    "health_score": ("Health score", "健康分"),
    "cadence": ("Cadence", "触达节奏"),
    "cancel_flow": ("Cancel flow", "取消流程"),
    "dunning": ("Failed-payment recovery", "扣款失败挽回"),
    "expansion_plays": ("Expansion paths", "增购路径"),
    "expansion_guardrails": ("Guardrails", "护栏"),
    "metrics": ("Metric definitions", "指标口径"),
    "worked_example": ("Worked example", "计算示例"),
    "operating_rhythm": ("Operating rhythm", "运营节奏"),
    "extras": ("Other content from the model", "模型补充的其他内容"),
    # columns and block lines
    "accounts_per_owner": ("Accounts per owner", "每人负责客户数"),
    "action": ("Action", "动作"),
    "amount": ("Amount", "金额"),
    "anti_fraud": ("Anti-fraud", "防刷与风控"),
    "applies_to": ("Applies to", "适用范围"),
    "arithmetic": ("Arithmetic", "算式"),
    "attendees": ("Attendees", "参与人"),
    "audience": ("Audience", "人群"),
    "automated_action": ("Automated action", "自动化动作"),
    "bands": ("Bands", "分档"),
    "baseline": ("Baseline", "基线"),
    "basis": ("Basis", "口径"),
    "behaviour": ("Behaviour rewarded", "奖励的行为"),
    "benefits": ("Benefits", "权益"),
    "breakage_pct": ("Breakage %", "沉淀率%"),
    "call_to_action": ("Call to action", "行动号召"),
    "category": ("Category", "分类"),
    "channel": ("Channel", "渠道"),
    "channels": ("Channels", "渠道"),
    "churn_rate_pct": ("Churn rate %", "流失率%"),
    "churn_reason": ("Churn reason", "流失原因"),
    "cohort": ("Cohort", "批次"),
    "components": ("Components", "维度"),
    "condition": ("Condition", "条件"),
    "confidence": ("Confidence", "可信度"),
    "consent": ("Consent", "授权"),
    "constraint": ("Constraint", "约束"),
    "contents": ("Contents", "内容"),
    "cost": ("Cost", "成本"),
    "cost_logic": ("Cost logic", "成本逻辑"),
    "cost_pct_of_sales": ("Cost % of sales", "成本占销售额%"),
    "cost_per_incremental": ("Cost per incremental result", "单个增量成本"),
    "count": ("Count", "数量"),
    "currency": ("Currency", "币种"),
    "dashboard": ("Dashboard", "看板"),
    "data_needed": ("Data needed", "所需数据"),
    "data_ref": ("Data fact", "数据事实"),
    "data_to_collect": ("Data to collect", "需补充的数据"),
    "day": ("Day", "天"),
    "deadline_day": ("Due day", "截止日"),
    "decisions": ("Decisions", "决定事项"),
    "definition": ("Definition", "定义"),
    "deliverables": ("Deliverables", "交付内容"),
    "description": ("Description", "说明"),
    "discount_pct": ("Discount %", "优惠幅度%"),
    "downgrade": ("Downgrade", "降级"),
    "driver": ("Driver", "驱动因素"),
    "earliest_signal": ("Earliest signal", "最早信号"),
    "early_sign": ("Early sign", "早期征兆"),
    "earn_rate": ("Earn rate", "获取比例"),
    "earning": ("Earning", "获取方式"),
    "effective_discount_pct": ("Effective discount %", "实际优惠幅度%"),
    "end_day": ("End day", "结束日"),
    "evidence": ("Evidence", "证据"),
    "exit_survey": ("Exit survey", "退订问卷"),
    "expected_effect": ("Expected effect", "预期效果"),
    "expected_losses": ("Expected losses", "预期流失"),
    "expiry": ("Expiry", "有效期"),
    "fields": ("Fields", "字段"),
    "fixed_costs": ("Fixed costs", "固定成本"),
    "formula": ("Formula", "公式"),
    "frequency_cap": ("Frequency cap", "频次上限"),
    "gate": ("Go/no-go", "评估标准"),
    "goal": ("Goal", "目标"),
    "goal_id": ("Goal", "对应目标"),
    "goal_ids": ("Goals", "目标"),
    "grace_days": ("Grace days", "宽限天数"),
    "group": ("Group", "客群"),
    "headcount": ("Headcount", "人数"),
    "how_respected": ("How the plan respects it", "方案如何满足"),
    "human_action": ("Human action", "人工动作"),
    "hypothesis": ("Hypothesis", "实验假设"),
    "incremental_value": ("Incremental value", "增量价值"),
    "item": ("Item", "科目"),
    "key_action": ("Key action", "关键动作"),
    "key_message": ("Key message", "核心信息"),
    "kind": ("Kind", "类别"),
    "liability": ("Points liability", "积分负债"),
    "limit": ("Limit", "上限"),
    "limits": ("Limits", "局限"),
    "main_risk": ("Main risk", "主要风险"),
    "measure": ("Measure", "计量方式"),
    "measurement": ("Measurement", "效果衡量"),
    "member_value": ("Member value", "会员价值"),
    "message": ("Message", "信息"),
    "method": ("Method", "方法"),
    "metric": ("Metric", "指标"),
    "milestone": ("Milestone", "里程碑"),
    "minimum_detectable_effect": ("Minimum detectable effect", "最小可检测效果"),
    "mitigation": ("Mitigation", "应对"),
    "moment": ("Moment", "时刻"),
    "motions": ("Motions", "动作"),
    "name": ("Name", "名称"),
    "offer": ("Offer", "权益"),
    "opt_out": ("Opt-out", "退订"),
    "output": ("Output", "产出"),
    "owner": ("Owner", "负责人"),
    "partner": ("Partner", "合作方"),
    "pause": ("Pause", "暂停"),
    "period": ("Period", "周期"),
    "phase": ("Phase", "阶段"),
    "plays": ("Plays", "动作"),
    "point_value": ("Point value", "积分价值"),
    "points_cost": ("Points", "所需积分"),
    "predicts": ("Predicts", "预示"),
    "price_effect_per_month": ("Price effect per month", "每月价格变化"),
    "purpose": ("Purpose", "用途"),
    "qualification": ("Qualification", "达成条件"),
    "question": ("Question", "问题"),
    "quiet_hours": ("Quiet hours", "免打扰时段"),
    "ratio": ("Ratio", "投入产出比"),
    "recognition": ("Recognition", "荣誉与身份"),
    "recovery_target": ("Recovery target", "挽回目标"),
    "redemption_rate_pct": ("Redemption rate %", "兑换率%"),
    "response": ("Response", "响应"),
    "responsibilities": ("Responsibilities", "职责"),
    "retention_rule": ("Retention rule", "保级规则"),
    "reward": ("Reward", "奖励"),
    "risk": ("Risk", "风险"),
    "role": ("Role", "角色"),
    "rule": ("Rule", "规则"),
    "run_days": ("Run days", "运行天数"),
    "sample": ("Sample", "示例"),
    "sample_size_per_variant": ("Sample per variant", "每组样本量"),
    "scenario": ("Scenario", "情景"),
    "segment": ("Segment", "客群"),
    "severity": ("Severity", "严重程度"),
    "share_of_churn_pct": ("Share of churn % (overlapping)", "占流失比例%(可重叠)"),
    "share_pct": ("Share %", "占比%"),
    "signal": ("Signal", "信号"),
    "size": ("Size", "规模"),
    "source": ("Source", "来源"),
    "stage": ("Stage", "阶段"),
    "start_day": ("Start day", "开始日"),
    "statement": ("Finding", "发现"),
    "step": ("Step", "步骤"),
    "steps": ("Steps", "步骤"),
    "success_metric": ("Success metric", "成功指标"),
    "target": ("Target", "目标值"),
    "target_rule": ("Target rule", "目标规则"),
    "term": ("Term", "计费周期"),
    "term_months": ("Term (months)", "合同期(月)"),
    "terms": ("Terms", "条款"),
    "threshold": ("Threshold", "阈值"),
    "trigger": ("Trigger", "触发条件"),
    "unit": ("Unit", "单位"),
    "validation": ("Validation", "校验"),
    "value": ("Value", "数值"),
    "variable_costs": ("Variable costs", "变动成本"),
    "variants": ("Variants", "实验组"),
    "versus_competitors": ("Versus competitors", "与竞品对比"),
    "we_get": ("We get", "我方收益"),
    "we_give": ("We give", "我方投入"),
    "weight_pct": ("Weight %", "权重%"),
    "why": ("Why", "理由"),
}
# Literal values shown in Chinese plans (English plans show them as written).
ENUM_ZH = {
    "high": "高", "medium": "中", "low": "低", "data": "数据", "assumption": "假设", "usage": "使用", "engagement": "活跃",
    "billing": "账单", "support": "客服", "relationship": "关系", "monthly": "月付", "annual": "年付", "all": "全部",
    "logo": "按客户数", "dollar": "按金额", "both": "客户数与金额",
}  # fmt: skip
CHANNEL_KEYS = {"channel", "channels"}
ENUM_FIELDS = {"confidence", "source", "severity", "kind", "term", "basis"}
INLINE_LISTS = {"channels", "goal_ids", "variants", "fields", "motions"}  # short names: one line, comma-separated
TITLE_KEYS = (
    "name", "segment", "churn_reason", "action", "driver", "group", "question", "statement", "step", "rule", "moment",
    "partner", "role", "signal", "reward", "category", "cadence", "scenario", "risk", "hypothesis", "metric", "source",
    "constraint", "description", "item", "stage",
)  # fmt: skip
# Lists of steps with a day: how the day reads. renewal: T-30; start: day 3 from the start; after: day 3 after.
DAY_LISTS = {"sequence": "renewal", "cadence": "renewal", "notice_checks": "renewal", "steps": "after"}
DATA_CHECKS = ("data_figures_match",)  # compare the plan with the data
PERIODS = {
    "month": ("per month", "每月"),
    "quarter": ("per quarter", "每季度"),
    "year": ("per year", "每年"),
    "total": ("for the whole plan", "整个方案"),
}


def _label(key: str, zh: bool) -> str:
    en, cn = LABELS.get(key, (key.replace("_", " ").capitalize(), key))
    return cn if zh else en


def format_number(value: float | int) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        number = int(value)
        return f"{number:,}" if abs(number) >= 1000 else str(number)
    return f"{value:g}"


def format_day(day: int, mode: str, zh: bool) -> str:
    if mode == "renewal":
        return "T" if day == 0 else f"T{day:+d}"
    if mode == "after":
        return f"第 {day} 天" if zh else f"day {day}"
    return f"第 {day} 天" if zh else f"day {day}"


def _text(value: Any, zh: bool, key: str = "") -> str:
    """One value as inline text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, list):
        return ("、" if zh else ", ").join(_text(v, zh, key) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{_label(k, zh)}: {_text(v, zh, k)}" for k, v in value.items() if not _empty(v))
    text = str(value)
    if key in CHANNEL_KEYS and text in CHANNEL_KINDS:  # a channel kind reads as its name, in the plan's language
        return channel_label(text, "zh" if zh else "en")
    if zh and key in ENUM_FIELDS:
        text = ENUM_ZH.get(text, text)
    return text.replace("\n", " ")


def _cell(value: Any, zh: bool, key: str = "") -> str:
    return _text(value, zh, key).replace("|", "\\|")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _day_mode(key: str, row: dict[str, Any], list_key: str) -> str:
    if list_key == "touchpoints":
        return "renewal" if row.get("relative_to") == "renewal" else "start"
    return DAY_LISTS.get(list_key, "start")


def _on_event(row: dict[str, Any]) -> bool:
    """A touchpoint set off by an event (trigger and offset) rather than on a day."""
    return not isinstance(row.get("day"), int) and isinstance(row.get("trigger"), str)


def format_event(row: dict[str, Any], zh: bool) -> str:
    """When an event-triggered touchpoint happens: '1 day after payment_failed', 'payment_failed 后第 1 天'."""
    trigger = _text(row["trigger"], zh).replace("|", "\\|")
    raw = row.get("offset_days")
    offset: int = raw if isinstance(raw, int) else 0
    if zh:
        return (
            f"{trigger} 当天"
            if offset == 0
            else f"{trigger} 后第 {offset} 天"
            if offset > 0
            else f"{trigger} 前 {-offset} 天"
        )
    if offset == 0:
        return f"on {trigger}"
    days = f"{abs(offset)} day{'s' if abs(offset) != 1 else ''}"
    return f"{days} after {trigger}" if offset > 0 else f"{days} before {trigger}"


def _sorted(rows: list[dict[str, Any]], list_key: str) -> list[dict[str, Any]]:
    """Steps by day (T-30 before T-7), phases and stages by their first day; everything else as written.
    Touchpoints: by day from sign-up, then those set off by an event, then those before the renewal."""
    if list_key == "touchpoints" and rows and all(isinstance(r.get("day"), int) or _on_event(r) for r in rows):

        def order(r: dict[str, Any]) -> tuple[int, int]:
            if _on_event(r):
                offset = r.get("offset_days")
                return 1, offset if isinstance(offset, int) else 0
            return (2 if r.get("relative_to") == "renewal" else 0), r["day"]

        return sorted(rows, key=order)
    if rows and all(isinstance(r.get("day"), int) for r in rows):
        if list_key == "touchpoints":
            return sorted(rows, key=lambda r: (r.get("relative_to") == "renewal", r["day"]))
        return sorted(rows, key=lambda r: r["day"])
    if rows and all(isinstance(r.get("start_day"), int) for r in rows):
        return sorted(rows, key=lambda r: (r["start_day"], r.get("end_day", 0)))
    return rows


_EVENT_KEYS = ("trigger", "offset_days")  # shown in the day column of a touchpoint set off by an event


def _columns(rows: list[dict[str, Any]], list_key: str = "") -> list[str]:
    seen: dict[str, None] = {}
    events = list_key == "touchpoints" and any(_on_event(r) for r in rows)
    for row in rows:
        for key in row:
            if events and key in _EVENT_KEYS:
                key = "day"
            if key != "relative_to" and ((key == "day" and events) or any(not _empty(r.get(key)) for r in rows)):
                seen.setdefault(key, None)
    return list(seen)


def _is_table(rows: list[dict[str, Any]], columns: list[str]) -> bool:
    """A table when every cell is one short value; otherwise a block per row, with its lists as lists."""
    for row in rows:
        for key, value in row.items():
            nested = isinstance(value, dict) or (isinstance(value, list) and key not in INLINE_LISTS)
            if nested and not _empty(value):
                return False
    return len(columns) <= 8


def _day_label(list_key: str, zh: bool) -> str:
    mode = DAY_LISTS.get(list_key, "start")
    if list_key == "touchpoints":
        return "时间" if zh else "When"
    if mode == "renewal":
        return "相对到期日(T=到期日)" if zh else "Day (T = renewal date)"
    return {"steps": ("扣款失败或流失后天数", "Days after")}.get(list_key, ("天", "Day"))[0 if zh else 1]


def _column_label(column: str, list_key: str, zh: bool) -> str:
    if column == "day":
        return _day_label(list_key, zh)
    if column == "description" and list_key == "offers":
        return "优惠" if zh else "Offer"
    return _label(column, zh)


def _rows(rows: list[dict[str, Any]], zh: bool, list_key: str, indent: str = "") -> list[str]:
    rows = _sorted(rows, list_key)
    columns = _columns(rows, list_key)
    if not columns:
        return []
    if _is_table(rows, columns) and not indent:
        head = [_column_label(c, list_key, zh) for c in columns]
        table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(columns)]
        for row in rows:
            cells = [
                format_day(row["day"], _day_mode(c, row, list_key), zh)
                if c == "day" and isinstance(row.get("day"), int)
                else format_event(row, zh)
                if c == "day" and _on_event(row)
                else _cell(row.get(c), zh, c)
                for c in columns
            ]
            table.append("| " + " | ".join(cells) + " |")
        return table
    lines: list[str] = []
    for row in rows:
        lines += _block(row, zh, list_key, indent)
    return lines


def _block(row: dict[str, Any], zh: bool, list_key: str, indent: str = "") -> list[str]:
    """One row as a titled block: its title in bold, then one line per field, lists as nested lists."""
    title_key = next((k for k in TITLE_KEYS if isinstance(row.get(k), str) and row.get(k)), None)
    head = []
    if "start_day" in row and "end_day" in row:
        days = f"{row['start_day']}–{row['end_day']}"
        head.append(f"第 {days} 天" if zh else f"Day {days}")
    shown = {title_key, "start_day", "end_day", "day", "relative_to"}
    if isinstance(row.get("day"), int):
        head.append(format_day(row["day"], _day_mode("day", row, list_key), zh))
    elif list_key == "touchpoints" and _on_event(row):
        head.append(format_event(row, zh))
        shown |= set(_EVENT_KEYS)
    if title_key:
        head.append(_text(row[title_key], zh))
    lines: list[str] = []
    if indent:
        lines.append(
            f"{indent}- "
            + " · ".join(head + [_text(v, zh, k) for k, v in row.items() if k not in shown and not _empty(v)])
        )
        return lines
    lines.append(f"**{' · '.join(head) or '—'}**")
    lines += _fields(row, zh, skip=shown)
    lines.append("")
    return lines


def _fields(
    data: dict[str, Any], zh: bool, skip: set[Any] | frozenset[Any] = frozenset(), indent: str = ""
) -> list[str]:
    """Key-value lines; lists as nested lists, parts of the part as nested blocks."""
    colon = ":" if zh else ": "
    lines: list[str] = []
    for key, value in data.items():
        if key in skip or _empty(value):
            continue
        label = _label(key, zh)
        if isinstance(value, list) and key not in INLINE_LISTS:
            lines.append(f"{indent}- {label}{colon}".rstrip())
            if all(isinstance(v, dict) for v in value):
                lines += _rows(value, zh, key, indent + "  ")
            else:
                lines += [f"{indent}  - {_text(v, zh)}" for v in value]
        elif isinstance(value, dict):
            lines.append(f"{indent}- {label}{colon}".rstrip())
            lines += _fields(value, zh, indent=indent + "  ")
        else:
            lines.append(f"{indent}- {label}{colon}{_text(value, zh, key)}")
    return lines


# -- sections -----------------------------------------------------------------------------------------------------------
def _field(key: str, value: Any, zh: bool, level: int, alone: bool, stated: EffectiveConstraints | None) -> list[str]:
    """One plan field under its section. `alone`: the only field there, so it needs no heading of its own."""
    colon = ":" if zh else ": "
    if key == "goals":
        return _goals(value, zh, level, stated)
    if _empty(value):
        return []
    heading = [] if alone else [f"{'#' * level} {_label(key, zh)}", ""]
    if key == "summary":
        return [str(value), ""]
    if key == "team_size_needed":
        return [f"**{_label(key, zh)}**{colon}{value}{' 人' if zh else ' people'}", ""]
    if isinstance(value, str | int | float):
        return [f"**{_label(key, zh)}**{colon}{_text(value, zh, key)}", ""]
    if key == "budget":
        return heading + _budget(value, zh) + [""]
    if key == "timeline":
        return heading + _rows(value["phases"], zh, "phases") + [""]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return heading + _rows(value, zh, key) + [""]
    if isinstance(value, list):
        return heading + [f"- {_text(v, zh)}" for v in value] + [""]
    if isinstance(value, dict):
        tables = {k: v for k, v in value.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)}
        flat = {k: v for k, v in value.items() if k not in tables}
        lines = heading + _fields(flat, zh) + [""]
        for sub, rows in tables.items():  # steps of a cancel flow, components of a health score...
            lines += [f"**{_label(sub, zh)}**", "", *_rows(rows, zh, sub), ""]
        return lines
    return [*heading, _text(value, zh), ""]


def _one_line(text: str) -> str:
    """The user's words on one line, without control characters: a line break in a stated goal must not start a
    heading or a list item of its own, and the Markdown goes to terminals too."""
    return " ".join(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text).split())


def _goals(goals: list[dict[str, Any]], zh: bool, level: int, stated: EffectiveConstraints | None) -> list[str]:
    lines = [f"**{_label('goals', zh)}**", ""]
    if goals:
        lines += [f"- **{g['id']}** {g['text']}" for g in goals]
    elif stated is not None and stated.goals:
        lines += [f"- **{g.id}** {_one_line(g.text)}" for g in stated.goals]
        lines.append("")
        lines.append("(目标编号与原文取自资料。)" if zh else "(Goal ids and wording as read from the facts.)")
    else:
        return []
    return [*lines, ""]


def _section(section: Section, data: dict[str, Any], zh: bool, stated: EffectiveConstraints | None) -> list[str]:
    body: list[str] = []
    fields = [f for f in section.fields if f in data]
    for key in fields:
        body += _field(key, data[key], zh, 3, len(fields) == 1, stated)
    for part in section.parts:
        part_fields = [f for f in part.fields if f in data]
        part_body: list[str] = []
        for key in part_fields:
            part_body += _field(key, data[key], zh, 4, len(part_fields) == 1, stated)
        if part_body:
            body += [f"### {part.heading('zh' if zh else 'en')}", "", *part_body]
    return ([f"## {section.heading('zh' if zh else 'en')}", "", *body]) if body else []


def plan_markdown(
    plan: PlanBase,
    language: str,
    validation: ValidationReport | None = None,
    constraints: EffectiveConstraints | None = None,
    fill: ConstraintFill | None = None,
) -> str:
    zh = language == "zh"
    data = plan.model_dump()
    template = next((name for name, model in PLAN_MODELS.items() if type(plan) is model), "")
    out = [f"# {one_line(plan.title)}", ""]  # a line break in the title must not write a status line of its own
    if validation is not None:
        out += [status_line(validation, constraints, zh), ""]
    sections = sections_for(template) or tuple(
        Section(_label(k, False), _label(k, True), (k,)) for k in data if k not in ("title", EXTRAS)
    )
    for section in sections:
        out += _section(section, data, zh, constraints)
    placed = {f for s in sections for f in s.all_fields()} | {"title", EXTRAS}
    rest = {k: v for k, v in data.items() if k not in placed and not _empty(v)}
    for key, value in rest.items():  # a field a section table does not place (GenericPlan subclasses...)
        out += [f"## {_label(key, zh)}", "", *_field(key, value, zh, 3, True, constraints)]
    if validation is not None:
        out += validation_markdown(validation, zh, constraints)
    if constraints is not None:
        out += provenance_markdown(constraints, fill, zh)
    if data.get(EXTRAS):
        out += ["", f"## {_label(EXTRAS, zh)}", ""]
        out.append(
            "以下内容不在方案格式之内,按模型原文保留:"
            if zh
            else "Not part of the plan format; kept as the model wrote it:"
        )
        out.append("")
        for key, value in data[EXTRAS].items():
            if isinstance(value, dict):
                out += [f"- **{key}**", *_fields(value, zh, indent="  ")]
            elif isinstance(value, list):
                out += [f"- **{key}**"] + [f"  - {_text(v, zh)}" for v in value]
            else:
                out.append(f"- **{key}**: {_text(value, zh)}")
    text = "\n".join(out).rstrip() + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return inert_markdown(text)  # other tokens read it: what the model wrote loads and runs nothing


def _budget(budget: dict[str, Any], zh: bool) -> list[str]:
    total = "—" if budget["total"] is None else format_number(budget["total"])
    head = f"**{'总预算' if zh else 'Total'}**{':' if zh else ': '}{total} {budget['currency']}"
    if budget.get("period") in PERIODS:
        head += f"({PERIODS[budget['period']][1]})" if zh else f" ({PERIODS[budget['period']][0]})"
    if budget.get("share_of_revenue_pct") is not None:
        share = format_number(budget["share_of_revenue_pct"])
        head += f";占销售额 {share}%" if zh else f"; {share}% of sales"
    lines = [head, ""]
    if budget["lines"]:
        rows = [{k: v for k, v in line.items()} for line in budget["lines"]]
        table = _rows(rows, zh, "lines")
        lines += table
        spent = sum(line["amount"] for line in budget["lines"])
        width = table[0].count("|") - 1
        lines.append(f"| **{'合计' if zh else 'Sum'}** | **{format_number(spent)}** |" + " |" * (width - 2))
    extra = {
        k: v for k, v in budget.items() if k not in ("total", "currency", "period", "share_of_revenue_pct", "lines")
    }
    roi = extra.pop("roi", None)
    if roi:
        lines += ["", f"**{'投入产出' if zh else 'Return on the budget'}**"]
        lines += _fields(roi, zh)
    if any(not _empty(v) for v in extra.values()):
        lines += ["", *_fields(extra, zh)]
    return lines


# -- validation ---------------------------------------------------------------------------------------------------------
def validation_status(validation: ValidationReport, constraints: EffectiveConstraints | None = None) -> str:
    """passed, failed, or unverified: no check compared the plan with anything the user stated or the data gave."""
    status = getattr(validation, "status", None)
    if status in ("passed", "failed", "unverified"):
        return status
    if any(not c.passed for c in validation.checks):
        return "failed"
    against = stated_checks() | set(DATA_CHECKS)
    if not any(c.name in against for c in validation.checks):
        return "unverified"
    return "passed"


def _stated_rows(constraints: EffectiveConstraints, zh: bool) -> list[tuple[str, str, str]]:
    """(field, label, stated value) for every constraint kind, stated or not; the caps per customer only when stated."""
    none = "未声明" if zh else "none stated"
    rows = []
    for kind in kinds():
        if kind.label is None or kind.row is None:
            continue
        value = kind.row(constraints, zh)
        if value is None and not kind.always:
            continue
        rows.append((kind.field, kind.label[1 if zh else 0], value if value is not None else none))
    return rows


ICONS = {"passed": "✅", "failed": "❌", "unverified": "⚠️"}


def _status(check: Check) -> str:
    return getattr(check, "status", None) or ("passed" if check.passed else "failed")


def status_line(validation: ValidationReport, constraints: EffectiveConstraints | None, zh: bool) -> str:
    status = validation_status(validation, constraints)
    total = len(validation.checks)
    failed = [c.name for c in validation.checks if _status(c) == "failed"]
    open_checks = [c.name for c in validation.checks if _status(c) == "unverified"]
    sep = "、" if zh else ", "
    if status == "failed":
        names = ", ".join(f"`{n}`" for n in failed)
        text = (
            f"**校验结果:未通过** —— {total} 项检查中有 {len(failed)} 项未通过:{names}。"
            if zh
            else f"**Validation: failed** — {len(failed)} of {total} checks failed: {names}."
        )
    elif status == "unverified":
        reasons: list[str] = []
        if open_checks:
            names = ", ".join(f"`{n}`" for n in open_checks)
            reasons.append(
                f"{len(open_checks)} 项检查无法完成({names})"
                if zh
                else f"{len(open_checks)} check(s) could not be carried out ({names})"
            )
        unread = constraints.unread if constraints is not None else []
        if unread:
            reasons.append(
                f"资料中有 {len(unread)} 处约束未能识别"
                if zh
                else f"{len(unread)} span(s) of the constraint text could not be read"
            )
        stated = stated_checks() | set(DATA_CHECKS)
        if not any(c.name in stated for c in validation.checks):
            reasons.append(
                "资料中没有读到可检查的约束(预算、折扣上限、时间范围、团队、渠道、目标),只核对了方案自身的算术"
                if zh
                else "no constraint (budget, discount cap, horizon, team, channels, goals) was stated or read, so "
                "only the plan's own arithmetic was checked"
            )
        if not reasons and validation.to_fill:
            reasons.append("部分约束无法核验" if zh else "some constraints could not be checked")
        fill = (
            (
                "请补充下方「需补充的约束」中的各项,才能逐条检查。"
                if zh
                else " Fill in what is listed under 'To fill in' below to have everything checked."
            )
            if validation.to_fill
            else ""
        )
        text = (
            f"**校验结果:未核验** —— 没有检查未通过,但并非全部可以核验:{';'.join(reasons)}。{fill}"
            if zh
            else f"**Validation: unverified** — no check failed, but not everything could be checked: "
            f"{'; '.join(reasons)}.{fill}"
        )
    else:
        text = (
            f"**校验结果:通过** —— {total} 项检查全部通过。"
            if zh
            else f"**Validation: passed** — all {total} checks passed."
        )
    unchecked = _unchecked(validation, constraints, zh)
    if unchecked:
        text += (" 未检查:" if zh else " Not checked: ") + sep.join(unchecked) + ("。" if zh else ".")
    return "> " + text


def _unchecked(validation: ValidationReport, constraints: EffectiveConstraints | None, zh: bool) -> list[str]:
    if constraints is None:
        return []
    names = {c.name for c in validation.checks}
    rows = _stated_rows(constraints, zh)
    none = "未声明" if zh else "none stated"
    return [f"{label} {value}" for key, label, value in rows if value != none and not names & checked(key)]


def validation_markdown(
    validation: ValidationReport, zh: bool, constraints: EffectiveConstraints | None = None
) -> list[str]:
    title = "服务器校验" if zh else "Checks by the server"
    lines = [f"## {title}", ""]
    if constraints is not None:
        by_name = {c.name: c for c in validation.checks}
        none = "未声明" if zh else "none stated"
        head = ("约束", "资料中的值", "结果") if zh else ("Constraint", "Stated", "Result")
        lines += [f"| {head[0]} | {head[1]} | {head[2]} |", "|---|---|---|"]
        for key, label, value in _stated_rows(constraints, zh):
            statuses = {_status(by_name[n]) for n in checked(key) if n in by_name}
            if value == none:
                result = "—"
            elif not statuses:
                result = "未检查" if zh else "not checked"
            elif "failed" in statuses:
                result = ICONS["failed"]
            elif "unverified" in statuses:
                result = f"{ICONS['unverified']} " + ("未核验" if zh else "unverified")
            else:
                result = ICONS["passed"]
            lines.append(f"| {label} | {_cell(value + _model_read(constraints, key, zh), zh)} | {result} |")
        lines.append("")
    lines += [f"- {ICONS[_status(c)]} `{c.name}`: {c.detail}" for c in validation.checks]
    if validation.to_fill:
        lines += ["", f"### {'需补充的约束' if zh else 'To fill in'}", ""]
        lines.append(
            "以下内容服务器未能核验;把它们填入类型化参数(constraints、goals)后重新生成即可逐条检查:"
            if zh
            else "The server could not check these; give them as typed parameters (constraints, goals) and "
            "generate again to have them checked:"
        )
        lines.append("")
        lines += [f"- {line}" for line in validation.to_fill]
    return lines


def _model_read(constraints: EffectiveConstraints, key: str, zh: bool) -> str:
    """For a value the model read out of the brief: the words it stands on, so it never reads as the user's own."""
    if constraints.sources.get(key) != "model":
        return ""
    where = constraints.read_from.get(key)
    if where is None:
        return "(由模型读出)" if zh else " (read by the model)"
    quote = f"「{where.text}」" if zh else f"«{where.text}»"
    return f"(由模型读自:{quote})" if zh else f" (read by the model from: {quote})"


_SOURCE_LABELS = {
    "typed": ("typed by the user", "用户以参数给出"),
    "text": ("read from the facts", "从资料中读出"),
    "model": ("extracted by the model", "由模型提取"),
}
_FILL_OUTCOMES = {
    "filled": ("filled in", "已补充"),
    "nothing_found": ("nothing found", "未找到"),
    "declined": ("declined", "用户拒绝"),
    "cancelled": ("cancelled", "用户取消"),
    "failed": ("failed", "失败"),
}


def provenance_markdown(constraints: EffectiveConstraints, fill: ConstraintFill | None, zh: bool) -> list[str]:
    """Where each constraint came from, typed values that disagree with the text, and how missing ones were filled."""
    by_source: dict[str, list[str]] = {}
    for key, source in constraints.sources.items():
        by_source.setdefault(source, []).append(f"`{key}`")
    lines: list[str] = []
    if by_source:
        lines.append("**约束来源**:" if zh else "**Where the constraints came from**: ")
        sep = "、" if zh else ", "
        lines[-1] += (";" if zh else "; ").join(
            f"{_SOURCE_LABELS[src][1 if zh else 0]}:{sep.join(keys)}"
            if zh
            else f"{_SOURCE_LABELS[src][0]}: {sep.join(keys)}"
            for src, keys in by_source.items()
        )
    for c in constraints.conflicts:
        lines.append(
            f"- `{c.field}`:采用参数值 {c.typed},资料中写的是 {c.text}"
            if zh
            else f"- `{c.field}`: the typed value {c.typed} is used; the facts say {c.text}"
        )
    if fill is not None:
        method = ("表单询问" if fill.method == "elicitation" else "模型提取") if zh else fill.method
        outcome = _FILL_OUTCOMES[fill.outcome][1 if zh else 0]
        fields = ("、" if zh else ", ").join(f"`{f}`" for f in fill.fields)
        lines.append(
            f"- 缺失约束的补充({method}):{outcome}" + (f":{fields}" if fields else "")
            if zh
            else f"- Missing constraints ({method}): {outcome}" + (f": {fields}" if fields else "")
        )
    return ["", *lines] if lines else []
