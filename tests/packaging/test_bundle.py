"""The MCP Bundle for Claude Desktop: built by bundle/build.py, checked by the official `mcpb` CLI, unpacked and
started exactly as its manifest says (variables substituted as the host substitutes them), then spoken to over stdio.

Needs the mcpb CLI from npm in .tools/mcpb and uv's cache filled for the bundle's dependencies: `make packaging-deps`
does both, and `make test` runs it first. No network is used here: `uv lock` and the first start's install run with uv
offline, from that cache (tests/packaging_deps.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from retention_mcp import settings
from retention_mcp.paths import PACKAGE_DIR
from tests.conftest import ROOT, TEMPLATE_NAMES
from tests.doc_figures import check_stated_size
from tests.mcp.test_plan_generation import KEY, SAAS_ZH, fixture_plan
from tests.packaging_deps import OFFLINE, TARGET, offline_env, require, require_prepared, uv_cache_dir
from tests.standin_model import plan

pytestmark = pytest.mark.packaging

MCPB_PACKAGE = ROOT / ".tools" / "mcpb" / "node_modules" / "@anthropic-ai" / "mcpb"
MCPB = ROOT / ".tools" / "mcpb" / "node_modules" / ".bin" / ("mcpb.cmd" if os.name == "nt" else "mcpb")
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the .mcpb file, the staging folder) from bundle/build.py, run as `make bundle` runs it (uv lock offline)."""
    require_prepared()
    out = tmp_path_factory.mktemp("dist")
    stage = tmp_path_factory.mktemp("stage")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bundle" / "build.py"), "--out", str(out), "--stage", str(stage)],
        capture_output=True,
        text=True,
        timeout=300,
        env=offline_env(),
    )
    assert proc.returncode == 0, f"{proc.stderr}\n(uv ran offline: '{TARGET}' fills its cache)"
    return out / f"retention-mcp-{VERSION}.mcpb", stage


