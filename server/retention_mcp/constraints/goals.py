"""Goals and their targets, read from the goal input; a plan covers each goal with a KPI.

Stated goals against a plan's KPIs: each goal covered by its own KPI.
"""

from __future__ import annotations

import re
from typing import Any

from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.kind import Kind, Subject
from retention_mcp.constraints.lexicon import (
    COUNT,
    EN_WORD,
    GOAL_VERB,
    NUM,
    UNIT_EN,
    UNIT_ZH_STRICT,
    duration_unit,
    parse_number,
    rx,
    to_days,
)
from retention_mcp.constraints.record import Constraints, Goal
from retention_mcp.constraints.text import one_line
from retention_mcp.constraints.typed import MAX_GOALS

_I = re.IGNORECASE
# -- goals ------------------------------------------------------------------------------------------------------------
_GOAL_HEADER = re.compile(
    rf"^\s*(?:(?P<en>(?:within|in|over|by)\s+(?:the\s+next\s+)?(?P<n1>{NUM}|{EN_WORD})\s+(?P<u1>{UNIT_EN}))|"
    rf"(?P<zh>(?P<n2>{COUNT})\s*(?P<u2>{UNIT_ZH_STRICT})\s*[内里])|短期|中长期|长期)\s*(?:[:：,，]\s*|(?=[^\s:：,，]))",
    re.IGNORECASE,
)
_FROM_TO = re.compile(
    rf"^(?P<metric>.+?)\s*(?:from|从|由)\s*[$¥￥€£]?\s*(?P<b>{NUM})\s*(?P<bu>%|pp)?\s*"
    rf"(?:to|降至|降到|降低至|降低到|提升至|提升到|提高到|提高至|增至|增长至|增加到|增加至|升至|到|至|->|→)\s*[$¥￥€£]?\s*"
    rf"(?P<t>{NUM})\s*(?P<u>%)?(?![\d万千亿kKmM])",
    _I,
)
_TO_TARGET = re.compile(
    rf"^(?P<metric>.+?)\s*(?:提升至|提升到|提高到|提高至|降至|降到|降低至|降低到|达到|达|增至|升至|到|至|to|reach(?:es)?|of|at|"
    r"under|below|above|at least|at most|≥|>=|≤|<=|<|>|:|：)?\s*"
    rf"(?P<t>{NUM})\s*(?P<u>%)?$",
    _I,
)


def _goal_like(piece: str) -> bool:
    return bool(re.search(r"\d|[%％]", piece) or rx(GOAL_VERB).search(piece))


def _split_goal_text(text: str) -> list[str]:
    """Split at ; 。 line breaks and numbering, then at commas, 、 and 'and' where both sides read as goals; never
    inside a number ('1,200') or a 'from 4.8% to 3.2%' phrase."""
    text = re.sub(
        r"(?:^|(?<=\n))[^\S\n]*\(?(?:\d{1,2}|[a-z])[.)、](?=\s)|(?:^|(?<=[\s;；,，]))\(?(?:[1-9]|[a-z])[)、]|[(（][1-9][)）]|[①②③④⑤⑥⑦⑧⑨⑩]",
        "\n",
        text,
        flags=_I,
    )
    pieces: list[str] = []
    for part in re.split(r"[;；。\n]+|\.\s+(?=[A-Z])", text):
        pieces += _split_soft(part.strip())
    return [p for p in pieces if p]


_SOFT_SEP = re.compile(r"(?<!\d),|,(?!\d)|，|、|\s+and\s+|\s*&\s*|以及|并且|并|同时")
_GOAL_LIKE = re.compile(rf"\d|[%％]|{GOAL_VERB}", _I)  # what `_goal_like` looks for, in one pattern
_DIGIT_OR_PCT = re.compile(r"[\d%％]")
_DIGIT = re.compile(r"\d")
_GOAL_END_ZH = ("提升", "降低", "达标", "增长", "减少", "提高", "改善", "优化")
_BETWEEN_END = re.compile(r"\bbetween\s+\S+$", _I)
_WORD_CHAR = re.compile(r"\w")


class _Before:
    """Whether `text[:k]` holds a match of `pattern`, for a k that only grows: each character is searched about once
    (the text is never sliced). `reach` is at least the longest shortest match, so one straddling `k` is found."""

    def __init__(self, pattern: re.Pattern[str], text: str, reach: int = 16):
        self.pattern, self.text, self.reach = pattern, text, reach
        self.checked = 0
        self.found = False

    def upto(self, k: int) -> bool:
        if not self.found and k > self.checked:
            self.found = self.pattern.search(self.text, max(0, self.checked - self.reach), k) is not None
            self.checked = k
        return self.found


