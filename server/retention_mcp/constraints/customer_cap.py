"""The cap per customer: the most value one customer may get from the plan's offers, per period.

Read by the sentence reader (accounting); typed as constraints.per_customer_cap. The check reads each offer's
`value_per_customer`, or the money amounts its offer-bearing text names next to a per-customer word; with neither,
the cap is unverified, never passed."""

from __future__ import annotations

import re
from typing import Any

from retention_mcp.constraints.checklist import CheckList, Record
from retention_mcp.constraints.kind import Kind, Subject
from retention_mcp.constraints.lexicon import PER_CUSTOMER, PERIOD_WORDS
from retention_mcp.constraints.money import amounts_in
from retention_mcp.constraints.plan_walk import dicts, offers
from retention_mcp.constraints.record import Constraints, format_amount

_I = re.IGNORECASE


def _check(plan: dict[str, Any], c: Constraints, record: Record) -> None:
    cap = c.per_customer_cap
    assert cap is not None
    money = f"{format_amount(cap.amount)} {cap.currency or ''}".strip()
    values: list[tuple[float, str]] = []
    for part in dicts(plan):
        declared = part.get("value_per_customer")
        if isinstance(declared, int | float) and not isinstance(declared, bool):
            values.append((float(declared), str(part.get("description") or part.get("offer") or part.get("name", ""))))
    for _key, text in offers(plan):
        if not PER_CUSTOMER.search(text):
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
            f"An offer gives {format_amount(v)} per customer ('{where}'); the cap is {money} per customer.",
            f"有优惠每位客户价值 {format_amount(v)}(「{where}」);每位客户上限为 {money}。",
        )
    elif values:
        record(
            "per_customer_cap",
            "passed",
            f"Every offer's value per customer is at most {format_amount(max(v for v, _ in values))}; the cap is {money}.",
            f"各项优惠每位客户价值最多 {format_amount(max(v for v, _ in values))};上限为 {money}。",
        )
    else:
        record(
            "per_customer_cap",
            "unverified",
            f"No offer states its value per customer (value_per_customer), so the cap of {money} per customer "
            "cannot be checked.",
            f"没有优惠写明每位客户价值(value_per_customer),无法核对每位客户上限 {money}。",
        )


def check(subject: Subject, c: Constraints, checks: CheckList) -> None:
    if c.per_customer_cap is not None:
        _check(subject.dumped, c, checks.record)


def _per_zh(period: str) -> str:
    return PERIOD_WORDS[period].per_zh if period in PERIOD_WORDS else f"每{period}"


def line(c: Constraints, zh: bool) -> str | None:
    cap = c.per_customer_cap
    if cap is None:
        return None
    period = cap.period if cap.period and cap.period != "total" else None
    per_en, per_zh = (f" per {period}", _per_zh(period)) if period else ("", "")
    money = f"{format_amount(cap.amount)} {cap.currency or ''}".strip()
    return (
        f"- 每位客户上限:每位客户{per_zh}所获优惠价值不超过 {money};每项优惠写明 value_per_customer"
        if zh
        else f"- Per-customer cap: at most {money} of incentives per customer{per_en}; give each offer its "
        "value_per_customer"
    )


def row(effective: Any, zh: bool) -> str | None:
    cap = effective.per_customer_cap
    if cap is None:
        return None
    money = f"{format_amount(cap.amount)} {cap.currency or ''}".strip()
    if cap.period and cap.period != "total":
        money += f"({_per_zh(cap.period)})" if zh else f" per {cap.period}"
    return money


KIND = Kind(
    field="per_customer_cap",
    name=("per-customer cap", "每位客户上限"),
    checks=frozenset({"per_customer_cap"}),
    check=check,
    line=line,
    label=("Per-customer cap", "每位客户上限"),
    row=row,
    always=False,
)
