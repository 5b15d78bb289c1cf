"""One plan, start to finish: render the prompt, read the constraints, ask the model for a typed plan, check it,
send the violations back once, keep the result.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel, ValidationError

from retention_mcp.constraints.fill import (
    EXTRACTION_SCHEMA_NAME,
    Ask,
    CannotAsk,
    apply_answer,
    apply_extracted,
    extraction_prompt,
    extraction_record,
    extraction_schema,
    fill_record,
    form_for,
    form_message,
    missing,
    needs_filling,
)
from retention_mcp.constraints.record import Constraints
from retention_mcp.constraints.rules import constraint_rules
from retention_mcp.errors import UserError
from retention_mcp.generation.backends import (
    Backend,
    Completion,
    Message,
    ModelError,
    NoSamplingError,
    NotJSONError,
    extract_json,
)
from retention_mcp.generation.checking import brief_text, check_submitted
from retention_mcp.generation.markdown import plan_markdown
from retention_mcp.generation.plan_parts import PlanBase
from retention_mcp.generation.plans import plan_model_for, plan_schema_text, unknown_keys
from retention_mcp.generation.store import NewPlan, PlanNotFoundError, PlanRevisionError, PlanStore
from retention_mcp.generation.validation import validate_plan
from retention_mcp.models import ConstraintFill, PlanResult, RenderResult
from retention_mcp.prompting import prepare
from retention_mcp.redaction import scrub
from retention_mcp.registry import Template
from retention_mcp.rendering import defuse
from retention_mcp.schema_forms import model_schema
from retention_mcp.settings import default_data_dirs

log = logging.getLogger("retention_mcp.generation")

Progress = Callable[[float, float, str], Awaitable[None]]
STEPS = 5


class PlanError(UserError):
    """No plan could be produced. Carries the rendered prompt, so the user can go on in prompt mode."""

    def __init__(self, message: str, rendered: RenderResult | None = None):
        super().__init__(message)
        self.rendered = rendered


class PlanService:
    """Generates plans with a configured backend (or one passed per call, e.g. the client's sampling), and keeps
    them in any `PlanStore` (none: plans are not kept)."""

    def __init__(
        self, backend: Backend | None = None, store: PlanStore | None = None, data_dirs: list[Path] | None = None
    ):
        self.backend = backend
        self.store = store
        self.data_dirs = list(data_dirs) if data_dirs is not None else default_data_dirs()

    async def aclose(self) -> None:
        if self.backend is not None and hasattr(self.backend, "aclose"):
            await self.backend.aclose()

    async def generate(
        self,
        template: Template,
        arguments: Mapping[str, Any] | BaseModel,
        *,
        backend: Backend | None = None,
        progress: Progress | None = None,
        author: str | None = None,
        ask: Ask | None = None,
    ) -> PlanResult:
        """A checked plan. `arguments` are raw (validated here) or already validated by the template's model.

        `ask` puts a form to the user (MCP elicitation); with it, missing constraints are asked for before the plan
        is written; without it, one extraction call to the model reads them from the brief.
        """
        backend = backend or self.backend
        call = await prepare(template, arguments, self.data_dirs)
        values, data_facts, constraints, rendered = call.values, call.data_facts, call.constraints, call.rendered
        zh = rendered.language == "zh"

        async def step(n: float, en: str, cn: str) -> None:
            if progress is not None:
                await progress(n, STEPS, cn if zh else en)

        async def on_retry(attempt: int, delay: float, reason: str) -> None:
            await step(
                2,
                f"Model busy ({reason}); retry {attempt} in {delay:.1f} s",
                f"模型繁忙({reason}),{delay:.1f} 秒后第 {attempt} 次重试",
            )

        if backend is None:
            raise PlanError(no_backend_message(), rendered)
        model_cls = plan_model_for(template.name)
        await step(1, "Read the constraints in your facts", "已读取资料中的约束")
        fill = None
        if needs_filling(constraints):
            fill = await self._fill(template, values, constraints, ask, backend, zh, step, on_retry)
            if fill.fields:  # the prompt states what was filled in
                rendered = call.render_again()
        schema = model_schema(model_cls)
        messages = [Message(m.role, m.content) for m in rendered.messages]
        instructions = plan_instructions(constraints, plan_schema_text(model_cls), rendered.language, bool(data_facts))
        messages.append(Message("system", instructions))

        await step(2, f"Asking the model ({backend.label}) for the plan", f"正在请模型({backend.label})撰写方案")
        completion = await self._ask(backend, messages, schema, template.name, on_retry, rendered)
        plan, problems = parse_plan(model_cls, completion)
        check = functools.partial(
            validate_plan,
            constraints=constraints,
            language=rendered.language,
            data_facts=data_facts,
            brief=brief_text(template, values),
            not_given=not_given(fill, constraints),
        )
        report = check(plan) if plan is not None else None
        await step(3, "Checked the plan", "已检查方案")
        repaired = False
        if problems or (report is not None and report.status == "failed"):  # unverified: nothing to repair
            failures = problems or [f"{c.name}: {c.detail}" for c in report.checks if not c.passed]  # type: ignore[union-attr]
            failures += unknown_keys_note(plan, zh)
            await step(
                4,
                f"Sending {len(failures)} problem(s) back to the model for one repair",
                f"将 {len(failures)} 个问题发回模型修正一次",
            )
            messages += [Message("assistant", completion.text), Message("user", repair_request(failures, zh))]
            first = (plan, report, completion)
            completion = await self._ask(backend, messages, schema, template.name, on_retry, rendered)
            repaired = True
            plan, problems = parse_plan(model_cls, completion)
            if plan is not None:
                report = check(plan)
            elif first[0] is not None:  # the repair broke the format: keep the first plan and its report
                plan, report, completion = first
            else:
                raise PlanError(invalid_plan_message(problems, zh), rendered)
        assert plan is not None and report is not None
        # the plan's strings are scrubbed one by one; joined into Markdown, parts of a secret could meet again
        markdown = scrub(plan_markdown(plan, rendered.language, report, rendered.constraints, fill))
        plan_data = plan.model_dump(mode="json")
        result = PlanResult(
            **rendered.model_dump(),
            mode="plan",
            model=completion.model,
            plan=plan_data,
            validation=report,
            markdown=markdown,
            repaired=repaired,
            constraint_fill=fill,
        )
        if self.store is not None:
            await step(4.5, "Saving the plan", "正在保存方案")
        await self.keep(
            result,
            NewPlan(
                template=template.name,
                version=template.version,
                template_revision=template.revision,
                template_hash=template.content_hash,
                language=rendered.language,
                model=completion.model,
                arguments=values.model_dump(mode="json", exclude_none=True),
                plan=plan_data,
                validation=report,
                markdown=markdown,
                author=author,
                constraints=rendered.constraints,
                repaired=repaired,
                constraint_fill=fill,
            ),
        )
        await step(
            5,
            "Plan ready"
            + {"passed": "", "failed": " (some checks failed)", "unverified": " (not all verified)"}[report.status],
            "方案已生成"
            + {"passed": "", "failed": "(部分检查未通过)", "unverified": "(部分约束未能核验)"}[report.status],
        )
        return result

    async def check(
        self,
        template: Template,
        arguments: Mapping[str, Any] | BaseModel,
        plan: str | Mapping[str, Any],
        *,
        revises: str | None = None,
        author: str | None = None,
    ) -> PlanResult:
        """A plan written elsewhere, checked as plan mode checks its own and kept (see `generation.checking`)."""
        return await check_submitted(
            self.keep, template, arguments, plan, self.data_dirs, revises=revises, author=author
        )

    async def keep(self, result: PlanResult, new: NewPlan, revisions: bool = False) -> None:
        """Save the plan in the store, if there is one, and say in `result` where it went (with `revisions`, also its
        revision number and history). A store that fails (locked, broken) leaves the plan with the caller, marked
        unsaved, the only copy; a revision of a plan that is not there (or of another template) is refused."""
        result.store_status = "off"
        if self.store is None:
            return
        try:
            record = await anyio.to_thread.run_sync(self.store.save, new)
        except (PlanNotFoundError, PlanRevisionError):
            raise
        except UserError as exc:
            log.error("plan not saved: %s", exc)
            result.store_status, result.store_error = "not_saved", str(exc)
            result.markdown = not_saved_notice(str(exc), result.language == "zh") + (result.markdown or "")
        else:
            result.plan_id, result.plan_uri = record.id, record.uri
            result.store_status = "saved"
            if revisions:
                result.revision, result.history = record.revision, record.history

    async def _fill(self, template, values, c, ask, backend, zh, step, on_retry) -> ConstraintFill:
        """Ask the user (elicitation) for missing constraints, or have the model extract them; never fatal."""
        fields = missing(c)
        answer: tuple[str, dict[str, Any] | None] | None = None
        if ask is not None and fields:
            await step(1.2, "Asking you for the missing constraints", "正在请你补充缺失的约束")
            try:
                answer = await ask(form_message(c, fields, zh), form_for(fields))
            except CannotAsk:  # the session cannot carry the form: read the brief with the model instead
                answer = None
            except Exception as exc:  # a client that fails to answer still gets its plan
                log.info("elicitation failed: %s", exc)
                return fill_record("elicitation", "failed", [], scrub(str(exc))[:300])
        if answer is not None:
            action, data = answer
            if action != "accept":
                return fill_record("elicitation", "declined" if action == "decline" else "cancelled", [])
            try:
                filled = apply_answer(c, data or {})
            except ValidationError as exc:
                detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
                return fill_record("elicitation", "failed", [], detail[:300])
            return fill_record("elicitation", "filled" if filled else "nothing_found", filled)
        await step(1.2, "Reading the constraints with the model", "正在请模型读取约束")
        texts = {k: v for k, v in template.text_values(values).items() if isinstance(v, str) and k != "dataset"}
        system, user = extraction_prompt(texts, zh)
        try:
            completion = await backend.complete(
                [Message("system", system), Message("user", user)],
                extraction_schema(),
                EXTRACTION_SCHEMA_NAME,
                on_retry,
            )
            read = apply_extracted(c, extract_json(completion), texts)
        except (ModelError, NotJSONError, ValueError) as exc:
            log.info("constraint extraction failed: %s", exc)
            return fill_record("extraction", "failed", [], scrub(str(exc))[:300])
        return extraction_record(read)

    async def _ask(self, backend, messages, schema, name, on_retry, rendered) -> Completion:
        try:
            return await backend.complete(messages, schema, f"{name}_plan", on_retry)
        except NoSamplingError:
            raise PlanError(no_backend_message("no_back_channel"), rendered) from None
        except ModelError as exc:
            raise PlanError(str(exc), rendered) from None


def not_given(fill: ConstraintFill | None, c: Constraints) -> list[str]:
    """The constraints the user was asked for and that stayed empty because the form was declined, cancelled or
    failed, or the extraction failed: the plan cannot be checked against them."""
    if fill is None or fill.outcome not in ("declined", "cancelled", "failed"):
        return []
    return missing(c)


def parse_plan(model_cls: type[PlanBase], completion: Completion) -> tuple[PlanBase | None, list[str]]:
    """The typed plan, or the list of problems that kept the answer from being one."""
    try:
        data = extract_json(completion)
    except NotJSONError as exc:
        return None, [f"The answer is not a JSON object ({exc})."]
    try:
        return model_cls.model_validate(data), []
    except ValidationError as exc:
        return None, [
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors(include_url=False)
        ][:30]


# -- what the model is told -------------------------------------------------------------------------------------------
def plan_instructions(c: Constraints, schema_text: str, language: str, data_facts: bool = False) -> str:
    """The plan-mode addendum: answer as JSON in this schema, and these are the constraints a checker will verify."""
    zh = language == "zh"
    lines: list[str] = []
    if zh:
        lines += [
            "# 本次输出格式(优先于上文的 Markdown 结构要求)",
            "把上文要求的全部内容写成一个 JSON 对象,符合下方 <plan_schema> 中的 JSON Schema;JSON 之外不要输出任何文字。",
            "- 金额是预算币种下的纯数字;天数从方案开始日(第 0 天)起算,字段说明写明相对到期日的除外(到期前30天 = -30)。",
            "- 每个 KPI 的 goal_id 写它衡量的目标编号(如 G1);每个目标至少对应一个 KPI。",
            "- 凡不是来自资料的数字或判断,写进 assumptions,并在正文中标注【假设】。",
            "- 用中文撰写所有文字字段。",
            "",
            "# 必须遵守的硬性约束(由程序逐条检查)",
        ]
    else:
        lines += [
            "# Output format for this request (overrides the Markdown structure above)",
            "Put everything the structure above asks for into ONE JSON object that matches the JSON Schema in "
            "<plan_schema> below. Write nothing outside the JSON.",
            "- Amounts are plain numbers in the budget currency; days count from the plan's start (day 0), except "
            "where a field counts from the renewal date (T-30 = -30).",
            "- Give each KPI the id of the goal it measures in goal_id (e.g. G1); every goal gets at least one KPI.",
            "- Every figure or judgement not taken from the facts goes into assumptions and is marked [Assumption].",
            "- Write every text field in English.",
            "",
            "# Hard constraints (a program checks each one)",
        ]
    lines += constraint_rules(c, zh)
    if data_facts:
        lines.append(
            "- 数据事实:凡取自 <computed_facts> 的数字保持原值,并在 data_ref 中写出事实编号(如 D3);这类发现的 source 写 data。"
            if zh
            else "- Data facts: every number taken from <computed_facts> keeps its value and names the fact in data_ref "
            "(e.g. D3); such findings have source 'data'."
        )
    if c.goals:
        lines.append("<stated_goals>")
        lines += [f"{g.id}: {defuse(g.text)}" for g in c.goals]
        lines.append("</stated_goals>")
    lines += ["<plan_schema>", schema_text, "</plan_schema>"]
    return "\n".join(lines)


def unknown_keys_note(plan: PlanBase | None, zh: bool) -> list[str]:
    """Keys the schema does not know (kept under extras or in their part): named, so the repair can place them."""
    keys = unknown_keys(plan) if plan is not None else []
    if not keys:
        return []
    shown = ", ".join(keys[:20])
    if zh:
        return [f"以下字段不在方案格式中(已原样保留),请把内容移入格式中对应的字段:{shown}"]
    return [f"These keys are not in the plan schema (kept as written); move their content into schema fields: {shown}"]


def repair_request(problems: list[str], zh: bool) -> str:
    items = "\n".join(f"- {defuse(p)}" for p in problems)
    if zh:
        return f"你的方案未通过以下检查:\n{items}\n请修正这些问题,并返回完整的 JSON 对象(不是差异),其余内容保持不变。"
    return (
        f"Your plan failed these checks:\n{items}\nFix them and return the complete JSON object again (not a diff), "
        "keeping everything else."
    )


def invalid_plan_message(problems: list[str], zh: bool) -> str:
    shown = "\n".join(f"- {p}" for p in problems[:10])
    return (
        "The model's answer did not match the plan schema, even after one repair round / "
        f"模型的回答在修正一轮后仍不符合方案格式:\n{shown}"
    )


def not_saved_notice(reason: str, zh: bool) -> str:
    """The first lines of a plan's Markdown when the store could not keep it."""
    if zh:
        return f"> **方案未保存**:{reason}\n> 请保存下方内容,这是唯一的副本。\n\n"
    return f"> **Plan not saved**: {reason}\n> Keep the text below: it is the only copy.\n\n"


NO_MODEL_REASONS = {
    None: ("", ""),
    "not_offered": (
        " This client does not offer sampling (the use of its own model).",
        "当前客户端不支持 sampling(调用客户端自己的模型)。",
    ),
    "no_back_channel": (
        " This client offers sampling, but this connection cannot carry it: on the 2026-07-28 protocol (stateless "
        "HTTP included) a server sends no request to the client during a call. Sampling is a legacy feature that "
        "works only on older, handshake-era sessions.",
        "当前客户端声明支持 sampling,但这条连接无法承载:在 2026-07-28 协议(包括无状态 HTTP)下,服务器不能在调用过程中"
        "向客户端发送请求。sampling 是旧版功能,只适用于旧版握手会话。",
    ),
}


def no_backend_message(reason: str | None = None) -> str:
    """Why plan mode cannot go on, and what to do: configure a model, or write the plan from the prompt and submit it
    to check_plan. `reason`: why the client's model cannot write it either (not_offered, no_back_channel)."""
    why_en, why_zh = NO_MODEL_REASONS.get(reason, NO_MODEL_REASONS[None])
    return (
        f"No model is configured for plan mode.{why_en} Either configure a model: set RETENTION_MCP_LLM_PROVIDER "
        "(openai or anthropic), RETENTION_MCP_LLM_MODEL, RETENTION_MCP_LLM_API_KEY and, for a compatible endpoint "
        "(DeepSeek, Qwen, Ollama, vLLM…), RETENTION_MCP_LLM_BASE_URL, then restart the server. Or write the plan "
        "yourself: call the tool with mode='prompt' (on the command line: retention-mcp render), have your assistant "
        "write the plan as JSON in the shape given at the end of the prompt, and submit it with the check_plan tool "
        "(on the command line: retention-mcp check), which runs the same checks and saves it. / "
        f"未配置生成方案所需的模型。{why_zh}可以配置模型:设置 RETENTION_MCP_LLM_PROVIDER(openai 或 anthropic)、"
        "RETENTION_MCP_LLM_MODEL、RETENTION_MCP_LLM_API_KEY,兼容接口另设 RETENTION_MCP_LLM_BASE_URL,然后重启服务;"
        "也可以自己写方案:以 mode='prompt' 调用(命令行:retention-mcp render),让你的助手按提示词末尾给出的结构把方案"
        "写成 JSON,再用 check_plan 工具(命令行:retention-mcp check)提交,它会执行同样的检查并保存方案。"
    )
