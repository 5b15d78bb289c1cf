"""Figures for template versions, each against a baseline measured in the same run.

  propagation  two `retention-mcp serve --transport http --stateless` replicas on one throwaway PostgreSQL
               (tests/pg_cluster.py); a changed template is published with `--label production` through the same
               code the CLI runs, and the time from the publish's commit to the second replica answering a render
               with the new text is measured, --publishes times (median, max). The same with one server on SQLite.
  lookup       the cost of serving the label's versions on a template call: in-memory MCP calls of a template tool on
               a server serving the `production` label from a SQLite store, against the same server serving the
               template files (as before versions existed), rounds alternating; and the cost of loading the
               templates (the label is looked up there, once per change, not per call).

Everything listens on 127.0.0.1.

    python bench/template_versions.py [--publishes 10] [--calls 400] [--rounds 4] [--only propagation,lookup]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the throwaway PostgreSQL lives with the tests

import anyio  # noqa: E402
import httpx2  # noqa: E402
from tests.conftest import free_port, wait_until_serving  # noqa: E402

from retention_mcp.paths import shipped_dir  # noqa: E402

ENV = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}
JSONRPC = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
NAME = "churn_analysis"
ARGUMENTS = {"business_context": "B2B SaaS, 400 accounts", "data_summary": "monthly churn 3%", "language": "en"}


@contextlib.contextmanager
def replica(store: str) -> Iterator[str]:
    port = free_port()
    env = ENV | {"RETENTION_MCP_PLAN_STORE": store, "RETENTION_MCP_RENDERS_PER_MINUTE": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "retention_mcp", "serve", "--transport", "http", "--stateless", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc, 60)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def render(http: httpx2.Client, base: str) -> str:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": NAME, "arguments": ARGUMENTS}}
    answer = http.post(f"{base}/mcp", json=body, headers=JSONRPC)
    return answer.text


def edited(folder: Path, mark: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in shipped_dir("templates").glob(f"{NAME}.*.prompty"):
        head, sep, rest = path.read_text(encoding="utf-8").partition("\nsystem:\n")
        (folder / path.name).write_text(f"{head}{sep}{mark}\n{rest}", encoding="utf-8")
    return folder


def propagation(store_spec: str, publishes: int, replicas: int, work: Path) -> list[float]:
    from retention_mcp.generation.stores import open_store
    from retention_mcp.generation.template_store import TemplateStore
    from retention_mcp.generation.template_versions import publish

    seconds: list[float] = []
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(replica(store_spec))
        second = stack.enter_context(replica(store_spec)) if replicas == 2 else first
        store = TemplateStore(open_store(store_spec))
        with httpx2.Client(timeout=30) as http:
            for n in range(publishes):
                mark = f"Benchmark rule {n}: name an owner for every action."
                folder = edited(work / f"v{n}", mark)
                publish(store, folder, "bench", f"round {n}", "production")  # committed (and notified) on return
                started = time.perf_counter()
                while mark not in render(http, second):
                    time.sleep(0.005)
                seconds.append(time.perf_counter() - started)
        store.plans.close()
    return seconds


async def call_times(settings_kwargs: dict, calls: int) -> float:
    from mcp import Client

    from retention_mcp.app import RetentionApp
    from retention_mcp.server import build_server
    from retention_mcp.settings import Settings

    server = build_server(RetentionApp(Settings(**settings_kwargs)))
    async with Client(server) as client:
        await client.call_tool(NAME, ARGUMENTS)  # warm: the SDK's tool, the compiled template
        started = time.perf_counter()
        for _ in range(calls):
            await client.call_tool(NAME, ARGUMENTS)
        return (time.perf_counter() - started) / calls


def lookup(calls: int, rounds: int, work: Path) -> None:
    from retention_mcp.app import RetentionApp
    from retention_mcp.settings import Settings

    path = work / "plans.sqlite3"
    labelled = {"plan_store": path, "template_label": "production"}
    files = {"plan_store": path}
    RetentionApp(Settings(**labelled)).registry  # noqa: B018  seeds the store once, outside the timing
    per_call: dict[str, list[float]] = {"label": [], "files": []}
    loads: dict[str, list[float]] = {"label": [], "files": []}
    for _ in range(rounds):
        for key, kwargs in (("files", files), ("label", labelled)):
            per_call[key].append(anyio.run(call_times, kwargs, calls))
            app = RetentionApp(Settings(**kwargs))
            started = time.perf_counter()
            app.registry  # noqa: B018
            loads[key].append(time.perf_counter() - started)
    label, before = statistics.median(per_call["label"]), statistics.median(per_call["files"])
    print(f"lookup: per template call {label * 1e6:.0f} us serving the label vs {before * 1e6:.0f} us serving files "
          f"(before): {label / before:.2f}x ({calls} calls x {rounds} rounds, medians of rounds)")  # fmt: skip
    label_load, files_load = statistics.median(loads["label"]), statistics.median(loads["files"])
    print(f"lookup: loading the templates {label_load * 1e3:.1f} ms from the store's label vs {files_load * 1e3:.1f} "
          f"ms from the files: {label_load / files_load:.2f}x (once at start and once per publish or label move)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--publishes", type=int, default=10)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--only", default="propagation,lookup")
    args = parser.parse_args()
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="retention-mcp-bench-") as tmp:
        work = Path(tmp)
        if "propagation" in only:
            from tests.pg_cluster import Cluster

            cluster = Cluster().start()
            try:
                url = cluster.fresh_database("bench_versions")
                pg = propagation(url, args.publishes, 2, work / "pg")
            finally:
                cluster.stop()
            lite = propagation(str(work / "one.sqlite3"), args.publishes, 1, work / "sqlite")
            for label, found in (("PostgreSQL, second replica", pg), ("SQLite, one server", lite)):
                print(f"propagation ({label}): publish -> serving median {statistics.median(found) * 1e3:.0f} ms, "
                      f"max {max(found) * 1e3:.0f} ms over {len(found)} publishes")  # fmt: skip
        if "lookup" in only:
            lookup(args.calls, args.rounds, work)


if __name__ == "__main__":
    main()
