"""The server's own overhead per plan call, as a ratio to the same call without the MCP layer.

A stand-in model server on 127.0.0.1 answers at once with a finished plan (the public saas-collaboration-zh example)
and records how long each request spent inside it: that is the model's time. For each call:

    overhead = time of the whole call - the model's time

measured two ways in the same process, interleaved in rounds:
  direct: PlanService.generate (render, read constraints, HTTP to the model, parse, validate, Markdown, store)
  mcp:    the same through the in-memory MCP client: retention_strategy with mode="plan"

Target: the MCP path's overhead under 5 ms per call on this machine.

    python bench/plan_overhead.py [--calls N] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the stand-in model server lives with the tests

import anyio  # noqa: E402
from mcp import Client  # noqa: E402
from tests.standin_model import StandInModel, plan  # noqa: E402

from retention_mcp.generation.backends import make_backend  # noqa: E402
from retention_mcp.generation.service import PlanService  # noqa: E402
from retention_mcp.generation.sqlite_store import SQLitePlanStore  # noqa: E402
from retention_mcp.paths import EXAMPLES_FILE  # noqa: E402
from retention_mcp.registry import Registry  # noqa: E402
from retention_mcp.server import build_server  # noqa: E402
from retention_mcp.settings import ModelSettings  # noqa: E402

TARGET_MS = 5.0


async def timed(standin: StandInModel, call, calls: int) -> tuple[float, float]:
    """Mean seconds per call, and the mean of it spent inside the model server."""
    standin.handler_seconds.clear()
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    total = (time.perf_counter() - started) / calls
    return total, sum(standin.handler_seconds) / len(standin.handler_seconds)


async def main(calls: int, rounds: int) -> None:
    scenario = next(
        s for s in json.loads(EXAMPLES_FILE.read_text("utf-8"))["scenarios"] if s["id"] == "saas-collaboration-zh"
    )
    answer = json.loads((ROOT / "tests" / "fixtures" / "plans" / "saas-collaboration-zh.json").read_text("utf-8"))
    standin = StandInModel().start()
    standin.default = lambda received: plan(answer)
    settings = ModelSettings(provider="openai", base_url=standin.openai_url, model="stand-in", api_key="sk-bench")
    registry = Registry.load()
    template = registry.get(scenario["tool"])
    with tempfile.TemporaryDirectory() as tmp:
        direct_backend = make_backend(settings)
        direct = PlanService(direct_backend, SQLitePlanStore(Path(tmp) / "direct.sqlite3"))
        server = build_server(registry, model=settings, plan_store=Path(tmp) / "mcp.sqlite3")
        arguments = {**scenario["arguments"], "mode": "plan"}

        async def direct_call() -> None:
            result = await direct.generate(template, scenario["arguments"])
            assert result.validation and result.validation.passed

        try:
            async with Client(server) as client:

                async def mcp_call() -> None:
                    result = await client.call_tool(scenario["tool"], arguments)
                    assert not result.is_error and result.structured_content["validation"]["passed"]

                await timed(standin, direct_call, 20)  # warm-up: imports, connections, caches
                await timed(standin, mcp_call, 20)
                direct_rounds, mcp_rounds = [], []
                for _ in range(rounds):
                    direct_rounds.append(await timed(standin, direct_call, calls))
                    mcp_rounds.append(await timed(standin, mcp_call, calls))
        finally:
            await direct_backend.aclose()
            standin.stop()

    def summary(samples: list[tuple[float, float]]) -> tuple[float, float, float]:
        total = statistics.median(t for t, _ in samples)
        model = statistics.median(m for _, m in samples)
        return total, model, statistics.median(t - m for t, m in samples)

    d_total, d_model, d_over = summary(direct_rounds)
    m_total, m_model, m_over = summary(mcp_rounds)
    print(f"plan call (retention_strategy, zh example), median of {rounds} rounds x {calls} calls")
    print(f"  {'':<34}{'whole call':>12}{'model':>10}{'overhead':>10}")
    print(f"  {'direct (PlanService, no MCP)':<34}{d_total * 1e3:10.2f}ms{d_model * 1e3:8.2f}ms{d_over * 1e3:8.2f}ms")
    print(f"  {'through the MCP layer':<34}{m_total * 1e3:10.2f}ms{m_model * 1e3:8.2f}ms{m_over * 1e3:8.2f}ms")
    print(f"  overhead ratio MCP / direct: {m_over / d_over:.2f}x; MCP layer adds {(m_over - d_over) * 1e3:.2f} ms")
    verdict = "OK" if m_over * 1e3 < TARGET_MS else "OVER TARGET"
    print(f"  server overhead per plan call: {m_over * 1e3:.2f} ms (target < {TARGET_MS:g} ms) {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    anyio.run(main, options.calls, options.rounds)
