"""The plan's horizon."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.kind import Kind, Subject, mark
from retention_mcp.constraints.lexicon import (
    COUNT,
    GOAL_VERB,
    N_EN,
    UNIT_EN,
    UNIT_ZH_STRICT,
    duration_unit,
    parse_number,
    rx,
    to_days,
)
from retention_mcp.constraints.record import Constraints
from retention_mcp.constraints.text import Hit, Span, clause, overlaps, subclause

_I = re.IGNORECASE
# -- horizon ----------------------------------------------------------------------------------------------------------
_UNIT_ZH = r"个?月|天|日|周|个?星期|个?季度|年"
METRIC_AFTER = re.compile(
    r"\s*(?:的)?\s*(?:内的?)?\s*(?:流失|留存|复购|转化|活跃|回购|续费率|续订率|召回|retention|churn|conversion|active|repeat|"
    r"renewal rate|ltv|payback|trial|试用|免费|free)",
    _I,
)
_PROJECTION = r"预测|预估|展望|规划|计划|project(?:ing|ion|ed)?|forecast(?:ing)?|plan(?:ning)?(?: for)?|outlook|target"
_DATA_WORD = (  # English words whole: "logo churn" is no log, "recovers" no cover
    r"数据|订单|记录|历史|样本|交易|日志|导出|覆盖|观察期|统计|\b(?:data|orders?|records|history|historical|sample|"
    r"transactions|logs?|export(?:ed)?|covers?|observed|observation|collected|span(?:s|ning)?)\b"
)
# the stems of the words above, for a substring test before the pattern (most inputs name none of them)
_DATA_STEMS = ("数据", "订单", "记录", "历史", "样本", "交易", "日志", "导出", "覆盖", "观察期", "统计", "data", "order", "record",
               "histor", "sample", "transaction", "log", "export", "cover", "observ", "collected", "span")  # fmt: skip
_QUARTER_NO = {"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4}


_WINDOW_PATTERNS = [
    rf"\b(?:the\s+)?(?:last|past|previous|prior|trailing|preceding|historical)\s+(?:{N_EN}\s+)?(?:{UNIT_EN})\b",
    rf"(?:过去|近|最近|以往|历史|前)\s*(?:{COUNT})?\s*(?:{_UNIT_ZH})",
    rf"{N_EN}\s+(?:{UNIT_EN})\s+(?:of|worth of)\s+(?:data|history|orders|transactions|usage|records|logs|events)",
    rf"(?:{COUNT})\s*(?:{UNIT_ZH_STRICT})\s*(?:的)?(?:数据|订单|记录|历史|交易|日志|样本)",
]
_WINDOW_TRIGGERS = [("last", "past", "previous", "prior", "trailing", "preceding", "historical"),
            ("过去", "近", "以往", "历史", "前"), (" of ",), ("数据", "订单", "记录", "历史", "交易", "日志", "样本")]  # fmt: skip
# Before the full pattern, a cheaper one for its rarest part, where its trigger words are common ones: a pattern
# that starts with a number of any spelling is tried at every character; the unit and the word after it are not.
_WINDOW_GATES = [
    None,
    None,
    rx(rf"(?:{UNIT_EN})\s+(?:of|worth of)\s+(?:data|history|orders|transactions|usage|records|logs|events)"),
    rx(rf"(?:{UNIT_ZH_STRICT})\s*(?:的)?(?:数据|订单|记录|历史|交易|日志|样本)"),
]
_WINDOWS = [(rx(p), w, gate) for p, w, gate in zip(_WINDOW_PATTERNS, _WINDOW_TRIGGERS, _WINDOW_GATES, strict=True)]
_DATA_WORD_RE = rx(_DATA_WORD)
_PROJECTION_RE = rx(_PROJECTION)


@lru_cache(maxsize=256)
def data_windows(text: str) -> tuple[Span, ...]:
    """Spans that describe the data, not the plan: 'last 12 months of data', '过去12个月', 'data covers Q1-Q2 2024'."""
    low = text.lower()
    spans = [
        (m.start(), m.end())
        for pattern, words, gate in _WINDOWS
        if any(w in low for w in words) and (gate is None or gate.search(text))
        for m in pattern.finditer(text)
    ]
    for match in _DATA_WORD_RE.finditer(text) if any(map(low.__contains__, _DATA_STEMS)) else ():
        # a whole sub-clause about the data: "数据为2025年7-12月"
        s, e = subclause(text, match.start(), match.end())
        if not _PROJECTION_RE.search(text[s:e]):
            spans.append((s, e))
    return tuple(spans)


# The patterns of horizon_hits, compiled once, each with the words it needs (skipped outright without them).
_GATE = rx(
    r"[天日周月季年]|day|week|wk|mo|quarter|year|yr|q\s*[1-4]|half|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
)
_COUNTED_PATTERNS = [
    rf"(?:未来|为期|周期为?|计划期为?|接下来(?:的)?|今后|往后|之后的|时间范围为?|时长)\s*[:：]?\s*(?P<n>{COUNT})\s*(?P<u>{_UNIT_ZH})",
    rf"(?<![后起前第])(?P<n>{COUNT})\s*(?P<u>{UNIT_ZH_STRICT})\s*(?:内|之内|以内|期间|计划|方案|周期|冲刺|项目|时间)",
    rf"分\s*(?P<n>{COUNT})\s*(?P<u>个月|个?季度|周|年)(?:使用|执行|投放|推进|完成|落地|进行)",
    rf"\b(?:within|(?:in|over|for|during|across)\s+the\s+(?:next|coming|following)|(?:the\s+)?next|the\s+coming|"
    rf"for\s+(?:the\s+)?next)\s+(?P<n>{N_EN})\s+(?P<u>{UNIT_EN})\b(?!\s+(?:of|after|from|since)\b)",
    rf"(?P<n>{N_EN})[- ](?P<u>day|week|month|quarter|year)(?:s?-long)?\s+(?:plan|campaign|program(?:me)?|horizon|window|"
    r"push|sprint|pilot|initiative|effort|roadmap|project|timeline|run|engagement|period)",
    rf"(?:horizon|timeline|timeframe|time frame|duration)\s*(?:of|is|:|-)?\s*(?:about\s+|roughly\s+)?(?P<n>{N_EN})\s+(?P<u>{UNIT_EN})\b",
]
_COUNTED_TRIGGERS = [
    ("未来", "为期", "周期", "计划期", "接下来", "今后", "往后", "之后", "时间范围", "时长"),
    ("内", "期间", "计划", "方案", "周期", "冲刺", "项目", "时间"),
    ("分",),
    ("within", "next", "coming"),
    ("plan", "campaign", "program", "horizon", "window", "push", "sprint", "pilot", "initiative", "effort",
     "roadmap", "project", "timeline", "run", "engagement", "period"),
    ("horizon", "timeline", "timeframe", "time frame", "duration"),
]  # fmt: skip
_COUNTED_GATES = [
    None,
    rx(rf"(?:{UNIT_ZH_STRICT})\s*(?:内|之内|以内|期间|计划|方案|周期|冲刺|项目|时间)"),
    None,
    None,
    rx(
        r"(?:day|week|month|quarter|year)(?:s?-long)?\s+(?:plan|campaign|program(?:me)?|horizon|window|push|sprint|"
        r"pilot|initiative|effort|roadmap|project|timeline|run|engagement|period)"
    ),
    None,
]
_COUNTED = [(rx(p), w, gate) for p, w, gate in zip(_COUNTED_PATTERNS, _COUNTED_TRIGGERS, _COUNTED_GATES, strict=True)]
_OVER = rx(rf"\bover\s+(?P<n>{N_EN})\s+(?P<u>{UNIT_EN})\b")
_OVER_TREND = rx(r"[%％]|down|up|drop|declin|fall|rise|grow|usage|churn|retention")
_EXACT_PATTERNS = [
    (r"未来半年|接下来(?:的)?半年|半年内|半年之内|下半年|(?:the\s+)?(?:coming|next)\s+half[- ]year|"
     r"(?:within|over|in|for)\s+(?:the\s+next\s+)?half a year|second half of the year", 182, ("半年", "half")),
    (r"一年内|未来一年|接下来(?:的)?一年|(?:within|over|in|for)\s+(?:the\s+next\s+|the\s+coming\s+)(?:year|12 months)|"
     r"within (?:a|one) year|the coming year|next twelve months", 365, ("一年", "year", "twelve")),
    (r"本季度|下季度|下个季度|下一季度|这个季度|(?:this|next|the coming|the next) quarter|"
     r"(?:within|for|over) (?:a|one|the) quarter", 91, ("季度", "quarter")),
    (r"下个月|下一个月|本月内|(?:within|for|over) (?:a|one|the (?:next|coming)) month|(?:next|the coming) month", 30,
     ("月", "month")),
]  # fmt: skip
_EXACT = [(rx(p), days, w) for p, days, w in _EXACT_PATTERNS]
_Q = r"(?:Q\s*(?P<{0}>[1-4])|第\s*(?P<{0}z>[一二三四1-4])\s*(?:季度)?|(?P<{0}c>[一二三四])(?=\s*(?:、|和|与|至|到|-|–)?\s*[一二三四]?\s*季度))"
_Q_RANGE = rx(rf"{_Q.format('a')}\s*(?:-|–|—|~|～|至|到|to|through|、|和|与|and|&|/)\s*{_Q.format('b')}\s*(?:季度)?")
_QUARTER_PAT = (
    r"(?:(?<![A-Za-z0-9])Q[1-4](?![0-9])|第[一二三四1-4]季度)(?!\s*(?:-|–|至|到|、|和|to|through)\s*(?:Q|第))"
)
_QUARTER = rx(_QUARTER_PAT)
_SINGLE = rx(rf"(?:{_PROJECTION})\s*[^,，;；。\n]{{0,10}}?{_QUARTER_PAT}")
_LIMITED = rx(
    rf"\b(?:for|max(?:imum)?|at most|up to|no (?:more|longer) than|最多|最长|不超过)\s*(?P<n>{COUNT})\s*(?P<u>{UNIT_ZH_STRICT}|(?:{UNIT_EN})\b)"
)
_BARE = rx(rf"(?<![第\d.])(?P<n>{COUNT})\s*(?P<u>{UNIT_ZH_STRICT}|{UNIT_EN})\b|(?P<half>半年|half[- ]year|six months)")
_YEAR = re.compile(r"(?:19|20)\d\d")


def horizon_hits(text: str, timeline: bool, bearing: bool = False, plan_timeline: bool = False) -> list[Hit]:
    """Horizons stated in one input. `timeline`: the input holds the timeline, so a bare duration is one too;
    `bearing`: the input holds constraints, so 'for 6 months' and 'max 3 months' are the plan's too; `plan_timeline`:
    it is the plan's own timeline (not a data window), so a range of months is the plan's."""
    found: list[Hit] = []
    if not _GATE.search(text):
        return found

    low = text.lower()

    def add(days: int, match: re.Match[str]) -> None:
        if days > 0:
            found.append(Hit(days, match.start(), match.end()))

    def scan(pattern: re.Pattern[str], *triggers: str) -> Iterable[re.Match[str]]:
        """The matches of a pattern, skipped outright when none of the words it needs is in the text."""
        return pattern.finditer(text) if any(map(low.__contains__, triggers)) else ()

    for pattern, words, gate in _COUNTED:
        if gate is not None and not gate.search(text):
            continue
        for match in scan(pattern, *words):
            if METRIC_AFTER.match(text, match.end()) and not _goal_within(text, match):
                continue  # "90-day retention", "90天内流失率是整体的2.1倍": a metric's window
            add(to_days(parse_number(match["n"]), duration_unit(match["u"])), match)
    for match in scan(_OVER, "over"):  # "over 6 months"
        s, _ = subclause(text, match.start(), match.end())
        if not _OVER_TREND.search(text, s, match.start()):
            add(to_days(parse_number(match["n"]), duration_unit(match["u"])), match)
    for pattern, days, words in _EXACT:
        for match in scan(pattern, *words):
            add(days, match)
    for match in scan(_Q_RANGE, "q", "季度"):
        if _about_data(text, match):
            continue
        a = _QUARTER_NO[match["a"] or match["az"] or match["ac"]]
        b = _QUARTER_NO[match["b"] or match["bz"] or match["bc"]]
        if b >= a:
            add(to_days(b - a + 1, "quarter"), match)
    for match in scan(_SINGLE if not timeline else _QUARTER, "q", "季度"):  # "计划Q4执行"; in a timeline: "Q4 2026"
        if not _about_data(text, match) and not overlaps([(h.start, h.end) for h in found], match.start(), match.end()):
            add(91, match)
    if bearing or timeline:
        for match in scan(_MONTH_RANGE_ZH_RE, "月") if _MONTH_RANGE_END.search(text) else ():
            _month_range(text, match, add, plan_timeline)
        for match in scan(_MONTH_RANGE_EN_RE, *_MONTHS):
            _month_range(text, match, add, plan_timeline)
        for match in scan(_LIMITED, "for", "max", "most", "up to", "no ", "最多", "最长", "不超过"):
            if not METRIC_AFTER.match(text, match.end()) and not _YEAR.fullmatch(match["n"]):
                add(to_days(parse_number(match["n"]), duration_unit(match["u"])), match)
    if timeline:
        for match in _BARE.finditer(text):
            if match["half"]:
                add(182, match)
            elif not _YEAR.fullmatch(match["n"] or "") and not METRIC_AFTER.match(text, match.end()):
                add(to_days(parse_number(match["n"]), duration_unit(match["u"])), match)
    windows = data_windows(text)
    return [h for h in found if not overlaps(windows, h.start, h.end)]


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_RANGE_ZH = r"(?:(?P<y1>\d{4})\s*年\s*)?(?<!\d)(?P<m1>\d{1,2})\s*月?\s*(?:至|到|-|~|～|–)\s*(?:(?P<y2>\d{4})\s*年\s*)?(?P<m2>\d{1,2})\s*月"
_MONTH_RANGE_EN = (
    rf"\b(?P<n1>{'|'.join(_MONTHS)})[a-z]*\.?(?:\s+(?P<y1>\d{{4}}))?\s*(?:to|through|until|till|-|–|—)\s*"
    rf"(?P<n2>{'|'.join(_MONTHS)})[a-z]*\.?(?:\s+(?P<y2>\d{{4}}))?\b"
)
_MONTH_RANGE_ZH_RE = rx(_MONTH_RANGE_ZH)
_MONTH_RANGE_END = re.compile(r"(?:至|到|-|~|～|–)\s*(?:\d{4}\s*年\s*)?\d{1,2}\s*月")  # its rare part, first
_MONTH_RANGE_EN_RE = rx(_MONTH_RANGE_EN)
_PLAN_WORD = (
    r"执行|开展|进行|上线|推进|活动|投放|计划|项目|促销|运营期|campaign|\brun|plan|launch|program|execut|roll(?:ing)? out|"
    r"pilot|deliver"
)


def _month_range(text: str, match: re.Match[str], add: Callable[[int, re.Match[str]], None], plan: bool) -> None:
    """'2026年7月至12月执行', 'run the campaign from July to December': months of a plan (never of the data). `plan`:
    the input is the plan's timeline, so no plan word is needed ('July–December 2026')."""
    s, e = subclause(text, match.start(), match.end())
    if _about_data(text, match) or not (plan or rx(_PLAN_WORD).search(text[s:e])):
        return
    if match.groupdict().get("n1"):
        m1, m2 = _MONTHS.index(match["n1"][:3].lower()) + 1, _MONTHS.index(match["n2"][:3].lower()) + 1
    else:
        m1, m2 = int(match["m1"]), int(match["m2"])
    if not (1 <= m1 <= 12 and 1 <= m2 <= 12):
        return
    years = int(match["y2"]) - int(match["y1"]) if match["y1"] and match["y2"] else 0
    months = years * 12 + m2 - m1 + 1
    if years == 0 and m2 < m1:  # "Nov to Feb"
        months += 12
    if 0 < months <= 36:
        add(to_days(months, "month"), match)