@pytest.fixture(scope="module")
def unpacked(built, tmp_path_factory):
    """The bundle unpacked by the official CLI, as a host unpacks it on install."""
    require(MCPB, "the mcpb CLI")
    target = tmp_path_factory.mktemp("Claude Extensions") / "retention-mcp"
    proc = subprocess.run([str(MCPB), "unpack", str(built[0]), str(target)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return target


def substitute(value: str, variables: dict[str, str]) -> str:
    """What the host does to mcp_config: ${__dirname}, ${HOME}, ${/} and ${user_config.KEY} replaced."""

    def one(match: re.Match) -> str:
        name = match.group(1)
        assert name in variables, f"the manifest uses ${{{name}}}, which the host would not know"
        return variables[name]

    return PLACEHOLDER.sub(one, value)


def test_bundle_is_a_zip_with_manifest_source_templates_and_lock(built):
    bundle, _ = built
    assert bundle.name == f"retention-mcp-{VERSION}.mcpb"
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
    assert {
        "manifest.json",
        "pyproject.toml",
        "uv.lock",
        "server/main.py",
        "server/retention_mcp/cli/__init__.py",
    } <= names
    assert {f"templates/{name}.{lang}.prompty" for name in TEMPLATE_NAMES for lang in ("zh", "en")} <= names
    assert "server/retention_mcp/examples/subscriptions.csv" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith(".venv/") or n.endswith(".pyc")]
    lock = tomllib.loads(zipfile.ZipFile(bundle).read("uv.lock").decode())
    locked = {p["name"] for p in lock["package"]}
    assert {"mcp", "pydantic", "jinja2", "duckdb", "scipy", "numpy", "matplotlib"} <= locked
    assert "pytest" not in locked and "pandas" not in locked  # the test extra stays out of the bundle


def test_the_bundle_size_in_the_docs_is_the_built_one(built):
    check_stated_size("bundle", built[0].stat().st_size)


def test_manifest_passes_the_official_validator_at_its_latest_version(built, unpacked):
    manifest_file = unpacked / "manifest.json"
    proc = subprocess.run([str(MCPB), "validate", str(manifest_file)], capture_output=True, text=True)
    assert proc.returncode == 0 and "validation passes" in proc.stdout, proc.stdout + proc.stderr
    constants = (MCPB_PACKAGE / "dist" / "shared" / "constants.js").read_text("utf-8")
    latest = re.search(r'LATEST_MANIFEST_VERSION = "([\d.]+)"', constants).group(1)
    manifest = json.loads(manifest_file.read_text("utf-8"))
    assert manifest["manifest_version"] == latest and manifest["version"] == VERSION
    # the validator is not a rubber stamp: an unknown server type is refused
    broken = unpacked.parent / "broken.json"
    broken.write_text(json.dumps({**manifest, "server": {**manifest["server"], "type": "conda"}}), "utf-8")
    refused = subprocess.run([str(MCPB), "validate", str(broken)], capture_output=True, text=True)
    assert refused.returncode != 0


def test_user_config_covers_model_key_folder_tools_language_and_index(unpacked):
    manifest = json.loads((unpacked / "manifest.json").read_text("utf-8"))
    options = manifest["user_config"]
    server_options = {"llm_provider", "llm_base_url", "llm_model", "llm_api_key", "data_dir", "tools", "language"}
    assert set(options) == server_options | {"index_url"}  # the package index the launcher installs from
    assert options["llm_api_key"]["sensitive"] is True and options["data_dir"]["type"] == "directory"
    assert not [k for k, o in options.items() if o.get("sensitive") and k != "llm_api_key"]
    env = manifest["server"]["mcp_config"]["env"]
    known = {value for key, value in vars(settings).items() if key.startswith("ENV_")} | {"RETENTION_MCP_LANGUAGE"}
    known |= {"RETENTION_MCP_INDEX_URL"}
    assert set(env) <= known
    assert sorted(PLACEHOLDER.findall("".join(env.values()))) == sorted(f"user_config.{k}" for k in options)
    assert manifest["server"]["type"] == "uv" and manifest["compatibility"]["runtimes"]["python"] == ">=3.11"


def host_params(unpacked: Path, user_config: dict[str, str], tmp_path: Path, cwd: Path | None = None):
    """The stdio parameters a host derives from the manifest: command, arguments and environment with every variable
    filled, on top of the host's own environment, started outside the data folder (as desktop apps do)."""
    from mcp import StdioServerParameters

    manifest = json.loads((unpacked / "manifest.json").read_text("utf-8"))
    assert set(user_config) == set(manifest["user_config"])
    variables = {"__dirname": str(unpacked), "HOME": str(Path.home()), "/": os.sep, "pathSeparator": os.sep}
    variables |= {f"user_config.{k}": v for k, v in user_config.items()}
    config = manifest["server"]["mcp_config"]
    command = substitute(config["command"], variables)
    args = [substitute(a, variables) for a in config["args"]]
    env = {name: substitute(value, variables) for name, value in config["env"].items()}
    uv = require_prepared()
    host_env = {
        "PATH": str(Path(uv).parent) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(Path.home()),
        "XDG_DATA_HOME": str(tmp_path / "user-data"),  # the plan store goes here, not into the real home
        "UV_PYTHON": sys.executable,  # the host brings its own Python; here, the one running the tests
        # where a host downloads the locked wheels, this test takes them from the cache `make packaging-deps` filled
        "UV_CACHE_DIR": uv_cache_dir(uv),
        **OFFLINE,
    }
    workdir = cwd or tmp_path / "elsewhere"
    workdir.mkdir(exist_ok=True)
    executable = shutil.which(command, path=host_env["PATH"])
    assert executable, f"{command} is not on the PATH"
    return StdioServerParameters(command=executable, args=args, env=host_env | env, cwd=str(workdir))


@pytest.mark.anyio
async def test_unpacked_bundle_starts_as_the_manifest_says_and_serves(unpacked, standin, tmp_path):
    from mcp import Client

    data = tmp_path / "Customer data"
    data.mkdir()
    shutil.copy(PACKAGE_DIR / "examples" / "subscriptions.csv", data / "exports.csv")
    user_config = {
        "llm_provider": "openai",
        "llm_base_url": standin.url("openai"),
        "llm_model": "stand-in-1",
        "llm_api_key": KEY,
        "data_dir": str(data),
        "tools": "full",
        "language": "en",
        "index_url": "",
    }
    standin.queue(plan(fixture_plan("saas-collaboration-zh")))
    async with Client(host_params(unpacked, user_config, tmp_path)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        analysis = await client.call_tool("analyze_churn", {"path": "exports.csv", "charts": False})
        planned = await client.call_tool("retention_strategy", {**SAAS_ZH["arguments"], "mode": "plan"})
    # tools mode "full": one tool per template, no compact tools
    assert set(TEMPLATE_NAMES) <= names and "analyze_churn" in names and "render_template" not in names
    # the data folder from user_config is readable
    assert not analysis.is_error, analysis.content[0].text
    assert (
        "D3: Monthly customer churn rate (lost / active at start of month, pooled): 2.85%" in analysis.content[0].text
    )
    # provider, base URL, model and key from user_config reached the model endpoint
    assert not planned.is_error, planned.content[0].text
    assert planned.structured_content["validation"]["passed"] is True
    (request,) = standin.received
    assert request.headers["authorization"] == f"Bearer {KEY}" and request.body["model"] == "stand-in-1"
    assert KEY not in json.dumps(planned.structured_content)
    assert (unpacked / ".venv").is_dir()  # uv built the environment inside the extension's folder


@pytest.mark.anyio
async def test_bundle_with_every_setting_at_its_default_serves_prompts_and_only_the_example_data(unpacked, tmp_path):
    from mcp import Client

    manifest = json.loads((unpacked / "manifest.json").read_text("utf-8"))
    defaults = {key: str(option.get("default", "")) for key, option in manifest["user_config"].items()}
    private = tmp_path / "customers.csv"
    shutil.copy(PACKAGE_DIR / "examples" / "subscriptions.csv", private)
    root = Path(Path.cwd().anchor)  # Claude Desktop on macOS starts servers in the file-system root
    async with Client(host_params(unpacked, defaults, tmp_path, cwd=root)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        example = await client.call_tool("analyze_churn", {"path": "subscriptions.csv", "charts": False})
        refused = await client.call_tool("analyze_churn", {"path": str(private), "charts": False})
        no_model = await client.call_tool("retention_strategy", {**SAAS_ZH["arguments"], "mode": "plan"})
        prompt = await client.call_tool("retention_strategy", SAAS_ZH["arguments"])
    assert (
        set(TEMPLATE_NAMES) | {"check_plan", "list_plans", "analyze_churn"} == names
    )  # tools "full", the server's default
    assert not example.is_error, example.content[0].text  # the bundled example data is always readable
    assert refused.is_error and "RETENTION_MCP_DATA_DIRS" in refused.content[0].text  # nothing else without a folder
    assert no_model.is_error and "RETENTION_MCP_LLM_PROVIDER" in no_model.content[0].text
    assert not prompt.is_error and prompt.structured_content["language"] == "zh"


def test_chinese_strings_for_hosts_that_localize(unpacked):
    manifest = json.loads((unpacked / "manifest.json").read_text("utf-8"))
    resource = manifest["localization"]["resources"].replace("${locale}", "zh-CN")
    strings = json.loads((unpacked / resource).read_text("utf-8"))
    assert set(strings) <= {"display_name", "description", "long_description", "keywords", "author", "tools"}
    assert "客户留存" in strings["display_name"] and "流失" in strings["description"]