class _After:
    """Whether `text[start:]` holds a match of `pattern`, for a start that only grows, as `pattern.search(text[start:])`
    says it (at the slice's start, a word boundary holds whatever comes before it)."""

    def __init__(self, pattern: re.Pattern[str], text: str):
        self.pattern, self.text = pattern, text
        self.like_until = -1  # a match begins at or after every start up to here
        self.dead_from = len(text) + 1  # no match begins at or after here

    def at(self, start: int) -> bool:
        if start <= self.like_until:
            return True
        if start < self.dead_from:
            match = self.pattern.search(self.text, start)
            if match is not None:
                self.like_until = match.start()
                return True
            self.dead_from = start
        return self._on_the_slice_only(start)

    def _on_the_slice_only(self, start: int) -> bool:
        """No match begins at `start` or after it in the text; on the slice one may begin at its start, where a word
        boundary holds even after a word character (its shortest match is a few characters long)."""
        return (
            start > 0
            and _WORD_CHAR.match(self.text, start - 1) is not None
            and (self.pattern.match(self.text[start : start + 64]) is not None)
        )


def _split_soft(part: str) -> list[str]:
    result: list[str] = []
    rest = part
    while rest:
        best = None
        left_like, left_digit_pct, left_digit = (_Before(p, rest) for p in (_GOAL_LIKE, _DIGIT_OR_PCT, _DIGIT))
        right_like, right_digit = _After(_GOAL_LIKE, rest), _After(_DIGIT, rest)
        for match in _SOFT_SEP.finditer(rest):
            # rest[:k] and rest[r:] are `left` and `right` without their surrounding spaces (rest is stripped)
            k = len(rest[: match.start()].rstrip())
            r = len(rest) - len(rest[match.end() :].lstrip())
            if not k or r >= len(rest) or _BETWEEN_END.search(rest, max(0, k - 200), k):
                continue
            sep = match.group(0).strip()
            if sep == "、":
                left = rest[:k]
                ok = (left_digit_pct.upto(k) or left.endswith(_GOAL_END_ZH)) and right_like.at(r)
            elif sep in ("and", "&") or sep in ("以及", "并且", "并", "同时"):
                ok = bool(rx(GOAL_VERB).match(rest[r : r + 64])) or (left_digit.upto(k) and right_digit.at(r))
            else:
                ok = left_like.upto(k) and right_like.at(r)
            if ok:
                best = match
                break
        if best is None:
            result.append(rest.strip())
            break
        result.append(rest[: best.start()].strip())
        rest = rest[best.end() :].strip()
    return result


def read_goals(text: str) -> list[Goal]:
    """Split a goals text into goals G1..Gn at ; 。 line breaks, numbering, commas, 、 and 'and'; the deadline a goal
    starts with ('90天内:', 'Within 90 days:') becomes its deadline_day, and a plainly stated 'from 4.8% to 3.2%' its
    baseline and target."""
    goals: list[Goal] = []
    deadline: int | None = None
    for part in _split_goal_text(text):
        part = re.sub(r"^(?:and|then|以及|并且|并|同时)\s+", "", part.strip(" \t-•*·、,，"), flags=_I)
        part = re.sub(r"^(?:goals?|targets?|objectives?|kpis?|目标|指标)\s*[:：]\s*", "", part, flags=_I)
        header = _GOAL_HEADER.match(part)
        if header:
            if header["n1"] or header["n2"]:
                n, u = (header["n1"], header["u1"]) if header["n1"] else (header["n2"], header["u2"])
                deadline = to_days(parse_number(n), duration_unit(u))
            part = part[header.end() :].strip()
        if len(part) < 2:
            continue
        goal = Goal(id=f"G{len(goals) + 1}", text=part, deadline_day=deadline)
        if len(goals) < MAX_GOALS:  # past the most a call numbers, a goal is listed by its words only
            _fill_goal(goal)
        goals.append(goal)
    return goals


_CHANGE_WORDS = re.compile(r"(?:[+＋\-]|\bby|\bup|\bdown|下降|降低|减少|增加|增长|提升|提高|环比|同比)\s*$", _I)
_LEADING_VERB = re.compile(
    r"^(?:reduce|lower|cut|lift|raise|grow|increase|improve|boost|get|bring|drive|keep|hold|降低|提升|提高|增加|减少|"
    r"保持|控制)\s*",
    _I,
)