def _goal_within(text: str, match: re.Match[str]) -> bool:
    """'12个月内复购率提升': a deadline for a goal on a metric, not the metric's own window."""
    _, e = clause(text, match.start(), match.end())
    return bool(re.search(r"内|within|in the next", match.group(0), _I)) and bool(
        re.search(GOAL_VERB, text[match.end() : e], _I)
    )


def _about_data(text: str, match: re.Match[str]) -> bool:
    """A date range in a sub-clause about the data ('data covers Q1-Q2 2024') with no projection word before it."""
    s, _ = subclause(text, match.start(), match.end())
    before = text[s : match.start()]
    return bool(rx(_DATA_WORD).search(before)) and not rx(_PROJECTION).search(before)


def read_horizon(text: str, bare: bool = False) -> int | None:
    """The longest horizon stated: '90天内' -> 90; 'within two quarters' -> 182; 'the coming half-year' -> 182.

    `bare` also reads a duration with no 'within' around it ('90天', '6 weeks'): for fields that hold the timeline.
    A data window ('last 12 months of data') or a metric window ('90-day retention') is never a horizon.
    """
    hits = horizon_hits(text, bare)
    return max(h.value for h in hits) if hits else None


# -- timeline ----------------------------------------------------------------------------------------------------------
def check(subject: Subject, c: Constraints, checks: CheckList) -> None:
    """Phases in order (the plan's own arithmetic); every phase and KPI deadline within the horizon."""
    plan = subject.plan
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


