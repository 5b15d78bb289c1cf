"""The result of a churn analysis: typed, with stable keys (customers, churn_rate, survival.median, segments,
sbg.alpha, sbg.beta, mrr.grr, mrr.nrr, bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b). Anything the data could not support
is listed in `absent` with the reason, never silently left out."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_serializer

# A share in [0, 1], declared in the schema but not enforced on construction: a fit that runs off gives a number
# outside it, which the report's serialiser then blanks with a reason (see finite.py) instead of failing.
Share = Annotated[float, Field(json_schema_extra={"minimum": 0, "maximum": 1})]
NonNegative = Annotated[float, Field(json_schema_extra={"minimum": 0})]
NonPositive = Annotated[float, Field(json_schema_extra={"maximum": 0})]  # a log-likelihood


class Period(BaseModel):
    month: str = Field(description="YYYY-MM")
    active_at_start: int
    new: int
    churned: int = Field(description="Customers active at the start of the month who left during it")
    churn_rate: float | None = Field(description="churned / active_at_start")
    active_at_end: int


class Cohorts(BaseModel):
    """Share of each monthly signup cohort still active k months later (null where not yet observable)."""

    months: list[str]
    sizes: list[int]
    retention: list[list[float | None]]


class SurvivalPoint(BaseModel):
    month: float
    survival: float
    lower: float
    upper: float
    at_risk: int


class GroupSurvival(BaseModel):
    value: str
    customers: int
    median: float | None


class LogRankResult(BaseModel):
    column: str
    statistic: float
    dof: int
    p_value: float


class Survival(BaseModel):
    unit: str = "months"
    median: float | None = Field(description="Median lifetime in months; null while over half are still active")
    points: list[SurvivalPoint]
    by_segment: dict[str, list[GroupSurvival]] = Field(default_factory=dict)
    log_rank: list[LogRankResult] = Field(default_factory=list)


class SegmentValue(BaseModel):
    value: str
    customers: int
    churned: int
    churn_rate: float
    ci_low: float = Field(description="95% Wilson interval")
    ci_high: float
    lift: float = Field(description="churn_rate / base churn share")


class Segment(BaseModel):
    column: str
    kind: str = Field(description="category, or quartile for a numeric column")
    values: list[SegmentValue]
    cramers_v: float = Field(description="Strength of association with churn, 0..1")
    p_value: float = Field(description="Chi-square test of independence")


class Driver(BaseModel):
    column: str
    cramers_v: float
    p_value: float
    riskiest_value: str
    lift: float


class RiskGroup(BaseModel):
    rule: str = Field(description="e.g. plan = monthly AND usage_hours in Q1 (<= 3.2)")
    customers: int
    share: float = Field(description="Share of all customers")
    churned: int
    churn_rate: float
    lift: float
    active_now: int = Field(description="Customers of the group still active: the ones to act on")


class MRRMonth(BaseModel):
    month: str
    mrr: float = Field(description="MRR at the end of the month")
    new: float
    expansion: float
    contraction: float
    churned: float
    reactivation: float


class MRR(BaseModel):
    current: float = Field(description="MRR of active customers at the end of the data")
    window: str = Field(description="Months the GRR/NRR cover, e.g. 2025-01..2025-12")
    starting: float
    new: float
    expansion: float | None
    contraction: float | None
    churned: float
    reactivation: float | None
    grr: float = Field(description="1 - (churned + contraction) / starting")
    nrr: float = Field(description="1 - (churned + contraction - expansion) / starting")
    months: list[MRRMonth] = Field(default_factory=list, description="Movements month by month (monthly data only)")
    note: str = ""


class SBG(BaseModel):
    alpha: float | None = Field(description="null when the fit is degenerate")
    beta: float | None = Field(description="null when the fit is degenerate")
    log_likelihood: NonPositive | None = Field(description="null when the fit is degenerate")
    period: str = "month"
    degenerate: bool = Field(
        False,
        description="True when alpha and beta ran to their bounds: the data show no spread in churn propensity, so "
        "the model is a constant churn rate and alpha, beta are not estimates",
    )
    note: str = ""
    retention_rate: list[Share | None] = Field(description="r(t) for t = 1..12")
    projected_survival: list[Share | None] = Field(description="S(t) for t = 1..24 (share of a new cohort)")
    constant_rate_projection: list[Share | None] = Field(
        description="What a constant first-period retention would give"
    )
    derl: dict[str, NonNegative] = Field(
        description="Discounted expected residual lifetime by renewals made (1%/month)"
    )


class BGNBD(BaseModel):
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    time_unit: str = "weeks"
    customers: int
    expected_purchases_next_12_weeks: float
    share_probably_inactive: Share = Field(description="Customers with P(alive) < 0.5")


class RFM(BaseModel):
    customers: int
    champions: int = Field(description="R=5 and F>=4")
    at_risk: int = Field(description="R<=2 and F>=4: valuable customers going quiet")
    hibernating: int = Field(description="R<=2 and F<=2")


class Absent(BaseModel):
    name: str
    reason: str = Field(description="Why the data cannot support it, in English / 中文")


class ChurnReport(BaseModel):
    source: str
    rows: int
    mode: str = Field(
        description="subscriptions (one row per customer), monthly (one row per customer and month, with MRR) or "
        "transactions (orders)"
    )
    columns: dict[str, str] = Field(description="role -> column used")
    observation_end: str | None
    customers: int
    active: int | None = None
    churned: int | None = None
    churn_rate: float | None = Field(None, description="Monthly customer churn: lost / active at start, pooled")
    churn_share: float | None = Field(None, description="Share of all customers who churned")
    periods: list[Period] = Field(default_factory=list)
    cohorts: Cohorts | None = None
    survival: Survival | None = None
    segments: list[Segment] = Field(default_factory=list)
    drivers: list[Driver] = Field(default_factory=list)
    high_risk: list[RiskGroup] = Field(default_factory=list)
    mrr: MRR | None = None
    sbg: SBG | None = None
    bgnbd: BGNBD | None = None
    rfm: RFM | None = None
    absent: list[Absent] = Field(default_factory=list)
    charts: list[str] = Field(default_factory=list, description="PNG files written, when asked")

    @model_serializer(mode="wrap")
    def _conform(self, handler: Any) -> Any:
        """Serialised, the report always fits its schema: bad numbers become null (or leave their list) and each
        change is listed in `absent`."""
        from retention_mcp.analytics.finite import conform

        data, notes = conform(handler(self), _report_schema())
        if notes and isinstance(data, dict):
            data["absent"] = [*data.get("absent", []), *({"name": where, "reason": why} for where, why in notes)]
        return data


@functools.cache
def _report_schema() -> dict[str, Any]:
    return ChurnReport.model_json_schema()
