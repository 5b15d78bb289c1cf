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
    month: str = Field(description="YYYY-MM: the first month of the period")
    period: str = Field("", description="The period: YYYY-MM, YYYY-Qn or YYYY (see the report's `period`)")
    active_at_start: int
    new: int
    churned: int = Field(description="Customers active at the start of the period who left during it")
    churn_rate: float | None = Field(description="churned / active_at_start")
    active_at_end: int


class Cohorts(BaseModel):
    """Share of each signup cohort (by the report's period) still active k periods later (null where not yet
    observable)."""

    months: list[str] = Field(description="Cohort labels: YYYY-MM, YYYY-Qn or YYYY")
    sizes: list[int]
    retention: list[list[float | None]]


class SurvivalPoint(BaseModel):
    month: float = Field(description="Time since start, in the survival's `unit` (months unless told otherwise)")
    survival: float
    lower: float
    upper: float
    at_risk: int


class GroupSurvival(BaseModel):
    value: str
    customers: int
    median: float | None
    points: list[SurvivalPoint] | None = Field(
        None, description="The group's curve (at most 30 points), for the strongest driver only / 该组的生存曲线"
    )


class LogRankResult(BaseModel):
    column: str
    statistic: float
    dof: int
    p_value: float


class Survival(BaseModel):
    unit: str = Field("months", description="days, weeks, months or years: the tenure unit")
    median: float | None = Field(description="Median lifetime in `unit`; null while over half are still active")
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
    alpha: float | None = Field(description="null when the fit ran to its bounds (see degenerate)")
    beta: float | None = Field(description="null when the fit ran to its bounds (see degenerate)")
    log_likelihood: NonPositive | None = Field(description="null when the fit ran to its bounds (see degenerate)")
    period: str = Field("month", description="The period t counts: month, quarter or year")
    retention_rate: list[Share | None] = Field(description="r(t) for t = 1..12 periods")
    projected_survival: list[Share | None] = Field(description="S(t) for t = 1..24 periods (share of a new cohort)")
    constant_rate_projection: list[Share | None] = Field(
        description="What a constant first-period retention would give"
    )
    derl: dict[str, NonNegative] = Field(
        description="Discounted expected residual lifetime by renewals made (0..12), in multiples of the per-period "
        "payment, at `discount_rate` per period"
    )
    discount_rate: float = Field(0.01, description="Per period: 1% a month, 3% a quarter, 10% a year")
    degenerate: bool = Field(
        False,
        description="The fit ran to its bounds (alpha, beta then null: not estimates), or does no better than one "
        "constant rate for every customer (likelihood-ratio test, 5%): the model reduces to the constant retention "
        "rate in `reduces_to` and `constant_retention`, and retention_rate and projected_survival are that model's",
    )
    note: str = Field("", description="Why the fit is degenerate, when it is")
    reduces_to: str | None = Field(None, description="The constant-rate model a degenerate fit reduces to")
    constant_retention: Share | None = Field(
        None, description="Retention per period of the constant-rate (geometric) model fitted to the same counts"
    )


class HoldoutRow(BaseModel):
    frequency: str = Field(description="Repeat purchases in the calibration period (0, 1, ... and the last as N+)")
    customers: int
    predicted: float = Field(description="Mean repeat purchases predicted for the holdout period")
    actual: float = Field(description="Mean repeat purchases seen in the holdout period")


class Holdout(BaseModel):
    calibration_end: str
    holdout_end: str
    weeks: float
    customers: int = Field(description="Customers who bought by the calibration end")
    predicted: float = Field(description="Repeat purchases predicted for the holdout, all customers")
    actual: float = Field(description="Repeat purchases seen in the holdout (purchase days), all customers")
    by_frequency: list[HoldoutRow]


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
    calibration_end: str | None = Field(None, description="The fit used purchases up to this date only")
    holdout: Holdout | None = Field(None, description="Predicted vs actual repeat purchases after calibration_end")


class RFM(BaseModel):
    customers: int
    champions: int = Field(description="R=5 and F>=4")
    at_risk: int = Field(description="R<=2 and F>=4: valuable customers going quiet")
    hibernating: int = Field(description="R<=2 and F<=2")


BUNDLED = " (bundled example / 内置示例)"  # after `source` when the bundled example data were read


class Absent(BaseModel):
    name: str
    reason: str = Field(description="Why the data cannot support it, in English / 中文")


def no_transactions() -> list[Absent]:
    """What subscription data cannot give, from a file or a table: BG/NBD and RFM need transactions."""
    return [
        Absent(
            name="bgnbd", reason="subscription data: BG/NBD needs repeat transactions / 订阅数据:BG/NBD 需要重复交易"
        ),
        Absent(name="rfm", reason="subscription data: RFM needs transactions / 订阅数据:RFM 需要交易记录"),
    ]


class ChurnReport(BaseModel):
    source: str
    rows: int
    mode: str = Field(
        description="subscriptions (one row per customer), monthly (one row per customer and month, with MRR) or "
        "transactions (orders)"
    )
    columns: dict[str, str] = Field(description="role -> column used")
    observation_end: str | None = Field(
        description="The last day observed (as_of, or the latest date not in the future)"
    )
    period: str = Field("month", description="month, quarter or year: the period of churn_rate, periods and sBG")
    customers: int
    active: int | None = None
    churned: int | None = None
    churn_rate: float | None = Field(
        None, description="Customer churn per period (see `period`): lost / active at start, pooled over full periods"
    )
    churn_share: float | None = Field(None, description="Share of all customers who churned")
    unknown_churn: int | None = Field(
        None, description="Customers whose churn flag is blank, NA or unreadable: left out of every rate"
    )
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
    notes: list[str] = Field(
        default_factory=list, description="How the data were read and what was left out, in English / 中文"
    )
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
