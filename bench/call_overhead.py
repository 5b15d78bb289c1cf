"""A template tool call as a ratio to an empty tool call, both through the in-memory MCP client.

The empty call goes to a bare MCPServer tool that returns a constant; the template call renders
retention_strategy with a public example (validation, sandboxed rendering, structured result). Both are timed
in the same process, interleaved in rounds. Target: ratio at most 1.5.

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
    """The baseline: `empty` as most tools are written (a plain function, which the SDK runs on a worker thread, so
    its time swings with how fast the machine wakes that thread), and `empty_async` for the SDK's own floor."""
    server = MCPServer("empty", log_level="WARNING")

    @server.tool()
    def empty() -> str:
        """Do nothing."""
        return "ok"

    @server.tool()
    async def empty_async() -> str:
        """Do nothing, on the event loop."""
        return "ok"

    return server


async def per_call(client: Client, name: str, args: dict, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        result = await client.call_tool(name, args)
        assert not result.is_error
    return (time.perf_counter() - started) / calls


async def main(calls: int, rounds: int) -> None:
    scenario = next(
        s for s in json.loads(EXAMPLES_FILE.read_text("utf-8"))["scenarios"] if s["id"] == "saas-collaboration-zh"
    )
    async with Client(empty_server()) as base, Client(build_server(Registry.load())) as ours:
        await per_call(base, "empty", {}, 50)  # warm-up
        await per_call(base, "empty_async", {}, 50)
        await per_call(ours, scenario["tool"], scenario["arguments"], 50)
        empty_times, async_times, template_times = [], [], []
        for _ in range(rounds):
            empty_times.append(await per_call(base, "empty", {}, calls))
            async_times.append(await per_call(base, "empty_async", {}, calls))
            template_times.append(await per_call(ours, scenario["tool"], scenario["arguments"], calls))
    empty_med, template_med = statistics.median(empty_times), statistics.median(template_times)
    async_med = statistics.median(async_times)
    ratio = template_med / empty_med
    print(f"tool call through the in-memory MCP client, median of {rounds} rounds x {calls} calls")
    print(f"  empty tool (bare MCPServer):         {empty_med * 1e6:8.1f} us/call")
    print(f"  empty async tool (for reference):    {async_med * 1e6:8.1f} us/call ({template_med / async_med:.2f}x)")
    print(f"  retention_strategy (zh example):     {template_med * 1e6:8.1f} us/call")
    print(f"  ratio: {ratio:.3f}x (target <= {TARGET}x) {'OK' if ratio <= TARGET else 'OVER TARGET'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    anyio.run(main, options.calls, options.rounds)
