"""Double-click to tools listed: the MCP bundle unpacked and started as its manifest says, against the same server
started from the development virtual environment, measured in the same run. Also prints what users download and
install: bundle size, the bundle's environment, wheel size and an installed virtual environment.

  first start, cold   unpack + `uv run` with an empty uv cache: every locked wheel comes from PyPI
  first start, warm   unpack + `uv run` with the cache the cold start filled (a reinstall, or a second bundle)
  later start         the same unpacked bundle again, its environment already built
  baseline            `python -m retention_mcp serve` from this checkout's .venv

The host's own work (its dialog, and a Python download where no matching Python is installed) is not included.

    python bench/bundle_start.py [--runs N] [--skip-sizes]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
UV = str(Path(sys.executable).parent / "uv") if (Path(sys.executable).parent / "uv").exists() else shutil.which("uv")


def host_env(cache: Path) -> dict[str, str]:
    return {
        "PATH": str(Path(UV).parent) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(Path.home()),
        "UV_CACHE_DIR": str(cache),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_SYSTEM_CERTS": "1",
    }


def manifest_command(folder: Path) -> tuple[str, list[str], dict[str, str]]:
    """The command, arguments and environment the manifest gives, every option left at its default."""
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    variables = {"__dirname": str(folder)}
    variables |= {f"user_config.{k}": str(o.get("default", "")) for k, o in manifest["user_config"].items()}

    def fill(value: str) -> str:
        return re.sub(r"\$\{([^}]+)\}", lambda m: variables[m.group(1)], value)

    config = manifest["server"]["mcp_config"]
    return config["command"], [fill(a) for a in config["args"]], {k: fill(v) for k, v in config["env"].items()}


async def tools_listed(command: str, args: list[str], env: dict[str, str], cwd: Path) -> int:
    params = StdioServerParameters(command=command, args=args, env=env, cwd=str(cwd))
    async with Client(params, read_timeout_seconds=600) as client:
        return len((await client.list_tools()).tools)


async def double_click(bundle: Path, where: Path, cache: Path) -> tuple[float, Path]:
    """Unpack and start: seconds until the tools are listed, and the unpacked folder."""
    started = time.perf_counter()
    folder = where / "retention-mcp"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    command, args, env = manifest_command(folder)
    count = await tools_listed(shutil.which(command, path=host_env(cache)["PATH"]), args, host_env(cache) | env, where)
    if count < 7:  # the default tools mode: five template tools, list_plans and analyze_churn
        raise SystemExit(f"the bundle listed {count} tools, not the 7 of the default tools mode")
    return time.perf_counter() - started, folder


async def later_start(folder: Path, cache: Path) -> float:
    command, args, env = manifest_command(folder)
    started = time.perf_counter()
    await tools_listed(shutil.which(command, path=host_env(cache)["PATH"]), args, host_env(cache) | env, folder.parent)
    return time.perf_counter() - started


async def baseline(where: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}
    started = time.perf_counter()
    await tools_listed(sys.executable, ["-m", "retention_mcp", "serve"], env, where)
    return time.perf_counter() - started


def size(path: Path) -> int:
    """Bytes on disk, counting each hard-linked file once (uv links from its cache where it can)."""
    seen, total = set(), 0
    for file in path.rglob("*"):
        if file.is_file() and not file.is_symlink():
            stat = file.stat()
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size
    return total


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def sizes(work: Path) -> list[str]:
    dist = work / "dist"
    subprocess.run([UV, "build", "--wheel", "--out-dir", str(dist), str(ROOT)], check=True, capture_output=True)
    (wheel,) = dist.glob("*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    started = time.perf_counter()
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    seconds = time.perf_counter() - started
    return [
        f"  wheel:                          {mb(wheel.stat().st_size)}",
        f"  venv with the wheel installed:  {mb(size(venv))} (pip install took {seconds:.0f} s, pip cache warm)",
    ]


async def main(runs: int, skip_sizes: bool) -> None:
    if not UV:
        raise SystemExit("uv is needed: make .venv/.installed")
    with tempfile.TemporaryDirectory(prefix="bundle-bench-") as tmp:
        work = Path(tmp)
        subprocess.run(
            [sys.executable, str(ROOT / "bundle" / "build.py"), "--out", str(work), "--stage", str(work / "stage")],
            check=True,
            capture_output=True,
        )
        (bundle,) = work.glob("*.mcpb")
        base = [await baseline(work)]  # also warms the OS file cache for this checkout
        cache = work / "uv-cache"
        cold, folder = await double_click(bundle, work / "cold", cache)
        downloaded = size(cache)
        warm, later = [], []
        for index in range(runs):
            seconds, warm_folder = await double_click(bundle, work / f"warm{index}", cache)
            warm.append(seconds)
            later.append(await later_start(warm_folder, cache))
            base.append(await baseline(work))
        b = statistics.median(base)
        w, la = statistics.median(warm), statistics.median(later)
        print(f"double-click (unpack + first start) -> tools listed; medians of {runs} runs, baseline of {len(base)}")
        print(f"  baseline, dev .venv:            {b:7.2f} s")
        print(f"  first start, cold uv cache:     {cold:7.2f} s  ({cold / b:.1f}x baseline; one run, downloads)")
        print(f"  first start, warm uv cache:     {w:7.2f} s  ({w / b:.1f}x baseline)")
        print(f"  later start, environment built: {la:7.2f} s  ({la / b:.2f}x baseline)")
        print("sizes")
        print(f"  bundle (.mcpb):                 {mb(bundle.stat().st_size)}")
        print(f"  bundle's environment (.venv):   {mb(size(folder / '.venv'))}")
        print(f"  uv cache after the cold start:  {mb(downloaded)} (the locked wheels, downloaded and unpacked)")
        if not skip_sizes:
            for line in sizes(work):
                print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-sizes", action="store_true", help="skip building and installing the wheel")
    options = parser.parse_args()
    anyio.run(main, options.runs, options.skip_sizes)
