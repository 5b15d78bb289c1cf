"""The aggregation expressions a database table runs (pushdown.py), run on a file's own DuckDB connection: each is
compiled to DuckDB SQL by Ibis's compiler alone (no Ibis backend, no Arrow) over an unbound table named like the
file's relation, and executed on the connection the file was read into. Ibis is imported when an analysis runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

_warm = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Import Ibis and compile one customers expression, so that the first analysis of a process does not wait for
    either: run in a thread while DuckDB reads the file (its read leaves the interpreter free)."""
    global _warmed
    with _warm:
        if _warmed:
            return
        _warmed = True
        import ibis

        from retention_mcp.analytics.expressions import customers_expr
        from retention_mcp.analytics.loading import Mapping
        from retention_mcp.analytics.request import AnalysisRequest

        t = ibis.table(
            {"customer_id": "string", "start_date": "date", "end_date": "date", "flag": "boolean", "mrr": "float64"},
            name="base",
        )
        roles = {"customer_id": "customer_id", "start_date": "start_date", "end_date": "end_date", "churned": "flag"}
        c = customers_expr(t, Mapping(roles | {"amount": "mrr"}), AnalysisRequest(), date(2000, 1, 1), "month")
        ibis.to_sql(c.group_by("sbg_t").aggregate(n=c.count()), dialect="duckdb")


def start_warm_up() -> None:
    threading.Thread(target=warm_up, name="retention-mcp-warm-up", daemon=True).start()


@dataclass(eq=False)
class Embedded:
    """The file's connection, with the interface of a Warehouse: `fetch` and `one` run an aggregate expression."""

    con: Any
    source: str

    def relation(self, name: str) -> Any:
        """An unbound Ibis table with the columns and types of the connection's view or table `name`."""
        import ibis
        from ibis.backends.sql.datatypes import DuckDBType

        described = self.con.execute(f'DESCRIBE "{name}"').fetchall()
        return ibis.table({row[0]: DuckDBType.from_string(row[1]) for row in described}, name=name)

    def sql(self, expr: Any) -> str:
        import ibis

        return str(ibis.to_sql(expr, dialect="duckdb"))

    def create(self, name: str, expr: Any) -> Any:
        """Materialise `expr` as the table `name` and give it back as a relation."""
        self.con.execute(f'CREATE TABLE "{name}" AS {self.sql(expr)}')
        return self.relation(name)

    def arrays(self, expr: Any) -> dict[str, np.ndarray]:
        """Rows of an aggregate as numpy columns."""
        return dict(self.con.execute(self.sql(expr)).fetchnumpy())

    def fetch(self, expr: Any) -> dict[str, list]:
        """Rows of an aggregate as columns (python values)."""
        cursor = self.con.execute(self.sql(expr))
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        return {name: [row[i] for row in rows] for i, name in enumerate(names)}

    def one(self, expr: Any) -> dict[str, Any]:
        """The single row of an aggregate over the whole relation."""
        return {k: v[0] for k, v in self.fetch(expr).items()}
