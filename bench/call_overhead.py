"""A template tool call as a ratio to an empty tool call, both through the in-memory MCP client.

The empty call goes to a bare MCPServer tool that returns a constant; the template call renders
retention_strategy with a public example (validation, sandboxed rendering, structured result). Both are timed
in the same process, alternated call by call; the ratio is the median of the rounds' ratios. Target: at most 1.5.

    python bench/call_overhead.py [--calls N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import anyio
from mcp import Client
from mcp.server import MCPServer

from retention_mcp.paths import EXAMPLES_FILE
from retention_mcp.registry import Registry
from retention_mcp.server import build_server

TARGET = 1.5


def empty_server() -> MCPServer:
    server = MCPServer("empty", log_level="WARNING")

    @server.tool()
    def empty() -> str:
        """Do nothing."""
        return "ok"

    return server


async def paired(base: Client, ours: Client, name: str, args: dict, calls: int) -> tuple[float, float]:
    """`calls` pairs of one empty call and one template call, alternated call by call so a load spike on the
    machine hits both alike; the time per call of each."""
    empty = template = 0.0
    for _ in range(calls):
        started = time.perf_counter()
        result = await base.call_tool("empty", {})
        empty += time.perf_counter() - started
        assert not result.is_error
        started = time.perf_counter()
        result = await ours.call_tool(name, args)
        template += time.perf_counter() - started
        assert not result.is_error
    return empty / calls, template / calls


async def main(calls: int, rounds: int) -> None:
    scenario = next(
        s for s in json.loads(EXAMPLES_FILE.read_text("utf-8"))["scenarios"] if s["id"] == "saas-collaboration-zh"
    )
    async with Client(empty_server()) as base, Client(build_server(Registry.load())) as ours:
        await paired(base, ours, scenario["tool"], scenario["arguments"], 50)  # warm-up
        pairs = [await paired(base, ours, scenario["tool"], scenario["arguments"], calls) for _ in range(rounds)]
    empty_med = statistics.median(p[0] for p in pairs)
    template_med = statistics.median(p[1] for p in pairs)
    ratio = statistics.median(t / e for e, t in pairs)
    print(f"tool call through the in-memory MCP client, {rounds} rounds x {calls} alternated pairs, medians")
    print(f"  empty tool (bare MCPServer):         {empty_med * 1e6:8.1f} us/call")
    print(f"  retention_strategy (zh example):     {template_med * 1e6:8.1f} us/call")
    print(f"  ratio: {ratio:.3f}x (target <= {TARGET}x) {'OK' if ratio <= TARGET else 'OVER TARGET'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    anyio.run(main, options.calls, options.rounds)
