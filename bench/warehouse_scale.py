"""Order lines in PostgreSQL analysed where they live, against the same orders analysed from a CSV file.

The orders are analytics_scale.py's (numpy, fixed seed), loaded into a throwaway PostgreSQL cluster
(tests/pg_cluster.py; PostgreSQL must be installed) with COPY. Each analysis runs in its own process, so its peak
memory (VmHWM) is its own; the database server's memory is not counted. For the table, what came back over the wire
is reported: queries, rows and bytes (Arrow) of every aggregate. Row-level transfer would be one row per order.

    python bench/warehouse_scale.py [--orders 10000000] [--customers N] [--keep DIR] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]


def child(kind: str, path: Path, url: str) -> None:
    from analytics_scale import peak_memory_mb
    from retention_mcp.analytics import warehouse
    from retention_mcp.analytics.engine import AnalysisRequest, analyze

    fetched: list = []
    close = warehouse.Warehouse.close

    def keep_counts(self) -> None:
        fetched.append(self.fetched)
        close(self)

    warehouse.Warehouse.close = keep_counts  # type: ignore[method-assign]
    started = time.perf_counter()
    if kind == "table":
        request = AnalysisRequest(source="bench", table="bench.orders", source_url=url)
        report = analyze(request, []).report
    else:
        report = analyze(AnalysisRequest(path=path.name), [path.parent]).report
    seconds = time.perf_counter() - started
    out = {"seconds": seconds, "peak_mb": peak_memory_mb(), "customers": report.customers, "r": report.bgnbd.r}
    if fetched:
        out |= {"queries": fetched[0].queries, "rows": fetched[0].rows, "bytes": fetched[0].bytes}
    print(json.dumps(out))


def measure(kind: str, path: Path, url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path), url], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load(url: str, path: Path) -> int:
    import psycopg

    with psycopg.connect(url) as con:
        con.execute("CREATE SCHEMA bench")
        con.execute("CREATE TABLE bench.orders (customer_id text, order_date date, amount double precision)")
        with path.open("rb") as handle, con.cursor().copy("COPY bench.orders FROM STDIN (FORMAT csv, HEADER)") as copy:
            while block := handle.read(1 << 20):
                copy.write(block)
        con.execute("ANALYZE bench.orders")
        return con.execute("SELECT count(*) FROM bench.orders").fetchone()[0]


def main(orders: int, customers: int, keep: Path | None, repeat: int) -> None:
    import tempfile

    from tests.pg_cluster import Cluster

    folder = keep or Path(tempfile.mkdtemp(prefix="retention-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    transactions = folder / "transactions.csv"
    if not transactions.exists():
        print(f"generating {orders:,} orders of {customers:,} customers in {folder} ...", flush=True)
        subprocess.run(
            [sys.executable, str(HERE / "analytics_scale.py"), "--generate", str(folder), str(customers), str(orders)],
            check=True,
        )
    cluster = Cluster().start()
    try:
        started = time.perf_counter()
        lines = load(cluster.url, transactions)
        print(f"loaded {lines:,} order lines into PostgreSQL in {time.perf_counter() - started:.1f} s", flush=True)
        best: dict[str, dict] = {}
        for _ in range(repeat):
            for kind in ("file", "table"):
                m = measure(kind, transactions, cluster.url)
                if kind not in best or m["seconds"] < best[kind]["seconds"]:
                    best[kind] = m
        file, table = best["file"], best["table"]
        assert file["customers"] == table["customers"] and file["r"] == table["r"], (file, table)
        size = transactions.stat().st_size
        print(f"{'source':<28}{'seconds':>10}{'peak MB':>10}{'rows back':>12}{'bytes back':>14}")
        print(
            f"{'CSV file (' + format(size / 1e6, ',.0f') + ' MB read)':<28}{file['seconds']:>10.2f}{file['peak_mb']:>10.0f}{'-':>12}{'-':>14}"
        )
        print(
            f"{'PostgreSQL table':<28}{table['seconds']:>10.2f}{table['peak_mb']:>10.0f}{table['rows']:>12,}"
            f"{table['bytes']:>14,}"
        )
        print(
            f"table / file: time {table['seconds'] / file['seconds']:.2f}x, peak memory "
            f"{table['peak_mb'] / file['peak_mb']:.2f}x; {table['queries']} aggregate queries returned "
            f"{table['rows']:,} rows for {lines:,} order lines ({table['rows'] / lines:.4%}); same BG/NBD r "
            f"{table['r']} and {table['customers']:,} customers"
        )
    finally:
        cluster.stop()
        if keep is None:
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), sys.argv[4])
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, help="default: one for every ten orders")
    parser.add_argument("--keep", type=Path, help="write the generated orders here and keep them")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each analysis; the fastest counts")
    args = parser.parse_args()
    main(args.orders, args.customers or max(1, args.orders // 10), args.keep, args.repeat)
