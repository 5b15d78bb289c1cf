"""Prompts and resources: each template as an MCP prompt, its template://, schema:// resources, the template index
and saved plans (plan://)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.mcpserver.prompts.base import Message, Prompt, PromptArgument
from mcp.server.mcpserver.resources import FunctionResource

from retention_mcp.constraints.typed import (
    CONSTRAINTS_FIELD,
    GOALS_FIELD,
    LEAN_DESCRIPTIONS,
    keys_in_words,
)
from retention_mcp.errors import UnknownTemplateError
from retention_mcp.mcp.parts import ServerParts
from retention_mcp.mcp.texts import pick
from retention_mcp.registry import LANGUAGE_FIELD, Template
from retention_mcp.schema_forms import model_schema

if TYPE_CHECKING:
    pass


class PromptsAndResources(ServerParts):
    def _template_prompt(self, template: Template) -> Prompt:
        name = template.name

        async def render(**arguments: Any) -> list[Message]:
            current = self.app.template(name)
            result = await self.app.render(current, current.coerce_strings(arguments))
            # MCP prompts have no system role: the instructions travel as the first user message.
            return [Message(m.content, role="assistant" if m.role == "assistant" else "user") for m in result.messages]

        args = [
            PromptArgument(name=s.name, description=template.input_description(s.name), required=s.required)
            for s in template.inputs
        ]
        args += [
            PromptArgument(
                name=CONSTRAINTS_FIELD,
                description="JSON object (* = required): "
                + keys_in_words()
                + ". discount_cap_pct: "
                + pick(LEAN_DESCRIPTIONS["constraints.discount_cap_pct"], "en")
                + ". "
                + pick(LEAN_DESCRIPTIONS[CONSTRAINTS_FIELD], "en"),
            ),
            PromptArgument(
                name=GOALS_FIELD, description="JSON list of {text, …}, or one goal per line / JSON 列表,或每行一个目标"
            ),
            PromptArgument(name=LANGUAGE_FIELD, description="auto | " + " | ".join(template.languages)),
        ]
        return Prompt(
            name=name,
            title=template.title,
            description=template.description,
            arguments=args,
            fn=render,
            context_kwarg=None,
        )

    def _add_template_resources(self, template: Template) -> None:
        """Resources read the app's current templates, so a reload needs no new objects for the same URIs."""
        name = template.name
        for language, file in template.files.items():

            async def source(language: str = language) -> str:
                current = self.app.template(name)
                if language not in current.files:
                    raise UnknownTemplateError(f"{name}/{language}", self._resource_uris())
                return current.files[language].source

            self._add_owned(
                (name, language),
                fn=source,
                uri=f"template://{name}/{language}",
                name=f"{name}.{language}",
                title=f"{file.title} ({language})",
                description=f"Source of the '{name}' template in {language} (Prompty) / 模板源文件",
                mime_type="text/x-prompty",
            )
        for kind, label in (("input", "输入"), ("output", "输出"), ("plan", "方案")):

            async def schema(kind: str = kind) -> str:
                return json.dumps(self._schema_of(name, kind), ensure_ascii=False, indent=2)

            self._add_owned(
                (name, None),
                fn=schema,
                uri=f"schema://{name}/{kind}",
                name=f"{name}.{kind}.schema",
                title=f"{name} {kind} JSON Schema",
                description=f"JSON Schema of the '{name}' tool's {kind} / 工具{label}的 JSON Schema",
                mime_type="application/schema+json",
            )

    def _add_owned(self, owner: tuple[str, str | None], uri: str, **fields: Any) -> None:
        """A template's resource, added once (the SDK has no public remove: a reload re-owns it instead)."""
        if uri not in self._resource_owner:
            self.add_resource(FunctionResource(uri=uri, **fields))
        self._resource_owner[uri] = owner

    def _schema_of(self, name: str, kind: str) -> dict[str, Any]:
        template = self.app.template(name)
        if kind == "input":
            return template.parameters.model_json_schema()
        if kind == "output":
            from retention_mcp.models import PlanResult

            return PlanResult.model_json_schema()
        from retention_mcp.generation.plans import plan_model_for

        return model_schema(plan_model_for(name))

    def _resource_uris(self) -> list[str]:
        return [uri for uri, owner in self._resource_owner.items() if self._serves(owner)]

    def _serves(self, owner: tuple[str, str | None]) -> bool:
        name, language = owner
        return name in self.registry and (language is None or language in self.registry.get(name).files)

    async def _read_index(self) -> str:
        return self.app.template_list().model_dump_json(indent=2)

    async def _read_plan(self, plan_id: str) -> str:
        record = await anyio.to_thread.run_sync(self.app.get_plan, plan_id)  # never wait on a lock in the event loop
        return record.model_dump_json(indent=2)
