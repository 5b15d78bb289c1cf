"""Stated goals against a plan's KPIs: each goal covered by its own KPI."""

from __future__ import annotations

import re
from typing import Any

from retention_mcp.constraints.checklist import CheckList
from retention_mcp.constraints.record import Constraints
from retention_mcp.generation.plans import PlanBase

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


def check_goals(plan: PlanBase, c: Constraints, checks: CheckList) -> None:
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
