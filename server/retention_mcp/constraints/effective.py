"""The effective constraints of one call: typed values first, then what the free text says, then what is unread.

`effective_constraints(template, values)` merges the typed `constraints` and `goals` parameters with the free-text
reader; `constraints_result` is the typed form every render and plan result carries; `stated_block` is the short
block every rendered prompt carries, so a model never has to re-read prose for a budget, a cap or a horizon.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from retention_mcp.constraints.calendar import calendar_end_day
from retention_mcp.constraints.kinds import UNREAD_FIELDS
from retention_mcp.constraints.money import Money
from retention_mcp.constraints.reader import read_constraints
from retention_mcp.constraints.record import (
    Conflict,
    Constraints,
    CustomerCap,
    Evidence,
    FreeCap,
    Goal,
    Unread,
    format_amount,
    parameter_of,
)
from retention_mcp.constraints.typed import CONSTRAINTS_FIELD, GOALS_FIELD, MAX_GOALS, ConstraintsInput, GoalInput
from retention_mcp.models import (
    ConstraintConflict,
    EffectiveBudget,
    EffectiveConstraints,
    EffectiveCustomerCap,
    EffectiveFreeCap,
    ReadFrom,
    UnreadSpan,
)

# Inputs that are not free text about the business: the language switch and the data file (its facts are data, and a
# data window is never a plan horizon).
NOT_TEXT = frozenset({"language", "dataset", CONSTRAINTS_FIELD, GOALS_FIELD})
# Every field the effective constraints hold, as the result and the sources name them.
FIELDS = ("budget", "horizon_days", "discount_cap_pct", "cost_cap_pct_of_revenue", "team_size", "channels_allowed",
          "channels_excluded", "goals", "per_customer_cap", "free_periods_cap", "start_date")  # fmt: skip


def _money_text(amount: float, currency: str | None, period: str | None) -> str:
    per = f" per {period}" if period and period != "total" else ""
    return f"{format_amount(amount)} {currency or ''}".strip() + per


def effective_constraints(values: BaseModel | Mapping[str, Any], goal_field: str | None) -> Constraints:
    """Typed values win; the free text fills what they leave out; a disagreement between them is listed."""
    if isinstance(values, BaseModel):  # validated arguments: the typed parts are models already
        data = {name: getattr(values, name) for name in type(values).model_fields}
    else:
        data = dict(values)
    typed = _typed(data.get(CONSTRAINTS_FIELD), ConstraintsInput)
    goals = [_typed(g, GoalInput) for g in data.get(GOALS_FIELD) or []]
    text = {k: v for k, v in data.items() if k not in NOT_TEXT and v is not None}
    c = read_text(text, goal_field)
    if len(c.goals) > MAX_GOALS:  # numbered up to the most a call takes; the rest is said to be unread
        rest = c.goals[MAX_GOALS:]
        c.goals = c.goals[:MAX_GOALS]
        c.unread.append(
            Unread(goal_field or GOALS_FIELD, f"{len(rest)} more: " + "; ".join(g.text for g in rest)[:70], "goal")
        )
    for name in FIELDS:  # the reader marks what it read; anything else it left is from the text too
        if known(c, name):
            c.sources.setdefault(name, "text")
    if typed is not None:
        apply_constraints(c, typed, "typed")
    if goals:
        c.goals = [Goal(id=f"G{i}", source="typed", **g.model_dump()) for i, g in enumerate(goals, 1)]
        c.sources["goals"] = "typed"
        c.evidence.pop("goals", None)
    settle_unread(c)
    return c


def _calendar_horizon(c: Constraints) -> None:
    """A calendar deadline ("through Q4") becomes the horizon once a start date is known and no horizon is."""
    if c.start_date is None or c.horizon_days is not None:
        return
    for u in c.unread:
        if u.kind == "deadline" and u.scope and (days := calendar_end_day(u.scope, c.start_date)) is not None:
            c.horizon_days = max(1, days)
            c.sources["horizon_days"] = c.sources.get("start_date", "typed")
            c.evidence["horizon_days"] = Evidence(u.input, u.text)
            c.unread = [x for x in c.unread if not (x.kind == "deadline" and x.scope == u.scope)]
            return


# Above this many characters of free text, the reading runs in a worker thread: the event loop keeps serving other
# calls while a long (or hostile) brief is read, which can take a good part of a second.
THREAD_ABOVE_CHARS = 2_000


async def effective_constraints_async(values: BaseModel, goal_field: str | None) -> Constraints:
    """`effective_constraints`, in a worker thread when the brief is long."""
    size = sum(len(v) for v in (getattr(values, n) for n in type(values).model_fields) if isinstance(v, str))
    if size <= THREAD_ABOVE_CHARS:
        return effective_constraints(values, goal_field)
    import anyio

    return await anyio.to_thread.run_sync(effective_constraints, values, goal_field)


def read_text(text: Mapping[str, Any], goal_field: str | None) -> Constraints:
    """What the free text says: a fresh copy of a reading kept for the last briefs read. Reading is deterministic and
    costs up to a millisecond, and a brief is often read more than once (rendered, then generated; retried)."""
    key = tuple(
        (k, v if isinstance(v, str) else tuple(map(str, v))) for k, v in text.items() if isinstance(v, str | list)
    )
    read = _read_once(key, goal_field)
    return dataclasses.replace(  # the containers a merge changes are the copy's own; their items are never changed
        read,
        channels_excluded=list(read.channels_excluded),
        channels_allowed=list(read.channels_allowed),
        goals=list(read.goals),
        sources=dict(read.sources),
        evidence=dict(read.evidence),
        unread=list(read.unread),
        conflicts=list(read.conflicts),
    )


@functools.lru_cache(maxsize=128)
def _read_once(key: tuple[tuple[str, Any], ...], goal_field: str | None) -> Constraints:
    return read_constraints({k: list(v) if isinstance(v, tuple) else v for k, v in key}, goal_field)


def _typed(value: Any, model: type[BaseModel]) -> Any:
    if value is None or isinstance(value, model):
        return value
    return model.model_validate(value)


def known(c: Constraints, name: str) -> bool:
    """Whether a constraint field holds a value (a list: any item)."""
    value = getattr(c, name)
    return bool(value) if isinstance(value, list) else value is not None


def apply_constraints(c: Constraints, typed: ConstraintsInput, source: str, overwrite: bool = True) -> list[str]:
    """Put typed values on the constraints with their source (typed, or model for an extraction), and return the
    fields set. With `overwrite` a value replaces what the text said, and a disagreement is listed; without it only
    empty fields are filled."""
    filled: list[str] = []
    for name in ConstraintsInput.model_fields:
        value = getattr(typed, name)
        if value is None or (not overwrite and known(c, name)):
            continue
        if c.sources.get(name) == "text" and known(c, name):
            conflict = _conflict(c, name, value)
            if conflict is not None:
                c.conflicts.append(conflict)
            if name == "budget" and c.short_period and value.period != c.budget_period and name in c.evidence:
                said = c.evidence[name]  # a weekly or daily cap the typed budget of another period does not hold
                c.unread.append(Unread(said.input, said.text, "amount", c.budget_period))
        if name == "budget":
            c.budget = Money(value.amount, value.currency or (c.budget.currency if c.budget else None), value.min)
            c.budget_period = None if value.period == "total" else value.period
        elif name == "per_customer_cap":
            currency = value.currency or (c.budget.currency if c.budget else None)
            c.per_customer_cap = CustomerCap(value.amount, currency, None if value.period == "total" else value.period)
        elif name == "free_periods_cap":
            c.free_periods_cap = FreeCap(value.count, value.unit)
        else:
            setattr(c, name, list(value) if isinstance(value, list) else value)
        c.sources[name] = source
        c.evidence.pop(name, None)
        filled.append(name)
    if c.channels_allowed:
        c.channels_excluded = [k for k in c.channels_excluded if k not in c.channels_allowed]
    return filled


def _conflict(c: Constraints, name: str, value: Any) -> Conflict | None:
    """What the text said of a field, when a typed value differs from it."""
    if name == "budget":
        assert c.budget is not None
        period = None if value.period == "total" else value.period
        same = (
            abs(c.budget.amount - value.amount) < 0.005
            and (c.budget.currency in (None, value.currency) or value.currency is None)
            and (c.budget_period or None) == period
        )
        said = _money_text(c.budget.amount, c.budget.currency, c.budget_period)
        return None if same else Conflict(name, _money_text(value.amount, value.currency, value.period), said)
    old = getattr(c, name)
    if name == "per_customer_cap":
        typed = _money_text(value.amount, value.currency, value.period)
        said = _money_text(old.amount, old.currency, old.period)
        same = abs(old.amount - value.amount) < 0.005 and (old.period or "total") == value.period
        return None if same else Conflict(name, typed, said)
    if name == "free_periods_cap":
        same = old.count == value.count and old.unit == value.unit
        return None if same else Conflict(name, f"{value.count} {value.unit}", f"{old.count} {old.unit}")
    if name == "start_date":
        return None if old == value else Conflict(name, str(value), str(old))
    if isinstance(value, list):
        return None if set(old) == set(value) else Conflict(name, ", ".join(value), ", ".join(old))
    return None if abs(float(old) - float(value)) <= 1e-9 else Conflict(name, format_amount(value), format_amount(old))


def settle_unread(c: Constraints) -> None:
    """Drop the unread spans that a typed or extracted value of the same kind and scope now holds: every field the
    span could stand for is known, and a weekly or daily amount is settled only by a budget of that period."""
    _calendar_horizon(c)
    c.unread = [u for u in c.unread if not _settled(c, u)]


def _settled(c: Constraints, u: Unread) -> bool:
    given = [f for f in UNREAD_FIELDS.get(u.kind, ()) if known(c, f) and c.sources.get(f) in ("typed", "model")]
    if u.kind == "deadline":  # a horizon in days settles it; a start date alone only when it gave the horizon
        return "horizon_days" in given
    if u.kind == "channels":
        return bool(given)
    if u.kind == "amount" and u.scope is not None:
        return bool(given) and c.budget_period == u.scope
    return len(given) == len(UNREAD_FIELDS.get(u.kind, ())) > 0


def fill_hint(kind: str, scope: str | None = None) -> list[str]:
    """The typed parameters that would settle an unread span (with the period a scoped amount needs)."""
    fields = [parameter_of(f) for f in UNREAD_FIELDS.get(kind, ())]
    if kind == "amount" and scope:
        return [f"{parameter_of('budget')} (period: {scope})"]
    return fields


def constraints_result(c: Constraints) -> EffectiveConstraints:
    budget = None
    if c.budget is not None:
        budget = EffectiveBudget(
            amount=c.budget.amount,
            currency=c.budget.currency,
            period=c.budget_period if (c.per_period or c.short_period) else "total",  # type: ignore[arg-type]
            min=c.budget.low,
            total=c.budget_cap() if (not (c.per_period or c.short_period) or c.periods()) else None,
            source=c.sources.get("budget", "text"),  # type: ignore[arg-type]
        )
    return EffectiveConstraints(
        budget=budget,
        horizon_days=c.horizon_days,
        discount_cap_pct=c.discount_cap_pct,
        cost_cap_pct_of_revenue=c.cost_cap_pct_of_revenue,
        team_size=c.team_size,
        channels_allowed=list(c.channels_allowed),
        channels_excluded=list(c.channels_excluded),
        goals=[g.model_copy() for g in c.goals],
        per_customer_cap=None
        if c.per_customer_cap is None
        else EffectiveCustomerCap(
            amount=c.per_customer_cap.amount,
            currency=c.per_customer_cap.currency,
            period=c.per_customer_cap.period or "total",  # type: ignore[arg-type]
        ),
        free_periods_cap=None
        if c.free_periods_cap is None
        else EffectiveFreeCap(count=c.free_periods_cap.count, unit=c.free_periods_cap.unit),  # type: ignore[arg-type]
        start_date=c.start_date.isoformat() if c.start_date else None,
        sources={k: v for k, v in c.sources.items() if known(c, k)},  # type: ignore[misc]
        read_from={k: ReadFrom(input=e.input, text=e.text) for k, e in c.evidence.items() if known(c, k)},
        unread=[
            UnreadSpan(input=u.input, text=u.text, kind=u.kind, scope=u.scope, fill=fill_hint(u.kind, u.scope))  # type: ignore[arg-type]
            for u in c.unread
        ],
        conflicts=[ConstraintConflict(field=x.field, typed=x.typed, text=x.text) for x in c.conflicts],
    )
