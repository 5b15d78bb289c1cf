"""The MCP surface's texts: server instructions, tool descriptions and annotations, in English and Chinese."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_types import (
    ToolAnnotations,
)

from retention_mcp.settings import SurfaceLanguage

if TYPE_CHECKING:
    pass


INSTRUCTIONS = {
    "en": "retention-mcp turns customer-retention prompt templates into tools. Call a template tool with the user's "
    "facts; the result is a complete prompt: follow it to write the plan for the user, then submit the plan as JSON "
    "to check_plan, which checks it against the user's constraints and saves it; fix what fails and resubmit with "
    "plan_id. With mode='plan' the server's model writes and checks the plan itself. Every template works in Chinese "
    "and English; 'language' defaults to the language of the facts.",
    "zh": "retention-mcp 把客户留存提示词模板变成工具。用用户提供的事实调用模板工具,得到完整的提示词,按提示词为用户"
    "撰写方案,再把方案 JSON 提交给 check_plan:它按用户的约束逐条检查并保存;修正未通过之处后带 plan_id 再次提交。"
    "mode='plan' 时由服务端模型直接生成并检查方案。每个模板都有中英文版本,language 默认跟随所填内容的语言。",
}


MODE_DESCRIPTION = (
    "'prompt' (default): return the filled prompt for your own model. 'plan': the server's model (or yours, through "
    "sampling) writes the full plan; it comes back typed, checked against the stated budget, discount cap, horizon, "
    "goals and channels, and saved. / 'prompt'(默认):返回填好的提示词;'plan':由服务端模型(或经 sampling 由客户端模型)"
    "生成完整方案,按预算、折扣上限、周期、目标与渠道约束检查后返回并保存。"
)


# The lean surface says the same in fewer words: every tools/list costs every conversation its context.
LEAN_MODE_DESCRIPTION = (
    "prompt (default): the filled prompt; plan: a checked plan by the server's model / "
    "prompt(默认):填好的提示词;plan:服务端模型撰写经检查的方案"
)


LEAN_LANGUAGE_DESCRIPTION = "auto (default): that of the values / auto(默认)跟随所填内容"


LEAN_TEMPLATE_RETURNS = (
    "Returns the filled prompt, or with mode='plan' a checked plan. / 返回填好的提示词;mode='plan' 时返回经检查的方案。"
)


LEAN_ANALYZE_DESCRIPTION = (
    "Churn facts from the customer's own data file (CSV, Parquet, JSON Lines, .xlsx) or inline CSV: churn rates, "
    "cohorts, survival, drivers, high-risk groups, MRR, retention models, summary and charts. Try "
    "path='subscriptions.csv'. / 用客户自己的数据文件(CSV、Parquet、JSON Lines、.xlsx)或内联 CSV 计算流失事实:流失率、"
    "同期群、生存分析、驱动因素、高风险客群、MRR、留存模型、摘要与图表。可试 path='subscriptions.csv'。"
)


TEMPLATE_RETURNS = (
    "Returns the filled prompt (structured: messages and prompt); with mode='plan', the full plan, typed and checked "
    "against the stated constraints, and saved. / 返回填好的提示词(结构化:messages 与 prompt);mode='plan' 时返回"
    "经约束检查并已保存的完整结构化方案。"
)


MODES: tuple[str, ...] = ("prompt", "plan")


# Annotations hold for every call a tool accepts. A render only reads and stays inside the server; a template tool
# also accepts mode='plan', which calls a model outside and saves a new plan, so its hints are that union.
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


RENDER_OR_PLAN = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)


# analyze_churn reads files; with charts_dir it also writes (and may replace) PNG files inside a data directory.
ANALYZE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)


def pick(text: str, language: SurfaceLanguage | None) -> str:
    """One language of an "English / 中文" text (both when `language` is None)."""
    if language is None or " / " not in text:
        return text
    english, chinese = text.rsplit(" / ", 1)
    return chinese if language == "zh" else english


def tool_title(text: str, language: SurfaceLanguage | None) -> str:
    """A tool's title from an "English / 中文" text: one language, or both as "English · 中文"."""
    return pick(text, language).replace(" / ", " · ")


ANALYZE_DESCRIPTION = (
    "Compute churn facts from the customer's own data: a CSV, Parquet, JSON Lines or Excel .xlsx file in the server's "
    "data directories (or inline CSV). Returns customers, churn rate per month, quarter or year, cohort retention, Kaplan-Meier survival with "
    "median lifetime and log-rank tests, churn by segment with 95% intervals and lift, the strongest drivers, "
    "high-risk groups, MRR movements with GRR/NRR, the sBG retention model (or, for transactions, RFM and BG/NBD), "
    "a Markdown summary and PNG charts. Columns are detected from common English and Chinese names. Try "
    "path='subscriptions.csv' (bundled example). / 用客户自己的数据计算流失事实:服务器数据目录中的 CSV、Parquet、"
    "JSON Lines 或 Excel .xlsx 文件(或内联 CSV)。返回客户数、按月/季度/年的流失率、同期群留存、Kaplan-Meier 生存曲线与中位生命周期、log-rank 检验、"
    "带 95% 区间与提升倍数的分客群流失、主要驱动因素、高风险客群、MRR 变动与 GRR/NRR、sBG 留存模型(交易数据则为 RFM 与 "
    "BG/NBD)、Markdown 摘要和 PNG 图表。可用内置示例 path='subscriptions.csv' 试用。"
)

CHECK_PLAN = "Check a plan / 检查方案"
CHECK_PLAN_DESCRIPTION = (
    "Check a plan written in the chat (no model key needed) against its template's plan format and the brief's "
    "constraints, as plan mode does; saves it as plan://ID and names each failed check. Resubmit the fix with plan_id. "
    "/ 检查对话中写好的方案(无需模型密钥):按模板的方案格式与需求中的约束执行方案模式的检查,保存为 plan://ID 并列出未通过的"
    "检查项。修正后带 plan_id 再次提交。"
)