# A time phrase and the object marker before a metric ("未来 90 天内把续费率", "within 6 months, churn"): not its name.
_LEADING_WHEN = re.compile(
    r"^(?:(?:在|于)?(?:未来|接下来|今后)?\s*\d+\s*(?:个)?(?:天|日|周|个月|月|季度|年)\s*(?:内|之内|以内)\s*[,,]?\s*"
    r"|(?:within|in|over)\s+(?:the\s+next\s+)?\d+\s+(?:days?|weeks?|months?|quarters?|years?)\s*,?\s*)",
    _I,
)
_OBJECT_MARK = re.compile(r"^(?:把|将|使|让)\s*")


def _metric_name(text: str) -> str | None:
    name = text.strip(" :：")
    name = _OBJECT_MARK.sub("", _LEADING_WHEN.sub("", name))
    name = _OBJECT_MARK.sub("", _LEADING_VERB.sub("", name)).strip(" :：")
    return name or None


# What ends a goal without being its target: a calendar deadline ("by Q3", "第三季度末前") and a rating scale ("4.6/5").
_TAIL_CHARS = 80  # longer than any deadline _GOAL_TAIL reads ("by the end of Q3 FY2026")
_GOAL_TAIL = re.compile(
    r"\s*(?:(?:by|before|until|in|within|through|during|for)\s+)?(?:(?:the\s+)?end\s+of\s+)?(?:Q[1-4]|H[12])"
    r"(?:\s*(?:FY)?\s*\d{2,4})?\s*$|\s*(?:在|于)?(?:Q[1-4]|第[一二三四1-4]季度)(?:末|底|前|内|结束前)?\s*$",
    _I,
)
_RATING_SCALE = re.compile(r"(?<=\d)\s*/\s*(?:5|10|100)(?![\d.])")
_TARGET_MULT = re.compile(rf"^(?P<head>.*?(?P<t>{NUM}))\s*(?P<m>万|千)\s*(?:人|户|名|个|位|家)?\s*$")


def _fill_goal(goal: Goal) -> None:
    """Metric, baseline, target and unit, when a goal states them plainly; a change ('+10pp', 'by 20%') is no target.
    A deadline ("by Q3") and a rating scale ("4.6/5") are never the target; a target in 万 or 千 is multiplied out."""
    head, tail = goal.text[:-_TAIL_CHARS], goal.text[-_TAIL_CHARS:]  # a deadline ends the goal: read the end only
    text = _RATING_SCALE.sub("", head + _GOAL_TAIL.sub("", tail, count=1))
    scale = 1.0
    if mult := _TARGET_MULT.match(text):
        text, scale = mult["head"], 1e4 if mult["m"] == "万" else 1e3
    match = _FROM_TO.match(text)
    if match:
        goal.metric = _metric_name(match["metric"])
        goal.baseline, goal.target = parse_number(match["b"]), parse_number(match["t"]) * scale
        goal.unit = "%" if (match["u"] or match["bu"] == "%") else None
        return
    match = _TO_TARGET.match(text)
    if match and not _CHANGE_WORDS.search(match["metric"]):
        goal.metric = _metric_name(match["metric"])
        goal.target = parse_number(match["t"]) * scale
        goal.unit = "%" if match["u"] else None


# -- a KPI per goal ----------------------------------------------------------------------------------------------------
_GOAL_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _numbers(text: str) -> set[float]:
    return {float(n) for n in _GOAL_NUMBER.findall(text.replace(",", ""))}


def _goal_numbers(goal: Any) -> set[float]:
    numbers = _numbers(goal.text) | {v for v in (goal.target, goal.baseline) if v is not None}
    return numbers - {0.0}


def kpi_coverage(plan: Any, c: Constraints) -> dict[str, int]:
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


def check_goals(plan: Any, c: Constraints, checks: CheckList) -> None:
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


def check(subject: Subject, c: Constraints, checks: CheckList) -> None:
    check_goals(subject.plan, c, checks)


def line(c: Constraints, zh: bool) -> str | None:
    if not c.goals:
        return None
    head = "- 目标(每个目标各有一个 KPI,goal_id 写编号):" if zh else "- Goals (each gets its own KPI, by id):"
    return "\n".join([head, *(f"  {g.id}: {one_line(g.text)}" for g in c.goals)])


KIND = Kind(
    field="goals",
    name=("goals", "目标"),
    checks=frozenset({"goals_have_kpis"}),
    check=check,
    line=line,
    label=("Goals", "目标"),
    row=lambda effective, zh: ("、" if zh else ", ").join(g.id for g in effective.goals) or None,
)
