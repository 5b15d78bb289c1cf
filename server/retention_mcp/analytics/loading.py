"""Reading a customer file safely: the data-directory sandbox, DuckDB readers, column roles and date parsing.

A path is accepted only if, with every symlink resolved, it lies inside a configured data directory. The file is read
by DuckDB (CSV, Parquet or JSON Lines; CSV dialect and types sniffed), so files larger than memory work.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retention_mcp.errors import UserError

MAX_INLINE_CSV = 20_000_000  # characters of CSV text accepted inline

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
}


class DataError(UserError):
    """A data file or column mapping that cannot be analysed; the message says what and how to fix it."""


def resolve_data_path(path: str | os.PathLike[str], data_dirs: list[Path]) -> Path:
    """The real path of a file inside one of `data_dirs`, or a DataError that says why not."""
    roots = [Path(d).expanduser().resolve() for d in data_dirs]
    listed = ", ".join(str(r) for r in roots) or "(none)"
    raw = Path(path).expanduser()
    candidates = [raw] if raw.is_absolute() else [root / raw for root in roots]
    for candidate in candidates:
        if not (candidate.exists() or candidate.is_symlink()):
            continue
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            raise DataError(f"{path}: a broken or looping link / 链接无效") from None
        if not any(real == root or root in real.parents for root in roots):
            raise DataError(
                f"{path}: outside the data directories ({listed}); set RETENTION_MCP_DATA_DIRS or --data-dir to "
                f"allow its folder / 文件不在允许的数据目录内"
            )
        if not real.is_file():
            raise DataError(f"{path}: not a file / 不是文件")
        if not os.access(real, os.R_OK):
            raise DataError(f"{path}: not readable (permission denied) / 无读取权限")
        return real
    raise DataError(f"{path}: no such file in the data directories ({listed}) / 在数据目录中找不到该文件")


# -- column roles -----------------------------------------------------------------------------------------------------
ROLES: dict[str, list[str]] = {
    "customer_id": [
        "customer_id", "customerid", "customer", "cust_id", "client_id", "user_id", "userid", "account_id",
        "account", "member_id", "subscriber_id", "id", "客户id", "客户编号", "客户", "用户id", "用户编号", "会员id",
        "会员编号", "账户id",
    ],
    "start_date": [
        "start_date", "signup_date", "start", "signup", "subscription_start", "created_at", "join_date", "joined",
        "activation_date", "开始日期", "注册日期", "开通日期", "订阅开始日期", "入会日期", "签约日期",
    ],
    "end_date": [
        "end_date", "cancel_date", "churn_date", "cancellation_date", "cancelled_at", "canceled_at",
        "subscription_end", "end", "结束日期", "取消日期", "流失日期", "退订日期", "解约日期",
    ],
    "churned": [
        "churned", "churn", "is_churned", "churn_flag", "cancelled", "canceled", "exited", "attrition", "是否流失",
        "流失", "已流失", "流失标记",
    ],
    "tenure": [
        "tenure", "tenure_months", "months_active", "lifetime_months", "duration_months", "duration", "在网时长",
        "使用时长", "订阅时长", "时长", "在网月数",
    ],
    "plan": [
        "plan", "plan_type", "contract", "contract_type", "subscription_type", "billing_plan", "tier", "package",
        "套餐", "合同类型", "会员类型", "付费方式", "计划",
    ],
    "amount": [
        "mrr", "monthly_revenue", "monthly_charges", "monthlycharges", "amount", "revenue", "price", "arpu",
        "月费", "月收入", "金额", "收入", "月度收入",
    ],
    "billing_interval": ["billing_interval", "billing_period", "interval", "billing_cycle", "计费周期", "付费周期"],
    "month": ["month", "billing_month", "invoice_month", "revenue_month", "period", "月份", "账期", "计费月份"],
    "transaction_date": [
        "transaction_date", "order_date", "purchase_date", "invoice_date", "date", "交易日期", "下单日期",
        "购买日期", "订单日期",
    ],
}  # fmt: skip
ROLE_NAMES = list(ROLES)


def normalise(name: str) -> str:
    return re.sub(r"[\s_\-./]+", "_", name.strip().lower()).strip("_")


@dataclass
class Mapping:
    roles: dict[str, str] = field(default_factory=dict)  # role -> column
    segments: list[str] = field(default_factory=list)

    def get(self, role: str) -> str | None:
        return self.roles.get(role)


def map_columns(columns: list[str], given: dict[str, str] | None, segments: list[str] | None) -> Mapping:
    """Roles from the caller's mapping first, then from common English and Chinese column names."""
    given = dict(given or {})
    unknown = [r for r in given if r not in ROLES]
    if unknown:
        raise DataError(
            f"Unknown role(s) in the column mapping: {', '.join(unknown)}; roles are {', '.join(ROLE_NAMES)} / "
            f"列映射中有未知角色"
        )
    missing = [c for c in [*given.values(), *(segments or [])] if c not in columns]
    if missing:
        raise DataError(
            f"Column(s) not in the file: {', '.join(missing)}; columns found: {', '.join(columns)} / "
            f"文件中没有这些列;现有列:{', '.join(columns)}"
        )
    mapping = Mapping(roles=dict(given))
    taken = set(given.values())
    by_normal = {}
    for column in columns:
        by_normal.setdefault(normalise(column), []).append(column)
    for role, synonyms in ROLES.items():
        if role in mapping.roles:
            continue
        matches = [c for s in synonyms for c in by_normal.get(normalise(s), []) if c not in taken]
        matches = list(dict.fromkeys(matches))
        if len(matches) > 1 and role not in ("transaction_date",):
            raise DataError(
                f"Several columns could be the {role}: {', '.join(matches)}. Say which, e.g. "
                f'--map {role}={matches[0]} (tool: columns={{"{role}": "{matches[0]}"}}). Columns found: '
                f"{', '.join(columns)} / 有多列都可能是 {role},请指定"
            )
        if matches:
            mapping.roles[role] = matches[0]
            taken.add(matches[0])
    mapping.segments = list(segments or [])
    return mapping


