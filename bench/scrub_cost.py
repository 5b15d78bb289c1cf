"""What scrubbing a 200 KB plan text costs, against the scrubber of an earlier revision (read from git), same
secrets, same texts, in the same process, interleaved, best of several rounds.

Texts: an ordinary plan text (the bundled examples in both languages, as Markdown, repeated to 200 KB), the same with
the key echoed in several forms, and hostile texts (runs of mask characters, spaces, line breaks, a base64 blob, the
key's first and last characters repeated). The scrubber reads each text a fixed number of times, so every ratio stays
a small constant however the text is built; one that backtracked would be hundreds of times slower on the hostile
ones.

    python bench/scrub_cost.py [--baseline REV] [--rounds N]
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import time
import types
from pathlib import Path

from retention_mcp import redaction
from retention_mcp.paths import EXAMPLES_FILE

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "15dad87"  # the scrubber before masked, encoded, split and short forms were handled
SIZE = 200_000
KEY = "Zq9x7fPx2LmN4tRv8WbY1cKdQ3"
SECRETS = [KEY, "team-token-Hq7Lw2Zx9", "k9Vq"]


def load_baseline(rev: str) -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{rev}:server/retention_mcp/redaction.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("redaction_baseline")
    exec(compile(source, "redaction_baseline.py", "exec"), module.__dict__)  # our own file, from git
    return module


def repeat(unit: str) -> str:
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


def plan_text() -> str:
    scenarios = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))["scenarios"]
    lines: list[str] = []
    for example in scenarios:
        lines.append(f"## **{example['id']}** …")
        for name, value in example["arguments"].items():
            lines.append(f"- **{name}**: {value}")
    return repeat("\n".join(lines) + "\n")


def texts() -> dict[str, str]:
    ordinary = plan_text()
    echoes = [KEY, KEY[::-1], KEY.encode().hex(), base64.b64encode(KEY.encode()).decode(), "sk-...KdQ3", KEY[:9] + "\n"]
    with_key = ordinary[: SIZE // 2] + " ".join(echoes) + ordinary[SIZE // 2 :]
    return {
        "plan text": ordinary,
        "plan text, key in 6 forms": with_key[:SIZE],
        "mask characters": repeat("*.…x"),
        "dots": repeat("."),
        "spaces": repeat(" "),
        "line breaks": repeat("\n"),
        "base64 blob": base64.b64encode(bytes(range(256)) * (SIZE // 340)).decode()[:SIZE],
        "key edges and masks": repeat("Zq9x****KdQ3 "),
    }


def best(scrub, text: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        scrub(text)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the scrubber to compare with")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    old = load_baseline(args.baseline)
    old.register(*SECRETS)
    redaction.register(*SECRETS)
    print(f"{'text (200 KB)':28} {'before ms':>10} {'after ms':>10} {'ratio':>7}")
    worst = 0.0
    for name, text in texts().items():
        before = after = float("inf")
        for _ in range(3):  # interleaved, so both see the same machine
            before = min(before, best(old.scrub, text, args.rounds))
            after = min(after, best(redaction.scrub, text, args.rounds))
        ratio = after / before
        worst = max(worst, ratio)
        print(f"{name:28} {before * 1000:10.2f} {after * 1000:10.2f} {ratio:7.2f}")
    print(f"worst ratio {worst:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
