"""A table or view in a database connection as the source of an analysis: opened read-only, with a statement
timeout, through Ibis (imported only here, when such an analysis runs). Only aggregates are fetched, each capped in
rows; errors name the source and the table, never the URL or its credentials."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from typing import Any

from retention_mcp.analytics.loading import DataError

ENV_MAX_ROWS = "RETENTION_MCP_WAREHOUSE_MAX_ROWS"
DEFAULT_MAX_ROWS = 1_000_000  # rows of one aggregate (BG/NBD pools customers by (x, t_x, T) in days)
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
TABLE_NAME = re.compile(r"^[^.\x00]{1,63}(\.[^.\x00]{1,63})?$")


def is_url(source: str) -> bool:
    return "://" in source


def shown_source(source: str) -> str:
    """A source as it may be shown: its name, or for a URL only its scheme."""
    return source.partition("://")[0] + "://…" if is_url(source) else source


def split_table(table: str | None) -> tuple[str | None, str]:
    if not table or not TABLE_NAME.match(table.strip()):
        raise DataError(
            "table: give the table or view as SCHEMA.TABLE or TABLE (each part up to 63 characters) / table 应为 "
            "SCHEMA.TABLE 或 TABLE"
        )
    schema, _, name = table.strip().rpartition(".")
    return schema or None, name


@dataclass
class Fetched:
    """What crossed the wire: aggregate rows and their bytes (Arrow), query by query."""

    rows: int = 0
    bytes: int = 0
    queries: int = 0


@dataclass(eq=False)  # hashable: a Cancellation holds it in a set
class Warehouse:
    """One open connection and the table analysed; `fetch` runs an aggregate expression there."""

    backend: Any
    table: Any  # the Ibis table expression
    source: str  # shown: `name:schema.table`
    max_rows: int = DEFAULT_MAX_ROWS
    fetched: Fetched = field(default_factory=Fetched)

    def fetch(self, expr: Any) -> dict[str, list]:
        """Rows of an aggregate as columns (python values); more than `max_rows` rows is an error."""
        try:
            result = self.backend.to_pyarrow(expr.limit(self.max_rows + 1))
        except Exception as exc:
            raise _database_error(exc, self.source) from None
        if result.num_rows > self.max_rows:
            raise DataError(
                f"{self.source}: one aggregate has more than {self.max_rows} rows ({ENV_MAX_ROWS}) / 聚合结果超过 "
                f"{self.max_rows} 行"
            )
        self.fetched.rows += result.num_rows
        self.fetched.bytes += result.nbytes
        self.fetched.queries += 1
        return {name: result.column(name).to_pylist() for name in result.column_names}

    def one(self, expr: Any) -> dict[str, Any]:
        """The single row of an aggregate over the whole table."""
        return {k: v[0] for k, v in self.fetch(expr).items()}

    def interrupt(self) -> None:
        """Cancel the running query (a client's cancel, or the analysis timeout), from any thread."""
        with contextlib.suppress(Exception):  # nothing running, or the connection closed meanwhile
            self.backend.con.cancel_safe(timeout=5.0)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection: nothing left to do
            self.backend.disconnect()


def _database_error(exc: Exception, source: str) -> DataError:
    # the message of a database error can hold the host, the user or a value; only its class is shown
    timeout = "statement timeout" in str(exc) or type(exc).__name__ == "QueryCanceled"
    if timeout:
        return DataError(
            f"{source}: the database stopped a query at the statement timeout (RETENTION_MCP_ANALYSIS_TIMEOUT) / "
            f"数据库在语句超时后停止了查询"
        )
    return DataError(
        f"{source}: the database refused a query ({type(exc).__name__}) / 数据库拒绝了查询({type(exc).__name__})"
    )


def open_warehouse(source: str, url: str, table: str, timeout_seconds: float, password: str | None = None) -> Warehouse:
    """Connect read-only (every transaction of the session) with a statement timeout, and find the table in the
    connection's catalog."""
    if not url.startswith(POSTGRES_SCHEMES):
        raise DataError(
            f"source {shown_source(source)}: only PostgreSQL connections (postgresql://) can be analysed / "
            f"目前只支持 PostgreSQL 连接(postgresql://)"
        )
    schema, name = split_table(table)
    shown = f"{shown_source(source)}:{table.strip()}"
    import ibis
    import psycopg

    timeout_ms = max(1000, int(timeout_seconds * 1000))
    options = f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms}"
    try:
        raw = psycopg.connect(
            url,
            autocommit=True,
            options=options,
            connect_timeout=10,
            application_name="retention-mcp",
            password=password,  # None: the URL's, PGPASSWORD or ~/.pgpass
        )
    except Exception as exc:
        raise DataError(
            f"source {shown_source(source)}: the connection failed ({type(exc).__name__}); check the server, the "
            f"user and the password configured for it / 连接失败({type(exc).__name__}),请检查服务器、用户与密码"
        ) from None
    backend = ibis.postgres.from_connection(raw)
    try:
        known = backend.list_tables(database=schema) if schema else backend.list_tables()
    except Exception as exc:
        backend.disconnect()
        raise _database_error(exc, shown) from None
    if name not in known:
        backend.disconnect()
        raise DataError(f"table: {shown} is not a table or view this connection can see / 该连接中没有这个表或视图")
    try:
        expr = backend.table(name, database=schema)
    except Exception as exc:
        backend.disconnect()
        raise _database_error(exc, shown) from None
    max_rows = int(os.environ.get(ENV_MAX_ROWS, "") or DEFAULT_MAX_ROWS)
    return Warehouse(backend, expr, shown, max(100, max_rows))
