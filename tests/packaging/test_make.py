"""`make demo` installs the run-time packages only, and the demo runs with nothing else; the test tools come with
the targets that use them. Read from what make would run (`make -n` in a copy of the Makefile, so no .venv is
touched) and from a demo run in which every test-only package is unimportable."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT, SCENARIOS

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]


def requirement_name(requirement: str) -> str:
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower()


RUNTIME = {requirement_name(r) for r in PROJECT["dependencies"]}
TEST_ONLY = {requirement_name(r) for r in PROJECT["optional-dependencies"]["test"]} - RUNTIME
MODULES = {"psycopg": "psycopg", "pytest": "pytest", "pytest-xdist": "xdist", "ruff": "ruff", "lifetimes": "lifetimes"}
MODULES |= {"pandas": "pandas"}
MODULES |= {"mypy": "mypy", "lifelines": "lifelines", "uv": "uv", "hypothesis": "hypothesis", "polars": "polars"}
MODULES |= {"openai-agents": "agents", "langchain-core": "langchain_core", "google-genai": "google"}
MODULES |= {"jsonschema-pydantic": "jsonschema_pydantic", "playwright": "playwright", "ibis-framework": "ibis"}


def dry_run(target: str, tmp_path: Path) -> list[str]:
    """The commands `make TARGET` would run on a fresh clone (no .venv yet)."""
    make = shutil.which("make")
    if not make:
        pytest.skip("make is not installed")
    for name in ("Makefile", "pyproject.toml", "bundle/build.py", "tests/packaging_deps.py"):  # what targets need
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    # run from `make test`, make passes its level and flags down: this make is a top-level one all the same
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")}
    proc = subprocess.run(
        [make, "--no-print-directory", "-n", target], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def installs(commands: list[str]) -> list[str]:
    return [line for line in commands if "pip install" in line and "--upgrade pip" not in line]


def test_make_demo_installs_the_run_time_packages_only_and_the_demo_needs_no_more(tmp_path):
    assert set(MODULES) == TEST_ONLY, "a test-only package was added: name the module it installs here"
    commands = dry_run("demo", tmp_path)
    (install,) = installs(commands)
    assert install.endswith("pip install --quiet -e .")  # no extra: the test tools stay out
    said = next(line for line in commands if line.startswith("echo") and "demo" in line)
    assert "run-time packages only" in said and re.search(r"\d+ MB to download", said)
    assert commands[-1].endswith("retention-mcp demo")

    # every test-only package unimportable: the demo still renders every example and analyses the sample
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {sorted(MODULES.values())!r}:\n"
        "            raise ImportError(f'{name} is a test tool, not installed by make demo')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from retention_mcp.cli import main\n"
        "sys.exit(main(['demo']))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}
    demo = subprocess.run(
        [sys.executable, "-c", blocker], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert f"Rendered {len(SCENARIOS)} of {len(SCENARIOS)} example scenarios" in demo.stdout


@pytest.mark.parametrize("target", ["test", "lint", "golden", "bench", "packaging-deps", "bundle", "dist"])
def test_targets_that_use_the_test_tools_install_them_first(target, tmp_path):
    commands = installs(dry_run(target, tmp_path))
    assert commands[0].endswith("pip install --quiet -e .")
    assert commands[1].endswith("pip install --quiet -e '.[test]'"), commands


@pytest.mark.parametrize("readme", ["README.md", "README.zh-CN.md"])
def test_the_readme_gives_the_downloads_the_makefile_announces(readme):
    makefile = (ROOT / "Makefile").read_text("utf-8")
    announced = [int(n) for n in re.findall(r"about (\d+) MB (?:more )?to download", makefile)]
    assert len(announced) == 2, "the demo's and the test tools' downloads"
    quickstart = (ROOT / readme).read_text("utf-8").split("```sh\n", 1)[1].split("```", 1)[0]
    stated = [int(n) for n in re.findall(r"(\d+) MB", quickstart)]
    assert stated == announced, f"{readme}: {stated}, the Makefile says {announced}"
