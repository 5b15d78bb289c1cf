"""Build the MCP Bundle for Claude Desktop: dist/retention-mcp-<version>.mcpb (`make bundle`).

The bundle uses the manifest's `uv` server type: it carries the package's source, its templates and schemas, a
pyproject.toml listing the run-time dependencies and a uv.lock pinning them for every platform. The host (Claude
Desktop) provides uv, which the manifest has run server/launch.py (bundle/launch.py): on first start it installs the
locked wheels, from the mirror set in the bundle's settings if any, with a Python found on the machine or fetched, and
tells the client why when that fails. The user needs no toolchain. numpy, scipy, duckdb, matplotlib and pydantic-core are compiled per platform and Python version: a
`python`-type bundle would have to carry them for one platform and rely on the user's own Python of that version.

Needs only this checkout's virtual environment (Python 3.11+, the `test` extra for uv) and PyPI for `uv lock`.
Usage: python bundle/build.py [--out DIR] [--stage DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_VERSION = "0.4"  # the first manifest version with the `uv` server type (@anthropic-ai/mcpb 2.x)
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed timestamps: the same source gives the same bundle
SKIP = {"__pycache__", ".venv", ".DS_Store"}

# What the user sets in Claude Desktop when installing, and the server's environment variable each one fills.
USER_CONFIG = {
    "llm_provider": {
        "type": "string",
        "title": "Model provider for plan mode / 方案模式的模型接口",
        "description": "openai (also any OpenAI-compatible endpoint: DeepSeek, Qwen, Ollama) or anthropic. Leave empty "
        "to only fill prompts for Claude. / 填 openai(也适用于 DeepSeek、通义千问、Ollama 等兼容接口)或 anthropic;留空则只生成提示词。",
        "required": False,
        "default": "",
    },
    "llm_base_url": {
        "type": "string",
        "title": "Model endpoint (base URL) / 模型接口地址",
        "description": "e.g. https://api.deepseek.com/v1 or http://localhost:11434/v1; empty: the provider's default. "
        "/ 例如 https://api.deepseek.com/v1;留空使用默认地址。",
        "required": False,
        "default": "",
    },
    "llm_model": {
        "type": "string",
        "title": "Model name / 模型名称",
        "description": "Required with a provider, e.g. deepseek-chat, qwen-plus. / 设置了接口时必填,例如 deepseek-chat。",
        "required": False,
        "default": "",
    },
    "llm_api_key": {
        "type": "string",
        "title": "Model API key / 模型 API 密钥",
        "description": "Masked, and stored securely by Claude Desktop; never shown or logged by the server. "
        "/ 输入时隐藏,由 Claude Desktop 安全保存;服务器不会显示或记录。",
        "sensitive": True,
        "required": False,
        "default": "",
    },
    "data_dir": {
        "type": "directory",
        "title": "Data folder for churn analysis / 流失分析的数据文件夹",
        "description": "The folder whose CSV, Parquet or JSON Lines files analyze_churn may read. Empty: only the "
        "bundled example data. / analyze_churn 可读取的文件夹;留空则只能读取自带的示例数据。",
        "required": False,
        "default": "",
    },
    "tools": {
        "type": "string",
        "title": "Tools mode / 工具模式",
        "description": "full (default: one typed tool per template, descriptions in one language), compact (any "
        "template by name, fewest tokens) or all (both, bilingual). / full(默认:每个模板一个带类型的工具,说明为单一语言)、"
        "compact(按名称调用任一模板,最省 token)或 all(两者兼有,中英双语)。",
        "required": False,
        "default": "full",
    },
    "language": {
        "type": "string",
        "title": "Language of tool descriptions / 工具说明的语言",
        "description": "zh or en; empty: the server's default. / zh 或 en;留空使用默认值。",
        "required": False,
        "default": "",
    },
    "index_url": {
        "type": "string",
        "title": "Package index (mirror) / 软件包索引(镜像)",
        "description": "Where the first start downloads the server's Python packages, when PyPI is slow or blocked "
        "here: a PyPI mirror or your company's index, e.g. https://mirror.example/pypi/simple. The locked versions "
        "and their hashes are checked either way. Empty: PyPI. / 首次启动时下载服务器所需 Python 软件包的地址,在 PyPI "
        "缓慢或无法访问时填写 PyPI 镜像或公司内部索引;无论从哪里下载,都会核对锁定的版本和哈希。留空使用 PyPI。",
        "required": False,
        "default": "",
    },
}
ENV = {
    "RETENTION_MCP_LLM_PROVIDER": "${user_config.llm_provider}",
    "RETENTION_MCP_LLM_BASE_URL": "${user_config.llm_base_url}",
    "RETENTION_MCP_LLM_MODEL": "${user_config.llm_model}",
    "RETENTION_MCP_LLM_API_KEY": "${user_config.llm_api_key}",
    "RETENTION_MCP_DATA_DIRS": "${user_config.data_dir}",
    "RETENTION_MCP_TOOLS": "${user_config.tools}",
    "RETENTION_MCP_LANGUAGE": "${user_config.language}",
    "RETENTION_MCP_INDEX_URL": "${user_config.index_url}",  # read by the launcher, not passed to the server
}
SERVER_MAIN = "server/main.py"  # runs the server inside the bundle's environment
ENTRY_POINT = "server/launch.py"  # installs that environment (standard library only), then runs SERVER_MAIN
MCP_CONFIG = {
    # the launcher runs on any Python uv finds, preferring one installed here to a download; it keeps the host's
    # working directory (data access stays opt-in), installs exactly uv.lock, reports uv's output on stderr (the
    # server's log), and answers the client with the reason when the install fails
    "command": "uv",
    "args": ["run", "--no-project", "--python-preference", "system", "${__dirname}/" + ENTRY_POINT],
    "env": ENV,
}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def find_uv() -> str:
    beside = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        sys.exit(
            "bundle: uv is needed to lock the dependencies; run 'make .venv/.installed-test' (the test extra has it)"
        )
    return found


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=lambda _dir, names: [n for n in names if n in SKIP or n.endswith(".pyc")])


def bundle_pyproject(meta: dict) -> str:
    deps = "".join(f"    {json.dumps(d)},\n" for d in meta["dependencies"])
    return (
        "# The run-time environment of the MCP bundle; uv.lock pins it for every platform.\n"
        "[project]\n"
        f"name = {json.dumps(meta['name'])}\n"
        f"version = {json.dumps(meta['version'])}\n"
        f"description = {json.dumps(meta['description'])}\n"
        f"requires-python = {json.dumps(meta['requires-python'])}\n"
        f"dependencies = [\n{deps}]\n\n"
        "[tool.uv]\n"
        "package = false  # the package runs from server/ beside main.py; uv installs only its dependencies\n"
        'python-preference = "system"  # a Python installed here before a download\n'
    )


def declared_tools(stage: Path) -> list[dict[str, str]]:
    """The tools the bundled server lists with the shipped templates, read from it over stdio."""
    import anyio
    from mcp import Client, StdioServerParameters

    async def listing():
        env = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}
        params = StdioServerParameters(command=sys.executable, args=[str(stage / SERVER_MAIN)], env=env)
        async with Client(params) as client:
            return (await client.list_tools()).tools

    tools = anyio.run(listing)
    return [{"name": t.name, "description": (t.description or "").split("\n")[0][:300]} for t in tools]


# Chinese is first-class: hosts that follow the manifest's localization read these for a Chinese interface.
LOCALIZED = {
    "zh-CN": {
        "display_name": "Retention MCP:客户留存方案与流失分析",
        "description": "五个客户留存提示词模板(中英文)作为类型化工具;可由你选择的模型生成经过约束检查的完整方案;"
        "并用你自己的数据计算流失分析。",
        "long_description": "五个模板(留存策略、会员忠诚计划、续费活动、流失分析、订阅运营手册),每个都有中文和英文版本,"
        "以类型化工具提供。配置模型后(任何 OpenAI 兼容接口,或 Anthropic),方案模式返回按预算、折扣上限和周期检查过的"
        "完整方案。analyze_churn 从你选择的数据文件夹中的 CSV、Parquet 或 JSON Lines 文件计算流失、留存和生存分析。",
        "keywords": ["客户留存", "流失分析", "会员", "续费", "订阅", "提示词模板"],
    }
}
LOCALE_RESOURCES = "mcpb-resources/${locale}.json"


def manifest(meta: dict, tools: list[dict[str, str]]) -> dict:
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": meta["name"],
        "display_name": "Retention MCP: retention plans and churn analysis / 客户留存方案与流失分析",
        "version": meta["version"],
        "description": "Customer-retention prompt templates (Chinese and English) as typed tools, checked plans from "
        "a model you choose, and churn analysis of your own data.",
        "long_description": "Five templates (retention strategy, loyalty program, renewal campaign, churn analysis, "
        "subscription playbook), each in Chinese and English, as typed tools. With a model configured (any "
        "OpenAI-compatible endpoint, or Anthropic), plan mode returns a full plan checked against your budget, "
        "discount cap and horizon. analyze_churn computes churn, retention and survival from CSV, Parquet or JSON "
        "Lines files in the data folder you choose.",
        "author": {"name": meta["authors"][0]["name"]},
        "license": meta["license"],
        "keywords": meta["keywords"],
        "server": {"type": "uv", "entry_point": ENTRY_POINT, "mcp_config": MCP_CONFIG},
        "tools": tools,
        "tools_generated": True,  # templates added with RETENTION_MCP_TEMPLATES become tools too
        "prompts_generated": True,
        "compatibility": {
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"python": meta["requires-python"]},
        },
        "user_config": USER_CONFIG,
        "localization": {"resources": LOCALE_RESOURCES, "default_locale": "en-US"},
    }


def stage_bundle(stage: Path) -> dict:
    meta = project()
    if stage.exists():
        shutil.rmtree(stage)
    copy_tree(ROOT / "server" / "retention_mcp", stage / "server" / "retention_mcp")
    shutil.copy2(ROOT / "bundle" / "main.py", stage / SERVER_MAIN)
    shutil.copy2(ROOT / "bundle" / "launch.py", stage / ENTRY_POINT)
    copy_tree(ROOT / "templates", stage / "templates")
    copy_tree(ROOT / "schemas", stage / "schemas")
    (stage / "pyproject.toml").write_text(bundle_pyproject(meta), encoding="utf-8")
    env = {"UV_SYSTEM_CERTS": "1", **os.environ}  # trust the system's certificates, as pip does (proxies)
    lock = subprocess.run(
        [find_uv(), "lock", "--project", str(stage), "--quiet"], capture_output=True, text=True, env=env
    )
    if lock.returncode != 0:
        sys.exit(f"bundle: 'uv lock' failed (it needs PyPI):\n{lock.stderr}")
    for locale, strings in LOCALIZED.items():
        resource = stage / LOCALE_RESOURCES.replace("${locale}", locale)
        resource.parent.mkdir(parents=True, exist_ok=True)
        resource.write_text(json.dumps(strings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    data = manifest(meta, declared_tools(stage))
    (stage / "manifest.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


def pack(stage: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in stage.rglob("*") if p.is_file() and not SKIP & set(p.relative_to(stage).parts))
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(stage).as_posix(), ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the .mcpb (default dist/)")
    parser.add_argument("--stage", type=Path, default=ROOT / "build" / "bundle", help="staging folder")
    args = parser.parse_args(argv)
    data = stage_bundle(args.stage)
    target = args.out / f"{data['name']}-{data['version']}.mcpb"
    pack(args.stage, target)
    print(f"wrote {target} ({target.stat().st_size / 1024:.0f} KB; manifest {args.stage / 'manifest.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