# -- reading ----------------------------------------------------------------------------------------------------------
@dataclass
class Table:
    con: Any  # duckdb connection holding the table `data`
    columns: list[str]
    types: dict[str, str]
    rows: int
    source: str
    _tmp: str | None = None

    def close(self) -> None:
        self.con.close()
        if self._tmp:
            Path(self._tmp).unlink(missing_ok=True)


def open_table(
    path: Path | None = None, csv_text: str | None = None, delimiter: str | None = None, csv_options: str = ""
) -> Table:
    """A DuckDB table `data` read from a file or from inline CSV text; `csv_options` are passed on to read_csv."""
    import duckdb

    tmp = None
    if csv_text is not None:
        if len(csv_text) > MAX_INLINE_CSV:
            raise DataError(f"Inline CSV is {len(csv_text)} characters; the limit is {MAX_INLINE_CSV}. Pass a file.")
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as handle:
            handle.write(csv_text)
        tmp = handle.name
        path, source = Path(tmp), "inline CSV"
    else:
        assert path is not None
        source = path.name
    kind = FORMATS.get(path.suffix.lower(), "csv")
    if path.stat().st_size == 0:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise DataError(f"{source}: the file is empty / 文件为空")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # DuckDB draws it on stdout: on stdio, that is the protocol
    literal = str(path).replace("'", "''")
    options = (f", delim='{delimiter}'" if delimiter else "") + csv_options
    readers = {
        # types are sniffed from a sample; if a later row contradicts them, read again sniffing every row
        "csv": [
            f"read_csv('{literal}', header=true{options})",
            f"read_csv('{literal}', header=true, sample_size=-1{options})",
        ],
        "parquet": [f"read_parquet('{literal}')"],
        "json": [f"read_json_auto('{literal}', format='newline_delimited')"],
    }[kind]
    # DuckDB spills to its temp directory when the table outgrows memory.
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/retention-mcp-duckdb'")
    for attempt, reader in enumerate(readers, 1):
        try:
            con.execute(f"CREATE OR REPLACE TABLE data AS SELECT * FROM {reader}")  # read the file once
            described = con.execute("DESCRIBE data").fetchall()
            rows = con.execute("SELECT count(*) FROM data").fetchone()[0]
            break
        except duckdb.Error as exc:
            if attempt < len(readers):
                continue
            con.close()
            if tmp:
                Path(tmp).unlink(missing_ok=True)
            first_line = str(exc).strip().splitlines()[0][:300]
            raise DataError(f"{source}: cannot be read as {kind.upper()} ({first_line}) / 无法读取文件") from None
    columns = [row[0] for row in described]
    types = {row[0]: row[1] for row in described}
    table = Table(con, columns, types, int(rows), source, tmp)
    if rows == 0:
        table.close()
        raise DataError(f"{source}: has a header but no rows / 只有表头,没有数据")
    if len(columns) == 1 and kind == "csv":
        name = columns[0]
        guess = next((d for d in (";", "\t", "|", ",", "，") if d in name), None)
        table.close()
        hint = f" the header contains '{guess}'; is that the delimiter? Pass delimiter='{guess}'" if guess else ""
        raise DataError(
            f"{source}: only one column was found ({name[:80]!r});{hint or ' check the delimiter'} / "
            f"只识别出一列,请检查分隔符"
        )
    return table


def quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'
