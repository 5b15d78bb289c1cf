"""The parameters of one analysis, as the analyze_churn tool and the `analyze` command take them.

One pydantic model, light to import (no data libraries): the tool's input schema and the command's flags are both
built from its fields, so a new parameter is one new field here. Descriptions are "English / 中文".
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from retention_mcp.analytics.roles import ROLE_NAMES

DELIMITERS = (",", ";", "\t", "|", "，")  # the full-width comma: Chinese exports
TYPED_TAB = {"\\t": "\t", "tab": "\t"}  # a tab as a command line types it


ROLE_SUFFIX = "_column"


class AnalyzeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(
        None,
        description="File in a data directory / 数据目录中的文件,例如 subscriptions.csv",
    )
    csv: str | None = Field(None, description="Inline CSV text, header first / 内联 CSV 文本(首行为表头)")
    source: str | None = Field(
        None, max_length=64, description="Server-configured database / 服务器上配置的数据库连接名"
    )
    table: str | None = Field(None, max_length=128, description="SCHEMA.TABLE in source / 该连接中的表或视图")
    # The column of each role (customer_id_column, …), where detection needs help; the engine reads them as one map.
    customer_id_column: str | None = Field(None, description="Customer id column / 客户编号所在列")
    start_date_column: str | None = Field(None, description="Start or signup date column / 开始或注册日期所在列")
    end_date_column: str | None = Field(None, description="Cancel date column / 取消日期所在列")
    churned_column: str | None = Field(None, description="Churned-flag column / 是否流失所在列")
    tenure_column: str | None = Field(None, description="Tenure column / 在网时长所在列")
    plan_column: str | None = Field(None, description="Plan or contract column / 套餐或合同所在列")
    amount_column: str | None = Field(None, description="Revenue-per-period column / 每期收入所在列")
    billing_interval_column: str | None = Field(None, description="Billing-interval column / 计费周期所在列")
    month_column: str | None = Field(None, description="Month column of monthly revenue rows / 月度收入行的月份所在列")
    transaction_date_column: str | None = Field(None, description="Order date column / 下单日期所在列")
    columns: SkipJsonSchema[dict[str, str]] = Field(default_factory=dict, exclude=True)
    segments: list[str] = Field(
        default_factory=list,
        description="Columns to segment by (default: few-valued and numeric) / 分群所用的列(默认:取值较少的列与数值列)",
    )
    delimiter: Literal[",", ";", "\t", "|", "，"] | None = Field(
        None, description="CSV delimiter, when sniffing gets it wrong / CSV 分隔符(自动识别出错时)"
    )
    tenure_unit: Literal["day", "week", "month", "year"] | None = Field(
        None,
        description="Tenure and survival unit (default: from column name) / 在网时长与生存时间的单位(默认取自列名,否则为月)",
    )
    period: Literal["month", "quarter", "year"] = Field(
        "month", description="Period of churn rates, cohorts and sBG / 流失率、同期群与 sBG 的周期"
    )
    as_of: str | None = Field(
        None,
        max_length=10,
        description="Observation end, YYYY-MM-DD (default: latest date up to today) / 观察截止日(默认:不晚于今天的最新日期)",
    )
    date_format: str | None = Field(
        None, max_length=12, description="DD/MM/YYYY or MM/DD/YYYY, for ambiguous dates / 日期格式"
    )
    calibration_end: str | None = Field(
        None,
        max_length=10,
        description="BG/NBD fit end, YYYY-MM-DD; later purchases are the holdout / BG/NBD 校准截止日,之后为验证期",
    )
    encoding: str | None = Field(
        None, max_length=40, description="Text encoding, when detection fails (e.g. gb18030) / 文本编码(识别失败时)"
    )
    decimal: Literal[".", ","] | None = Field(None, description="Decimal separator of numbers / 数字的小数点符号")
    timezone: str | None = Field(
        None,
        max_length=64,
        description="IANA time zone of timestamps / 时间戳的 IANA 时区",
    )
    sheet: str | None = Field(
        None,
        description="Workbook sheet, name or number (default: detected) / 工作表名称或序号(默认自动识别)",
    )
    header_row: int | None = Field(None, ge=1, description="Header row (default: detected) / 表头所在行(默认自动识别)")
    language: Literal["auto", "zh", "en"] = Field("auto", description="Language of the summary / 摘要语言")

    @field_validator("delimiter", mode="before")
    @classmethod
    def _tab_as_typed(cls, value: object) -> object:
        """A tab as a command line types it: \\t or the word tab."""
        return TYPED_TAB.get(value, value) if isinstance(value, str) else value

    charts: bool = Field(True, description="Return PNG charts as images / 返回 PNG 图表")
    charts_dir: str | None = Field(
        None,
        description="Also write PNGs to this data-directory folder / 同时把 PNG 写入数据目录中的此文件夹",
    )

    @model_validator(mode="after")
    def _roles_as_columns(self) -> AnalyzeParams:
        """The column named for each role, as one map (a `columns` object as older clients send it is still read;
        a role field wins over it)."""
        for role in ROLE_NAMES:
            column = getattr(self, role + ROLE_SUFFIX)
            if column:
                self.columns[role] = column
        return self


# How the `analyze` command spells a field, where not `--field-name`: (flag, metavar). The command reads the file
# (or '-' for CSV on stdin) as its positional argument and writes charts with --charts DIR, so `path`, `csv`,
# `charts` and `charts_dir` are not flags of their own.
CLI_FLAGS: dict[str, tuple[str, str]] = {
    "columns": ("--map", "ROLE=COLUMN"),
    "segments": ("--segment", "COLUMN"),
    "delimiter": ("--delimiter", "CHAR"),
    "as_of": ("--as-of", "YYYY-MM-DD"),
    "calibration_end": ("--calibration-end", "YYYY-MM-DD"),
    "date_format": ("--date-format", "FORMAT"),
    "encoding": ("--encoding", "NAME"),
    "timezone": ("--timezone", "NAME"),
    "sheet": ("--sheet", "NAME|NUMBER"),
    "header_row": ("--header-row", "N"),
    "source": ("--source", "NAME|URL"),
    "table": ("--table", "SCHEMA.TABLE"),
}
CLI_POSITIONAL = frozenset({"path", "csv", "charts", "charts_dir"})
