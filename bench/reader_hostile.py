"""The free-text reader on briefs built to make it backtrack, as a ratio to an ordinary brief of the same length.

Each hostile brief fills three inputs (a goals field and two constraint-bearing ones) with 8,000
characters of one repeated unit (a digit run, line breaks, spaces, "no SMS, ", "用户,", "5折"...); the baseline fills
them with a public example's own text, repeated to the same length. Both are read in the same process, interleaved,
best of several rounds. A reader that is linear in its input stays within a small multiple of the baseline; one that
backtracks quadratically is hundreds of times slower. Target: every ratio at most 4.

    python bench/reader_hostile.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import time

try:
    from retention_mcp.constraints.reader import read_constraints
except ImportError:  # a checkout from before the constraints package, for bench/against.py
    from retention_mcp.generation.constraints import read_constraints  # type: ignore[no-redef]
from retention_mcp.paths import EXAMPLES_FILE

TARGET = 4.0
SIZE = 8000
UNITS = {
    "digits": "1",
    "line breaks": "\n",
    "spaces": " ",
    "tabs": "\t",
    "no SMS, ": "no SMS, ",
    "no SMS、": "no SMS、",
    "no SMS and ": "no SMS and ",
    "用户,": "用户,",
    "用户以及": "用户以及",
    "5折": "5折",
    "5%-": "5%-",
    "三十万元": "三十万元",
}


def fill(unit: str) -> str:
    return ("a" + unit * (SIZE // len(unit) + 1))[:SIZE]


def brief(text: str) -> dict[str, str]:
    # renewal_campaign's goals and its two constraint-bearing inputs: the most reading any template asks for
    return {"campaign_goals": text, "budget_resources": text, "timeline": text}


def seconds(arguments: dict[str, str]) -> float:
    start = time.perf_counter()
    read_constraints(arguments, "campaign_goals")
    return time.perf_counter() - start


def main(rounds: int) -> None:
    example = next(s for s in json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))["scenarios"])
    prose = " ".join(v for v in example["arguments"].values() if isinstance(v, str))
    baseline_brief = brief((prose * (SIZE // len(prose) + 1))[:SIZE])
    hostile = {name: brief(fill(unit)) for name, unit in UNITS.items()}
    best = {name: float("inf") for name in ["baseline", *hostile]}
    for _ in range(rounds):
        best["baseline"] = min(best["baseline"], seconds(baseline_brief))
        for name, arguments in hostile.items():
            best[name] = min(best[name], seconds(arguments))
    base = best["baseline"]
    print(f"baseline (an example brief, 3 x {SIZE} characters): {base * 1000:.1f} ms")
    worst = 0.0
    for name in hostile:
        ratio = best[name] / base
        worst = max(worst, ratio)
        print(f"{name!r:>16}: {best[name] * 1000:8.1f} ms  ratio {ratio:6.1f}")
    print(f"worst ratio {worst:.1f} (target at most {TARGET:g}): {'ok' if worst <= TARGET else 'OVER'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    main(parser.parse_args().rounds)
