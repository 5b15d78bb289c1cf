"""Run one bench script against this checkout and another one (an earlier commit, say), in turns, in one session.

The script is this checkout's (bench/NAME.py); only the server code differs: each run puts the chosen checkout's
server/ folder first on PYTHONPATH. Runs alternate (other, this, other, this...) so both see the same machine. Each
output line that carries numbers is printed once per checkout, with the best (lowest) value of every number over the
rounds, and the ratio this / other of the line's first time (a number followed by s, ms, us or µs; else its last
number):

    python bench/against.py [--rounds 3] CHECKOUT bench/call_overhead.py [-- SCRIPT ARGS...]

Lines are matched by their position in the output, so the script must print the same lines for both checkouts.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
TIME = re.compile(r"(-?\d[\d,]*(?:\.\d+)?)\s*(?:ms|us|µs|s)\b")
HERE = Path(__file__).resolve().parents[1]


def run(script: Path, tree: Path, args: list[str]) -> list[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "server"), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(script), *args], env=env, capture_output=True, text=True, check=False, cwd=HERE
    )
    if done.returncode != 0:
        raise SystemExit(f"{script.name} failed with {tree}:\n{done.stderr[-2000:]}")
    return [line for line in done.stdout.splitlines() if NUMBER.search(line)]


def numbers(line: str) -> list[float]:
    return [float(n.replace(",", "")) for n in NUMBER.findall(line)]


def headline(line: str) -> int:
    """The index, among the line's numbers, of the one the ratio is taken of."""
    time = TIME.search(line)
    if time is None:
        return len(NUMBER.findall(line)) - 1
    return len(NUMBER.findall(line[: time.start(1)]))


def best(outputs: list[list[str]]) -> list[tuple[str, list[float]]]:
    """Per line: its text from the first round and, for every number on it, the lowest value over the rounds."""
    lines = []
    for index, line in enumerate(outputs[0]):
        values = [numbers(out[index]) for out in outputs if index < len(out)]
        width = min(len(v) for v in values)
        lines.append((line, [min(v[i] for v in values) for i in range(width)]))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="the other checkout (its server/ folder is used)")
    parser.add_argument("script", type=Path, help="a bench script of this checkout")
    parser.add_argument("--rounds", type=int, default=3)
    argv = sys.argv[1:]
    args = argv[argv.index("--") + 1 :] if "--" in argv else []
    options = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    other = options.checkout.resolve()
    runs: dict[str, list[list[str]]] = {"this": [], "other": []}
    for _ in range(options.rounds):
        runs["other"].append(run(options.script, other, args))
        runs["this"].append(run(options.script, HERE, args))
    this, that = best(runs["this"]), best(runs["other"])
    print(f"{options.script.name}: this checkout vs {other}, best of {options.rounds} rounds each, taking turns")
    for (line, mine), (_, theirs) in zip(this, that, strict=False):
        at = headline(line)
        ok = 0 <= at < min(len(mine), len(theirs)) and theirs[at]
        ratio = f"{mine[at] / theirs[at]:.2f}x" if ok else "-"
        shown = f"this {mine[at]:g}, other {theirs[at]:g}" if ok else ""
        print(f"  {line.strip()[:100]}")
        print(f"      {shown}  ->  {ratio}")


if __name__ == "__main__":
    main()
