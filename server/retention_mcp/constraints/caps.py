"""Checks of a plan against the caps no other check covers: a budget per week or per day, a cap per customer and a cap
on free periods.

Each check reads what the plan itself says: budget lines placed in a week by their phase (a phase's lines spread
evenly over its weeks, the least it can spend in its busiest week) or by a `week` or `day` key; an offer's
`value_per_customer` or the money amounts its offer-bearing text names next to a per-customer word; an offer's
`free_periods` or the free months, weeks or days its text names. What cannot be placed is `unverified`, never passed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from retention_mcp.constraints.accounting import _FREE, _UNIT, _count
from retention_mcp.constraints.lexicon import amounts_in
from retention_mcp.constraints.record import Constraints, format_amount
from retention_mcp.models import CheckStatus

Record = Callable[[str, CheckStatus, str, str], None]
_fmt = format_amount
_OFFER_KEYS = ("offer", "offers", "description", "incentive", "reward", "save_offer", "win_back", "credit", "gift")
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30}


def check_caps(plan: Any, c: Constraints, record: Record) -> None:
    """Record one check per cap stated (weekly or daily budget, per-customer cap, free-period cap)."""
    dumped = plan.model_dump() if hasattr(plan, "model_dump") else dict(plan)
    if c.short_period and c.budget is not None:
        _check_short_period(dumped, c, record)
    if c.per_customer_cap is not None:
        _check_per_customer(dumped, c, record)
    if c.free_periods_cap is not None:
        _check_free_periods(dumped, c, record)


def _check_short_period(plan: dict[str, Any], c: Constraints, record: Record) -> None:
    assert c.budget is not None
    period = c.budget_period or "week"
    days = 7 if period == "week" else 1
    name = "budget_per_week" if period == "week" else "budget_per_day"
    en_unit, zh_unit = ("week", "周") if period == "week" else ("day", "天")
    budget = plan.get("budget") or {}
    lines = budget.get("lines") or []
    phases = {
        str(p.get("name", "")).strip().casefold(): p
        for p in (plan.get("timeline") or {}).get("phases") or []
        if isinstance(p, dict)
    }
    spend: dict[int, float] = {}
    unplaced = 0.0
    for line in lines:
        amount = float(line.get("amount") or 0)
        slot = line.get(period)
        if isinstance(slot, int | float) and not isinstance(slot, bool):
            spend[int(slot)] = spend.get(int(slot), 0.0) + amount
            continue
        phase = phases.get(str(line.get("phase") or "").strip().casefold())
        if phase is None:
            unplaced += amount
            continue
        first = int(phase.get("start_day", 0)) // days
        last = max(first, int(phase.get("end_day", 0)) // days)
        share = amount / (last - first + 1)
        for k in range(first, min(last, first + 3660) + 1):
            spend[k] = spend.get(k, 0.0) + share
    cap = c.budget.amount
    money = f"{_fmt(cap)} {c.budget.currency or ''}".strip()
    worst = max(spend.items(), key=lambda kv: kv[1], default=None)
    if worst is not None and worst[1] > cap + 0.005:
        record(
            name,
            "failed",
            f"The plan spends {_fmt(round(worst[1], 2))} in {en_unit} {worst[0] + 1}; the budget is at most {money} "
            f"per {en_unit}.",
            f"方案第 {worst[0] + 1} {zh_unit}支出 {_fmt(round(worst[1], 2))};预算为每{zh_unit}不超过 {money}。",
        )
    elif unplaced > 0.005 or worst is None:
        record(
            name,
            "unverified",
            f"Budget lines of {_fmt(unplaced)} name no {en_unit} or phase, so spending per {en_unit} (at most "
            f"{money}) cannot be checked.",
            f"有 {_fmt(unplaced)} 的预算科目未注明所属{zh_unit}或阶段,无法核对每{zh_unit}支出(上限 {money})。",
        )
    else:
        record(
            name,
            "passed",
            f"Spending per {en_unit} is at most {_fmt(round(worst[1], 2))}; the budget is {money} per {en_unit}.",
            f"每{zh_unit}支出最多 {_fmt(round(worst[1], 2))};预算为每{zh_unit} {money}。",
        )


def _offers(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(key, value) of every offer-bearing part of a plan: dicts holding an incentive, and their text."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _offers(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _offers(v, key)
    elif isinstance(node, str) and key in _OFFER_KEYS:
        yield key, node


def _dicts(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _dicts(v)
    elif isinstance(node, list):
        for v in node:
            yield from _dicts(v)


_PER = re.compile(
    r"per[- ](?:customer|member|user|account|subscriber|head|person|client)|each (?:customer|member|user)|"
    r"每(?:人|位|名|个|户)|人均|单(?:个|位)?(?:客户|用户|会员)|/\s*(?:人|customer|member|user)",
    re.IGNORECASE,
)


def _check_per_customer(plan: dict[str, Any], c: Constraints, record: Record) -> None:
    cap = c.per_customer_cap
    assert cap is not None
    money = f"{_fmt(cap.amount)} {cap.currency or ''}".strip()
    values: list[tuple[float, str]] = []
    for part in _dicts(plan):
        declared = part.get("value_per_customer")
        if isinstance(declared, int | float) and not isinstance(declared, bool):
            values.append((float(declared), str(part.get("description") or part.get("offer") or part.get("name", ""))))
    for _key, text in _offers(plan):
        if not _PER.search(text):
            continue
        for amount in amounts_in(text):
            if amount.currency:
                values.append((amount.money.amount, text[:60]))
    over = [(v, where) for v, where in values if v > cap.amount + 0.005]
    if over:
        v, where = max(over)
        record(
            "per_customer_cap",
            "failed",
            f"An offer gives {_fmt(v)} per customer ('{where}'); the cap is {money} per customer.",
            f"有优惠每位客户价值 {_fmt(v)}(「{where}」);每位客户上限为 {money}。",
        )
    elif values:
        record(
            "per_customer_cap",
            "passed",
            f"Every offer's value per customer is at most {_fmt(max(v for v, _ in values))}; the cap is {money}.",
            f"各项优惠每位客户价值最多 {_fmt(max(v for v, _ in values))};上限为 {money}。",
        )
    else:
        record(
            "per_customer_cap",
            "unverified",
            f"No offer states its value per customer (value_per_customer), so the cap of {money} per customer "
            "cannot be checked.",
            f"没有优惠写明每位客户价值(value_per_customer),无法核对每位客户上限 {money}。",
        )


def _check_free_periods(plan: dict[str, Any], c: Constraints, record: Record) -> None:
    cap = c.free_periods_cap
    assert cap is not None
    cap_days = cap.count * _UNIT_DAYS.get(cap.unit, 30)
    found: list[tuple[int, str, str]] = []  # (count, unit, where)
    for part in _dicts(plan):
        declared = part.get("free_periods")
        if isinstance(declared, dict) and isinstance(declared.get("count"), int):
            unit = str(declared.get("unit") or cap.unit)
            found.append((declared["count"], unit, str(part.get("description") or part.get("offer") or "")[:60]))
    for _key, text in _offers(plan):
        for match in _FREE.finditer(text):
            count = _count(next((g for g in (match["n"], match["n2"], match["n3"], match["n4"]) if g), None))
            unit_word = next(u for u in (match["u"], match["u2"], match["u3"], match["u4"]) if u)
            unit = _UNIT.get(unit_word.lower().rstrip("s").split()[0], "month")
            found.append((count if count is not None else 1, unit, text[:60]))
    limit = f"{cap.count} {cap.unit}"
    over = [(n, u, w) for n, u, w in found if n * _UNIT_DAYS.get(u, 30) > cap_days]
    if over:
        n, u, where = over[0]
        record(
            "free_periods_cap",
            "failed",
            f"An offer gives {n} free {u}(s) ('{where}'); the cap is {limit}(s) per customer.",
            f"有优惠赠送 {n} 个{u}免费期(「{where}」);每位客户上限为 {limit}。",
        )
    else:
        most = max((math.ceil(n * _UNIT_DAYS.get(u, 30)) for n, u, _ in found), default=0)
        record(
            "free_periods_cap",
            "passed",
            f"Free periods in the plan: at most {most} days per offer; the cap is {limit}(s) per customer.",
            f"方案中的免费期每项最多 {most} 天;每位客户上限为 {limit}。",
        )
