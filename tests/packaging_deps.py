"""What the packaging tests need from the network, downloaded before they run, so that they run with none.

`make packaging-deps` (which `make test` runs first, and which returns at once when nothing changed) runs
`python -m tests.packaging_deps`. It fills uv's cache for this Python and platform with:

  the bundle's locked dependencies  bundle/build.py stages a bundle and runs `uv lock`; `uv sync --frozen` then
                                    installs it, as the bundle's first start does
  the same, as wheel files          the locked wheels for this Python and platform, in build/wheelhouse: the
                                    package index a test serves on loopback as a mirror (tests/packaging/test_bundle_start.py)
  the build backend                 `uv build` of the sdist, then of the wheel from that sdist (isolated builds
                                    fetch hatchling, as `pip install git+...` and `uvx` do)
  the wheel's dependencies          the wheel with its `postgres` extra (psycopg, its binary build and its pool, as
                                    the container image installs it) into a fresh virtual environment with
                                    `uv pip install`

and records in build/packaging-deps.json what it filled the cache for. The tests (tests/packaging/test_bundle.py,
tests/packaging/test_wheel.py) compare that record with the checkout, then repeat these steps with uv offline and every
other HTTP(S) access sent to a closed loopback port (OFFLINE below): what is not in the cache fails, never downloads.
tests/packaging/test_deploy.py runs the image's install script (deploy/install.sh) the same way, with uv as its installer.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STAMP = ROOT / "build" / "packaging-deps.json"
WHEELHOUSE = ROOT / "build" / "wheelhouse"
TARGET = "make packaging-deps"

CLOSED = "http://127.0.0.1:9"  # the discard port on loopback: nothing listens, so a connection is refused at once
OFFLINE = {
    "UV_OFFLINE": "1",  # uv uses its cache only
    "PIP_NO_INDEX": "1",
    **{name: CLOSED for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")},
    "NO_PROXY": "127.0.0.1,localhost",  # loopback stays reachable: the stand-in model server listens there
    "no_proxy": "127.0.0.1,localhost",
    "UV_PYTHON_DOWNLOADS": "never",
}
DEPLOY_EXTRA = "postgres"  # the extra the container image installs (deploy/install.sh)


def tool(name: str) -> str:
    """A command installed beside this Python (the .venv's uv), else on the PATH; "" when there is none."""
    found = Path(sys.executable).parent / name
    return str(found) if found.exists() else shutil.which(name) or ""


def uv_cache_dir(uv: str) -> str:
    proc = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def fingerprint(uv: str) -> dict:
    """What the cache was filled for: the dependencies, the Python and platform whose wheels it holds, and where."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    return {
        "dependencies": pyproject["project"]["dependencies"],
        "requires-python": pyproject["project"]["requires-python"],
        "build-system": pyproject["build-system"]["requires"],
        f"{DEPLOY_EXTRA} extra": pyproject["project"]["optional-dependencies"][DEPLOY_EXTRA],
        "bundle/build.py": hashlib.sha256((ROOT / "bundle" / "build.py").read_bytes()).hexdigest(),
        "python": f"{sys.implementation.name}-{sys.version_info.major}.{sys.version_info.minor}",
        "platform": sysconfig.get_platform(),
        "uv cache": uv_cache_dir(uv),
        "wheelhouse": WHEELHOUSE.relative_to(ROOT).as_posix(),
    }


def unavailable(message: str) -> None:
    """A missing prerequisite fails the run in CI (where CI is set) and skips the test elsewhere, saying why."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require(path: str | Path, what: str) -> None:
    if not path or not Path(path).exists():
        unavailable(f"{what} is not installed; run '{TARGET}' (make test runs it first; the mcpb CLI needs npm)")


def require_prepared() -> str:
    """uv, once `make packaging-deps` has filled its cache for this checkout; else fail in CI, skip elsewhere."""
    uv = tool("uv")
    require(uv, "uv")
    try:
        recorded = json.loads(STAMP.read_text("utf-8"))
    except FileNotFoundError:
        recorded = None
    expected = fingerprint(uv)
    if recorded != expected:
        changed = sorted(k for k in expected if (recorded or {}).get(k) != expected[k])
        state = "it has not run" if recorded is None else f"it ran for another {', '.join(changed)}"
        unavailable(f"the packaging tests run offline from uv's cache, which '{TARGET}' fills ({state})")
    return uv


def offline_env(**extra: str) -> dict[str, str]:
    """This process's environment without the server's own variables, with the network closed as OFFLINE says."""
    skip = ("RETENTION_MCP_", "PYTHONPATH", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if not k.startswith(skip)} | OFFLINE | extra


def wheel_build(uv: str, source: Path, out_dir: Path) -> list[str]:
    """The command that builds the wheel from `source` (the checkout or an sdist): isolated, for this Python."""
    return [uv, "build", "--wheel", "--python", sys.executable, "--out-dir", str(out_dir), str(source)]


def run(*args: str, env: dict[str, str], cwd: Path | None = None) -> None:
    print("+", " ".join(args), flush=True)
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{TARGET}: {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def main() -> int:
    uv = tool("uv")
    if not uv:
        sys.exit(f"{TARGET}: uv is missing; run 'make .venv/.installed-test' (the test extra has it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETENTION_MCP_", "VIRTUAL_ENV"))}
    env |= {"UV_SYSTEM_CERTS": "1", "UV_PYTHON": sys.executable, "UV_PYTHON_DOWNLOADS": "never"}
    STAMP.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="packaging-deps-") as scratch:
        tmp = Path(scratch)
        stage, dist = tmp / "bundle", tmp / "dist"
        run(sys.executable, str(ROOT / "bundle" / "build.py"), "--out", str(dist), "--stage", str(stage), env=env)
        run(uv, "sync", "--project", str(stage), "--frozen", "--no-dev", "--quiet", env=env)
        locked = tmp / "requirements.txt"
        run(uv, "export", "--project", str(stage), "--frozen", "--no-dev", "--no-header", "--quiet", "--format",
            "requirements-txt", "--output-file", str(locked), env=env)  # fmt: skip
        shutil.rmtree(WHEELHOUSE, ignore_errors=True)
        run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest",
            str(WHEELHOUSE), "--requirement", str(locked), env=env)  # fmt: skip
        run(uv, "build", "--sdist", "--python", sys.executable, "--out-dir", str(dist), str(ROOT), env=env)
        (sdist,) = dist.glob("*.tar.gz")
        run(*wheel_build(uv, sdist, dist), env=env)
        (wheel,) = dist.glob("*.whl")
        run(sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv"), env=env)
        python = tmp / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        run(uv, "pip", "install", "--quiet", "--python", str(python), f"{wheel}[{DEPLOY_EXTRA}]", env=env)
    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text(json.dumps(fingerprint(uv), indent=2) + "\n", encoding="utf-8")
    print(f"{TARGET}: uv's cache ({uv_cache_dir(uv)}) holds what the packaging tests need; wrote {STAMP}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
