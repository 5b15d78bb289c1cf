"""Stdio cold start, spawn to tools listed: retention-mcp as a ratio to a minimal MCPServer with one tool.

Both servers are started the same way (this Python, a fresh process, the SDK's stdio client) and measured
alternately in the same run, so the machine's load affects both alike. Both read their modules' bytecode, as an
installed package does after its first start: a PYTHONDONTWRITEBYTECODE in the environment would leave the SDK
compiled (as installed) and this package compiled from source at every start. Target: ratio at most 1.15.

    python bench/cold_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

HERE = Path(__file__).resolve().parent
TARGET = 1.15


async def spawn_to_tools(args: list[str]) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_") and k != "PYTHONDONTWRITEBYTECODE"}
    params = StdioServerParameters(command=sys.executable, args=args, env=env)
    started = time.perf_counter()
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        elapsed = time.perf_counter() - started
    return elapsed, len(tools)


async def main(runs: int) -> None:
    baseline_args = [str(HERE / "minimal_server.py")]
    ours_args = ["-m", "retention_mcp", "serve"]
    await spawn_to_tools(baseline_args)  # warm the OS file cache (and write the bytecode) for both before measuring
    await spawn_to_tools(ours_args)
    baseline, ours = [], []
    for index in range(runs):
        pair = [(baseline, baseline_args, 1), (ours, ours_args, 8)]
        for samples, args, expected_tools in pair if index % 2 == 0 else reversed(pair):
            elapsed, count = await spawn_to_tools(args)
            if count != expected_tools:
                raise SystemExit(f"{args}: listed {count} tools, expected {expected_tools}")
            samples.append(elapsed)
    base_med, ours_med = statistics.median(baseline), statistics.median(ours)
    ratio = ours_med / base_med
    print(f"stdio cold start, spawn -> tools listed, median of {runs} runs each")
    print(f"  minimal MCPServer (1 tool):   {base_med * 1000:7.1f} ms")
    print(f"  retention-mcp (8 tools):      {ours_med * 1000:7.1f} ms")
    print(f"  ratio: {ratio:.3f}x (target <= {TARGET}x) {'OK' if ratio <= TARGET else 'OVER TARGET'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    anyio.run(main, parser.parse_args().runs)
