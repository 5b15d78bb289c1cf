"""The constraint reader on ordinary briefs: every bundled example brief read from scratch (the reader's caches
cleared before each read, as for a brief the server has not seen), best of several rounds, in microseconds per brief.

Run it against an earlier checkout with bench/against.py to compare, in one session:

    python bench/against.py --rounds 3 CHECKOUT bench/reader_latency.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time

try:
    from retention_mcp.constraints.reader import read_constraints
    from retention_mcp.prompting import GOAL_FIELDS
except ImportError:  # a checkout from before the constraints package, for bench/against.py
    from retention_mcp.generation.constraints import read_constraints  # type: ignore[no-redef]
    from retention_mcp.generation.effective import GOAL_FIELDS  # type: ignore[no-redef]
from retention_mcp.paths import EXAMPLES_FILE


def clear_caches() -> None:
    """The bounded functools caches of the server's modules, which hold texts read before: each read is a first read
    (the unbounded ones hold compiled patterns, which the server keeps)."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("retention_mcp.") or module is None:
            continue
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            mine = callable(clear) and getattr(value, "__module__", "") == name
            if mine and value.cache_parameters().get("maxsize") is not None:
                clear()


def main(rounds: int) -> None:
    scenarios = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))["scenarios"]
    briefs = [(s["arguments"], GOAL_FIELDS.get(s["tool"])) for s in scenarios]
    for arguments, goal in briefs:  # warm the compiled patterns: the server compiles them once
        read_constraints(arguments, goal)
    best = [float("inf")] * len(briefs)
    for _ in range(rounds):
        for i, (arguments, goal) in enumerate(briefs):
            clear_caches()
            start = time.perf_counter()
            read_constraints(arguments, goal)
            best[i] = min(best[i], time.perf_counter() - start)
    total = sum(best)
    print(f"{len(briefs)} bundled briefs, first read each: {total / len(briefs) * 1e6:.0f} µs per brief")
    for (_arguments, _goal), seconds, scenario in zip(briefs, best, scenarios, strict=True):
        print(f"  {scenario['id']:<32} {seconds * 1e6:8.0f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    main(parser.parse_args().rounds)
