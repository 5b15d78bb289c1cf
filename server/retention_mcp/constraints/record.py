"""The constraints of one call, as the reader, the typed parameters and the checks share them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from retention_mcp.constraints.lexicon import UNIT_DAYS
from retention_mcp.constraints.money import Money
from retention_mcp.models import EffectiveGoal
from retention_mcp.vocabulary import PERIOD_DAYS

# -- the result -------------------------------------------------------------------------------------------------------
Source = str  # "typed" (a typed parameter or the user's answer to a form), "text" (read here) or "model" (extracted)


Goal = EffectiveGoal  # one goal type: read, typed or extracted, and as the result shows it


@dataclass(frozen=True)
class Evidence:
    """Where a constraint read from the free text was found: the input and the words it stands on."""

    input: str
    text: str


@dataclass(frozen=True)
class Unread:
    """A span of constraint-bearing free text that states a constraint the reader did not turn into a value."""

    input: str
    text: str
    kind: str  # amount | percent | duration | headcount | goal | channels | deadline | per_customer | free_periods
    scope: str | None = None  # amount: week | day; deadline: the calendar end (Q3, year, M12, black friday)


@dataclass(frozen=True)
class CustomerCap:
    """The most one customer may get (an incentive's value), per period or None for the whole plan."""

    amount: float
    currency: str | None
    period: str | None = None


@dataclass(frozen=True)
class FreeCap:
    """The most free periods one customer may get: count of units (day, week, month)."""

    count: int
    unit: str


@dataclass(frozen=True)
class Conflict:
    """A typed value and the free text disagree; the typed value is used."""

    field: str
    typed: str
    text: str


# Budget periods checked week by week or day by day (budget_periods).
SHORT_PERIOD_DAYS = {p: UNIT_DAYS[p] for p in ("week", "day")}


def parameter_of(field_name: str) -> str:
    """The typed parameter that holds a field: constraints.budget, ..., or goals."""
    return field_name if field_name == "goals" else f"constraints.{field_name}"


@dataclass
class Constraints:
    """The effective constraints of one call. Absent ones are None or empty.

    `budget` is the amount per `budget_period` (None: for the whole plan). `sources` says, per field name (budget,
    horizon_days, discount_cap_pct, cost_cap_pct_of_revenue, team_size, channels_allowed, channels_excluded, goals),
    where the value came from; `evidence` where text-read values stand; `unread` what the reader could not place.
    `channels_allowed` is an allow-list (the user said "only"); `channels_excluded` the kinds ruled out.
    """

    budget: Money | None = None
    budget_period: str | None = None  # day | week | month | quarter | year; None or "total": the whole plan
    cost_cap_pct_of_revenue: float | None = None  # e.g. incentive cost at most 4.5% of sales
    discount_cap_pct: float | None = None  # percent off
    horizon_days: int | None = None
    team_size: int | None = None
    channels_excluded: list[str] = field(default_factory=list)
    channels_allowed: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    per_customer_cap: CustomerCap | None = None
    free_periods_cap: FreeCap | None = None
    start_date: date | None = None  # typed only: what turns a calendar deadline into a horizon
    sources: dict[str, Source] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    unread: list[Unread] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def per_period(self) -> bool:
        return self.budget_period in PERIOD_DAYS

    @property
    def short_period(self) -> bool:
        """A budget per week or per day: its total is checked over the horizon, each week or day by budget_periods."""
        return self.budget_period in SHORT_PERIOD_DAYS

    def periods(self) -> float | None:
        """How many budget periods the horizon spans (one decimal, at least 1); None without a period or horizon."""
        days = {**PERIOD_DAYS, **SHORT_PERIOD_DAYS}.get(self.budget_period or "")
        if days is None or not self.horizon_days:
            return None
        return max(1.0, round(self.horizon_days / days, 1))

    def budget_cap(self) -> float | None:
        """The total a plan may spend: the stated budget, times the periods the horizon spans."""
        if self.budget is None:
            return None
        periods = self.periods()
        return round(self.budget.amount * periods, 2) if periods else self.budget.amount


def format_amount(value: float) -> str:
    """An amount or a percentage as the checks and the prompt write it: 120,000; 4.5; 1,234.56."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")
