"""The distribution as users install it: an sdist built from the checkout, a wheel built from that sdist alone,
installed into a fresh virtual environment and run from an unrelated folder.

The builds are isolated (the build backend comes from the declared build-system requirements) and the dependencies
are resolved from the wheel's metadata, as `uvx` and `pipx` do, but with no network: uv runs offline from the cache
`make packaging-deps` filled (make test runs it first; tests/packaging_deps.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SCENARIOS, TEMPLATE_NAMES
from tests.doc_figures import check_stated_size
from tests.packaging_deps import TARGET, offline_env, require_prepared

pytestmark = pytest.mark.packaging

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]


def run(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=offline_env())
    assert proc.returncode == 0, (
        f"{' '.join(args)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n(offline: see {TARGET})"
    )
    return proc


def test_wheel_from_the_sdist_installs_into_a_fresh_venv_and_runs_the_demo_anywhere(tmp_path):
    uv = require_prepared()
    dist = tmp_path / "dist"
    run(uv, "build", "--sdist", "--python", sys.executable, "--out-dir", str(dist), str(ROOT))
    (sdist,) = dist.glob(f"retention_mcp-{VERSION}.tar.gz")
    # the wheel is built from the unpacked sdist only: the sdist holds everything a build needs
    run(uv, "build", "--wheel", "--python", sys.executable, "--out-dir", str(dist), str(sdist))
    (wheel,) = dist.glob(f"retention_mcp-{VERSION}-py3-none-any.whl")

    with tarfile.open(sdist) as archive:
        in_sdist = {Path(*Path(n).parts[1:]).as_posix() for n in archive.getnames()}
    assert {"pyproject.toml", "README.md", "server/retention_mcp/cli/__init__.py", "bundle/build.py"} <= in_sdist
    assert {f"templates/{name}.en.prompty" for name in TEMPLATE_NAMES} <= in_sdist
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
        entry_points = archive.read(f"retention_mcp-{VERSION}.dist-info/entry_points.txt").decode()
    assert {f"retention_mcp/templates/{name}.zh.prompty" for name in TEMPLATE_NAMES} <= in_wheel
    assert {"retention_mcp/examples/scenarios.json", "retention_mcp/examples/subscriptions.csv"} <= in_wheel
    assert any(n.startswith("retention_mcp/schemas/") for n in in_wheel)
    assert not [n for n in in_wheel if n.startswith(("tests/", "bench/")) or "__pycache__" in n]
    assert "retention-mcp = retention_mcp.cli:main" in entry_points
    check_stated_size("wheel", wheel.stat().st_size)  # the size docs/install.md gives

    venv = tmp_path / "fresh venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    run(uv, "pip", "install", "--quiet", "--python", str(bindir / "python"), str(wheel))
    elsewhere = tmp_path / "somewhere else"
    elsewhere.mkdir()
    where = run(str(bindir / "python"), "-c", "import retention_mcp; print(retention_mcp.__file__)", cwd=elsewhere)
    assert Path(where.stdout.strip()).is_relative_to(venv)  # the installed copy, not this checkout

    demo = run(str(bindir / "retention-mcp"), "demo", cwd=elsewhere, timeout=300)
    assert f"Rendered {len(SCENARIOS)} of {len(SCENARIOS)} example scenarios" in demo.stdout
    assert "next call on the same connection: ok" in demo.stdout
    assert "D3: Monthly customer churn rate (lost / active at start of month, pooled): 2.85%" in demo.stdout
    assert list(elsewhere.iterdir()) == []  # the demo writes nothing into the folder it runs from
