"""The parameters of one analysis, as the analyze_churn tool and the `analyze` command take them.

One pydantic model, light to import (no data libraries): the tool's input schema and the command's flags are both
built from its fields, so a new parameter is one new field here. Descriptions are "English / 中文".
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ROLE_HELP = "customer_id, start_date, end_date, churned, tenure, plan, amount, billing_interval, transaction_date"


class AnalyzeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(
        None,
        description="File inside the data directories, e.g. subscriptions.csv / 数据目录中的文件,例如 subscriptions.csv",
    )
    csv: str | None = Field(
        None, description="Inline CSV text, header first, instead of a file / 内联 CSV 文本(首行为表头)"
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description=f"Role -> column where detection needs help; roles: {ROLE_HELP} / 自动识别需要帮助时,角色到列名的映射;"
        f"角色:{ROLE_HELP}",
    )
    segments: list[str] = Field(
        default_factory=list,
        description="Columns to segment by (default: every low-cardinality or numeric column) / 分群所用的列(默认:所有取值较少"
        "的列或数值列)",
    )
    delimiter: str | None = Field(
        None, max_length=1, description="CSV delimiter, when sniffing gets it wrong / CSV 分隔符(自动识别出错时)"
    )
    language: Literal["auto", "zh", "en"] = Field("auto", description="Language of the summary / 摘要语言")
    charts: bool = Field(True, description="Return PNG charts as images / 返回 PNG 图表")
    charts_dir: str | None = Field(
        None,
        description="Also write the PNGs to this folder inside a data directory / 同时把 PNG 写入数据目录中的此文件夹",
    )


# How the `analyze` command spells a field, where not `--field-name`: (flag, metavar). The command reads the file
# (or '-' for CSV on stdin) as its positional argument and writes charts with --charts DIR, so `path`, `csv`,
# `charts` and `charts_dir` are not flags of their own.
CLI_FLAGS: dict[str, tuple[str, str]] = {
    "columns": ("--map", "ROLE=COLUMN"),
    "segments": ("--segment", "COLUMN"),
    "delimiter": ("--delimiter", "CHAR"),
}
CLI_POSITIONAL = frozenset({"path", "csv", "charts", "charts_dir"})
