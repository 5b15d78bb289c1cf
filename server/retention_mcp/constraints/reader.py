"""Read the hard constraints a user stated, in Chinese or English, from the template arguments.

Deterministic, regex-only and conservative: a number becomes a constraint only where the words around it make it one
("季度预算12万元", "EUR 25k for the quarter", "discounts at most 15%", "未来半年", "two ops staff", "only SMS and
push"). It is the fallback behind the typed `constraints` and `goals` parameters, not the source of truth.

Each input (argument) is read on its own: a budget's period is looked for in the clause of the field the amount
stands in, never at the end of the previous field.

Which inputs are read for what:
- constraint-bearing inputs are those whose name matches CONSTRAINT_FIELD (budget, constraint, resource, channel,
  team, timeline, 预算, 渠道) or TIMELINE_FIELD (timeline, horizon, duration, period, window, 周期, 时间), except the goal
  input. In them an amount with a currency but no budget word is a budget, channels are read, a bare duration in a
  timeline input is a horizon, and head-counts of any role count as the team;
- every input is read for a budget next to a budget word, a cost cap against a revenue word, a discount cap, a horizon
  with words that make it one and an explicit team size (inputs about competitors are not read for caps: their numbers
  are the competitor's offers);
- the goal input (`goal_field`) gives the goals G1..Gn;
- a data window ("orders from 2023-03 to 2024-02", "last 12 months of data", "数据为2025年7-12月") and a metric window
  ("90-day retention", "90天内流失率") are never a plan horizon.

`unread`: in constraint-bearing inputs, every span holding an amount (with a currency, or 万/亿/k/M), a percentage
(or N折), a duration or a head-count that the reader did not turn into a constraint is listed with its clause, unless
it is plainly a metric (churn or retention rate, NPS, conversion or open rate, prices, ARPU, 客单价, 流失率, 留存,
复购率…). Numbers a constraint consumed (a range's low end, a restated equivalent of the budget, the period word, a
team's breakdown, a data window) are not unread.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from retention_mcp.constraints.budget import budget_hits
from retention_mcp.constraints.channels import allowed_hits, excluded_hits
from retention_mcp.constraints.cost_share import cost_cap_hits
from retention_mcp.constraints.discount import discount_hits
from retention_mcp.constraints.goals import read_goals
from retention_mcp.constraints.horizon import horizon_hits
from retention_mcp.constraints.record import Constraints, Evidence
from retention_mcp.constraints.team import team_hits
from retention_mcp.constraints.text import CONSTRAINT_FIELD, NO_CAPS_FIELD, TIMELINE_FIELD, Hit, Span, short
from retention_mcp.constraints.unread import unread_in
from retention_mcp.vocabulary import CHANNELS, PERIOD_DAYS, channel_label, channels_in

__all__ = ["CHANNELS", "PERIOD_DAYS", "channel_label", "channels_in"]  # re-exported for the checker and the Markdown

# -- the reader -------------------------------------------------------------------------------------------------------


PAST_FIELD = re.compile(r"histor|past|previous|历史|过往|以往", re.IGNORECASE)  # inputs about what happened before


def _timeline_kind(name: str) -> tuple[bool, bool]:
    """Whether an input holds a timeline, and whether it is the plan's own (a 'time_window' may be the data's)."""
    timeline = bool(TIMELINE_FIELD.search(name))
    return timeline, timeline and not re.search(r"window|data|数据", name, re.IGNORECASE)


def constraint_bearing(name: str, goal_field: str | None = None) -> bool:
    """Whether an input holds constraints (its unread numbers are listed): see the module docstring."""
    return name != goal_field and bool(CONSTRAINT_FIELD.search(name) or TIMELINE_FIELD.search(name))


@dataclass
class _Input:
    name: str
    raw: str  # as the user wrote it: evidence and unread spans quote it
    bearing: bool
    consumed: list[Span] = field(default_factory=list)
    # The text the patterns read: an English sentence end ('. ', '! ') is a clause end like '。' (same length, so
    # every span is a span of `raw` too).
    text: str = field(init=False)

    def __post_init__(self) -> None:
        self.text = _sentence_ends(self.raw)


@lru_cache(maxsize=256)
def _sentence_ends(text: str) -> str:
    return re.sub(r"[.!?](?=\s|$)", "。", text)


def read_constraints(arguments: Mapping[str, Any], goal_field: str | None = None) -> Constraints:
    """Read every constraint from a template's arguments, each input on its own (see the module docstring)."""
    inputs = [_Input(name, text, constraint_bearing(name, goal_field)) for name, text in _strings(arguments)]
    c = Constraints()

    def pick(name: str, hits_of: Callable[[_Input], list[Hit]], choose_max: bool = False) -> Hit | None:
        """The first input's first hit (or the largest); the same value stated elsewhere is accounted for too."""
        per_input = [(i, hits_of(i)) for i in inputs]
        everything = [(i, h) for i, hits in per_input for h in hits]
        if not everything:
            return None
        owner, best = max(everything, key=lambda ih: ih[1].value) if choose_max else everything[0]
        for i, h in everything:
            if h is best or h.value == best.value or choose_max:
                i.consumed += h.spans()
        c.sources[name] = "text"
        c.evidence[name] = Evidence(owner.name, short(owner.raw, best.start, best.end))
        return best

    budget = pick("budget", lambda i: budget_hits(i.text, i.bearing))
    if budget:
        c.budget, c.budget_period = budget.value
    cap = pick("cost_cap_pct_of_revenue", lambda i: [] if NO_CAPS_FIELD.search(i.name) else cost_cap_hits(i.text))
    if cap:
        c.cost_cap_pct_of_revenue = cap.value
    discount = pick("discount_cap_pct", lambda i: [] if NO_CAPS_FIELD.search(i.name) else discount_hits(i.text))
    if discount:
        c.discount_cap_pct = discount.value

    def horizons(i: _Input) -> list[Hit]:
        if PAST_FIELD.search(i.name):  # what happened before ("churned again within 3 months") is no plan length
            return []
        timeline, plan_timeline = _timeline_kind(i.name)
        return horizon_hits(i.text, timeline, bearing=i.bearing, plan_timeline=plan_timeline)

    horizon = pick("horizon_days", horizons, True)
    if horizon:
        c.horizon_days = horizon.value
    team = pick("team_size", lambda i: team_hits(i.text, i.bearing))
    if team:
        c.team_size = team.value
    for i in inputs:  # channels: from constraint-bearing inputs only ("no email opens" is a churn signal)
        if not i.bearing:
            continue
        for hits, target, name in (
            (allowed_hits(i.text), c.channels_allowed, "channels_allowed"),
            (excluded_hits(i.text), c.channels_excluded, "channels_excluded"),
        ):
            for hit in hits:
                target += [k for k in hit.value if k not in target]
                i.consumed += hit.spans()
                c.sources[name] = "text"
                c.evidence.setdefault(name, Evidence(i.name, short(i.raw, hit.start, hit.end)))
    c.channels_excluded = [k for k in c.channels_excluded if k not in c.channels_allowed]
    if not c.channels_excluded:
        c.sources.pop("channels_excluded", None)
        c.evidence.pop("channels_excluded", None)
    goal_text = next((i.raw for i in inputs if i.name == goal_field), None)
    if goal_text:
        c.goals = read_goals(goal_text)
        if c.goals:
            c.sources["goals"] = "text"
            c.evidence["goals"] = Evidence(goal_field or "", short(goal_text, 0, len(goal_text)))
    for i in inputs:
        if i.bearing:
            c.unread += unread_in(i.name, i.text, i.consumed, i.raw)
    from retention_mcp.constraints.accounting import Text, account

    account(c, [Text(i.name, i.raw, i.text, i.bearing, i.consumed) for i in inputs], goal_field)
    return c


def _strings(arguments: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for name, value in arguments.items():
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, list):
            yield name, "\n".join(str(v) for v in value)
