"""One analysis as it is asked for and as it comes back: the request (file, roles, units, period, observation
end...), the result (the report and its charts), and the units and periods the steps share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from retention_mcp.analytics.loading import (
    DataError,
)
from retention_mcp.analytics.report import (
    ChurnReport,
)
from retention_mcp.analytics.values import (
    check_timezone,
    date_order,
)

DAYS_PER_MONTH = 365.25 / 12


MAX_SEGMENT_VALUES = 20


MONTHLY_AMOUNT_NAMES = {"mrr", "monthly_revenue", "monthly_charges", "monthlycharges", "月费", "月收入", "月度收入"}


TENURE_UNITS = {"day": 1.0, "week": 7.0, "month": DAYS_PER_MONTH, "year": 365.25}  # days per unit


PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


DISCOUNT = {"month": 0.01, "quarter": 0.03, "year": 0.1}  # per period, for DERL


PERIOD_ZH = {"month": "月", "quarter": "季度", "year": "年"}


HOLDOUT_FREQUENCIES = 7  # by_frequency rows 0..6, the last one 7+


log = logging.getLogger("retention_mcp.analytics")


Progress = Callable[[str], None]


@dataclass
class AnalysisRequest:
    path: str | None = None
    csv_text: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # role -> column
    segments: list[str] = field(default_factory=list)
    delimiter: str | None = None
    charts: bool = False  # also draw PNG charts
    tenure_unit: str | None = None  # unit of a tenure column and of survival times (None: from the column's name)
    period: str = "month"  # churn per period, cohorts and the sBG fit
    as_of: str | None = None  # YYYY-MM-DD: the observation end (default: the latest date not in the future)
    date_format: str | None = None  # DD/MM/YYYY or MM/DD/YYYY, where the dates allow both
    calibration_end: str | None = None  # YYYY-MM-DD: BG/NBD fits on purchases up to here, the rest is the holdout
    encoding: str | None = None  # text encoding, where detection does not find it
    decimal: str | None = None  # "," for decimal-comma numbers
    timezone: str | None = None  # IANA name: the zone whose dates timestamps with an offset are read in
    sheet: str | None = None  # a workbook's sheet, by name or 1-based number (default: detected)
    header_row: int | None = None  # a workbook's header row, 1-based (default: detected)
    today: date | None = None  # the clock's date (tests set it)
    source: str | None = None  # a named database connection (or, from the command line, its URL)
    table: str | None = None  # SCHEMA.TABLE in that connection
    source_url: str | None = field(default=None, repr=False)  # resolved by the service, never from the request
    source_password: str | None = field(default=None, repr=False)


@dataclass
class Analysis:
    report: ChurnReport
    charts: dict[str, bytes] = field(default_factory=dict)  # file name -> PNG


def parse_day(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise DataError(
            f"{name}: {value[:40]!r} is not a date in YYYY-MM-DD / {name} 应为 YYYY-MM-DD 格式的日期"
        ) from None


def check_request(request: AnalysisRequest) -> None:
    if request.tenure_unit is not None and request.tenure_unit not in TENURE_UNITS:
        raise DataError(
            f"tenure_unit: {request.tenure_unit!r} is not one of {', '.join(TENURE_UNITS)} / tenure_unit 取值应为 "
            f"{', '.join(TENURE_UNITS)}"
        )
    if request.period not in PERIOD_MONTHS:
        raise DataError(
            f"period: {request.period!r} is not one of {', '.join(PERIOD_MONTHS)} / period 取值应为 "
            f"{', '.join(PERIOD_MONTHS)}"
        )
    parse_day(request.as_of, "as_of")
    parse_day(request.calibration_end, "calibration_end")
    date_order(request.date_format)
    check_timezone(request.timezone)


LIKELIHOOD_RATIO_5PCT = 3.841  # chi-square, 1 degree of freedom


def months_between(first, last, step: int = 1) -> list:
    """(year, month) of each period start from the period holding `first` to the one holding `last`."""
    months = []
    y, m = first.year, first.month - (first.month - 1) % step
    while (y, m) <= (last.year, last.month):
        months.append((y, m))
        y, m = (y + 1, m + step - 12) if m + step > 12 else (y, m + step)
    return months


def period_label(y: int, m: int, period: str) -> str:
    if period == "quarter":
        return f"{y:04d}-Q{(m - 1) // 3 + 1}"
    if period == "year":
        return f"{y:04d}"
    return f"{y:04d}-{m:02d}"


def last_full_month(periods: int, observation_end, step: int = 1) -> int:
    """Index of the last period the data cover to its end (the final one counts only if the data reach its end)."""
    after = observation_end + timedelta(days=1)
    return periods - 1 if after.day == 1 and (after.month - 1) % step == 0 else periods - 2
