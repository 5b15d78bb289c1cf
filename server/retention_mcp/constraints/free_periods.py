"""The cap on free periods: the most free days, weeks or months one customer may get.

Read by the sentence reader (accounting); typed as constraints.free_periods_cap. The check reads each offer's
`free_periods`, or the free months, weeks or days its offer-bearing text names."""

from __future__ import annotations

import math
import re
from typing import Any

from retention_mcp.constraints.checklist import CheckList, Record
from retention_mcp.constraints.kind import Kind, Subject
from retention_mcp.constraints.lexicon import CN_COUNT, UNIT_DAYS, WORD_NUMBER, count_of
from retention_mcp.constraints.plan_walk import dicts, offers
from retention_mcp.constraints.record import Constraints

_I = re.IGNORECASE


def _check(plan: dict[str, Any], c: Constraints, record: Record) -> None:
    cap = c.free_periods_cap
    assert cap is not None
    cap_days = cap.count * _days(cap.unit)
    found: list[tuple[int, str, str]] = []  # (count, unit, where)
    for part in dicts(plan):
        declared = part.get("free_periods")
        if isinstance(declared, dict) and isinstance(declared.get("count"), int):
            unit = str(declared.get("unit") or cap.unit)
            found.append((declared["count"], unit, str(part.get("description") or part.get("offer") or "")[:60]))
    for _key, text in offers(plan):
        for match in FREE.finditer(text):
            count = count_of(next((g for g in (match["n"], match["n2"], match["n3"], match["n4"]) if g), None))
            unit_word = next(u for u in (match["u"], match["u2"], match["u3"], match["u4"]) if u)
            unit = FREE_UNIT.get(unit_word.lower().rstrip("s").split()[0], "month")
            found.append((count if count is not None else 1, unit, text[:60]))
    limit = f"{cap.count} {cap.unit}"
    over = [(n, u, w) for n, u, w in found if n * _days(u) > cap_days]
    if over:
        n, u, where = over[0]
        record(
            "free_periods_cap",
            "failed",
            f"An offer gives {n} free {u}(s) ('{where}'); the cap is {limit}(s) per customer.",
            f"有优惠赠送 {n} 个{u}免费期(「{where}」);每位客户上限为 {limit}。",
        )
    else:
        most = max((math.ceil(n * _days(u)) for n, u, _ in found), default=0)
        record(
            "free_periods_cap",
            "passed",
            f"Free periods in the plan: at most {most} days per offer; the cap is {limit}(s) per customer.",
            f"方案中的免费期每项最多 {most} 天;每位客户上限为 {limit}。",
        )


def _days(unit: str) -> float:
    """A free period's length in days, as the lexicon counts them (a month is 365/12 days)."""
    return UNIT_DAYS.get(unit, UNIT_DAYS["month"])


def check(subject: Subject, c: Constraints, checks: CheckList) -> None:
    if c.free_periods_cap is not None:
        _check(subject.dumped, c, checks.record)


_UNITS = {"day": ("day", "天"), "week": ("week", "周"), "month": ("month", "个月")}


def line(c: Constraints, zh: bool) -> str | None:
    free = c.free_periods_cap
    if free is None:
        return None
    en, zh_unit = _UNITS.get(free.unit, (free.unit, free.unit))
    return (
        f"- 免费期上限:每位客户最多 {free.count} {zh_unit}免费;每项优惠写明 free_periods(数量与单位)"
        if zh
        else f"- Free periods: at most {free.count} free {en}{'s' if free.count != 1 else ''} per customer; give "
        "each offer its free_periods (count and unit)"
    )


def row(effective: Any, zh: bool) -> str | None:
    free = effective.free_periods_cap
    if free is None:
        return None
    en, zh_unit = _UNITS.get(free.unit, (free.unit, free.unit))
    return f"{free.count} {zh_unit}" if zh else f"{free.count} {en}{'s' if free.count != 1 else ''}"


KIND = Kind(
    field="free_periods_cap",
    name=("free periods", "免费期上限"),
    checks=frozenset({"free_periods_cap"}),
    check=check,
    line=line,
    label=("Free periods per customer", "每位客户免费期上限"),
    row=row,
    always=False,
)


FREE = re.compile(
    rf"(?:(?P<n>{WORD_NUMBER}|(?<![\d.,])\d+)\s+)?(?:extra\s+)?free\s+(?P<u>months?|weeks?|days?|periods?|billing cycles?)|"
    rf"(?P<n2>{CN_COUNT})\s*(?:个)?(?P<u2>月|周|天)(?:的)?免费|免费(?:赠送|送|使用)?\s*(?P<n3>{CN_COUNT})\s*(?:个)?"
    rf"(?P<u3>月|周|天)|(?:赠送|送|免)\s*(?P<n4>{CN_COUNT})\s*(?:个)?(?P<u4>月|周|天)",
    _I,
)


FREE_UNIT = {"month": "month", "week": "week", "day": "day", "period": "month", "billing": "month", "月": "month",
         "周": "week", "天": "day"}  # fmt: skip