def line(c: Constraints, zh: bool) -> str | None:
    days = c.horizon_days
    if days is None:
        return None
    text = (
        f"{days} 天(第 0 天至第 {days} 天),全部阶段与 KPI 截止日在此之内"
        if zh
        else f"{days} days (day 0 to day {days}); every phase and KPI deadline falls within it"
    )
    return ("- 时间范围:" if zh else "- Horizon: ") + mark(c, "horizon_days", text, zh)


def row(effective: Any, zh: bool) -> str | None:
    days = effective.horizon_days
    return None if days is None else (f"{days} 天" if zh else f"{days} days")


KIND = Kind(
    field="horizon_days",
    name=("horizon", "时间范围"),
    checks=frozenset({"timeline_within_horizon", "kpi_deadlines_within_horizon"}),
    check=check,
    line=line,
    label=("Horizon", "时间范围"),
    row=row,
    ask="horizon",
)


def start_line(c: Constraints, zh: bool) -> str | None:
    if c.start_date is None:
        return None
    return f"- 开始日期:{c.start_date.isoformat()}" if zh else f"- Start date: {c.start_date.isoformat()}"


# The start date is no limit of its own: it turns a calendar deadline ("by the end of Q3") into a horizon, so the
# horizon's checks are the ones that read it (day 0 of the plan).
START_DATE = Kind(field="start_date", name=("start date", "开始日期"), line=start_line, via="horizon_days")
