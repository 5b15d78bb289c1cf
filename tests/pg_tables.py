"""Load a data file (CSV or Parquet) into a PostgreSQL table with the types DuckDB reads from it, for analyses of a
table."""

from __future__ import annotations

from pathlib import Path

PG_TYPES = {"VARCHAR": "text", "DATE": "date", "BIGINT": "bigint", "INTEGER": "integer", "DOUBLE": "double precision",
            "BOOLEAN": "boolean", "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamptz"}  # fmt: skip


def load_file(url: str, path: Path, table: str, schema: str = "data") -> None:
    """CREATE schema.table and COPY the rows of `path` into it (one transaction)."""
    import duckdb
    import psycopg
    from psycopg import sql

    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv_auto"
    rel = duckdb.sql(f"SELECT * FROM {reader}('{path}')")
    columns = [(name, PG_TYPES.get(str(kind), "text")) for name, kind in zip(rel.columns, rel.types, strict=True)]
    with psycopg.connect(url) as con:
        con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        con.execute(sql.SQL("DROP TABLE IF EXISTS {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
        con.execute(
            sql.SQL("CREATE TABLE {}.{} ({})").format(
                sql.Identifier(schema),
                sql.Identifier(table),
                sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in columns),
            )
        )
        copy = sql.SQL("COPY {}.{} FROM STDIN").format(sql.Identifier(schema), sql.Identifier(table))
        with con.cursor().copy(copy) as writer:
            for row in rel.fetchall():
                writer.write_row(row)
