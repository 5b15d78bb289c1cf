"""Template versions over MCP: resources anyone may read (a template's versions, labels and label moves in one read;
one version's source; a comparison of two), and the tools that publish a version and move a label, offered only to
tokens with the publish role (RETENTION_MCP_PUBLISHERS): absent from everyone else's tool list, and refused (403 on
HTTP, in the audit log) when called anyway."""

from __future__ import annotations

import functools
import json
from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from retention_mcp.errors import UserError
from retention_mcp.mcp.audit import caller
from retention_mcp.mcp.parts import ServerParts
from retention_mcp.mcp.surface import ToolSpec
from retention_mcp.template import NAME_PATTERN

PUBLISH_TOOLS = frozenset({"publish_template", "move_template_label"})
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


class PublishParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="Template name / 模板名称")
    files: dict[str, str] = Field(
        min_length=1,
        max_length=2,
        description="Source of each language file (Prompty), by language: en, zh / 各语言源文件",
    )
    label: str | None = Field(None, description="Label to move to the new version, e.g. production / 要移动的标签")
    message: str = Field("", max_length=500, description="What changed / 发布说明")


class MoveLabelParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="Template name / 模板名称")
    label: str = Field("production", description="The label to move / 标签")
    version: int | None = Field(
        None, ge=1, description="The version to point at; leave out to roll back to the previous one / 版本(不填即回滚)"
    )


class ForbiddenError(UserError):
    def __init__(self, tool: str) -> None:
        super().__init__(
            f"403 Forbidden: '{tool}' needs a token with the publish role (RETENTION_MCP_PUBLISHERS) / "
            f"「{tool}」需要具有发布权限的令牌"
        )


class VersionTools(ServerParts):
    def may_publish(self) -> bool:
        return caller() in self.app.settings.publishers

    def _store(self) -> Any:
        store = self.app.template_store()
        if store is None:
            raise UserError("Template versions need a plan store (plans are not kept here) / 模板版本需要方案库")
        return store

    def _add_version_tools(self) -> None:
        self.add_spec(self._publish_spec())  # type: ignore[attr-defined]
        self.add_spec(self._move_label_spec())  # type: ignore[attr-defined]

    def _publish_spec(self) -> ToolSpec:
        async def handler(values: BaseModel, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            assert isinstance(values, PublishParams)
            outcome = await anyio.to_thread.run_sync(functools.partial(self._publish, values, caller()))
            await self.reload()  # type: ignore[attr-defined]
            version = outcome.published.version
            text = (
                f"{values.name}: published version {version.version}"
                if outcome.published.created
                else f"{values.name}: identical to version {version.version}; nothing published / 内容相同,未发布"
            )
            if outcome.parameter_changes:
                text += f"; parameters changed: {'; '.join(outcome.parameter_changes)}"
            return CallToolResult(
                content=[TextContent(type="text", text=text)], structured_content=outcome.model_dump(mode="json")
            )

        return ToolSpec(
            name="publish_template",
            title="Publish a template version · 发布模板版本",
            description="Check a template's files and keep them as a new version; with `label`, serve it under that "
            "label on every replica. / 校验模板文件并保存为新版本;指定 label 时各副本随即提供该版本。",
            annotations=WRITES,
            model_of=lambda: PublishParams,
            handler=handler,
        )

    def _publish(self, values: PublishParams, who: str) -> Any:
        from retention_mcp.generation.served_templates import parameter_changes
        from retention_mcp.generation.template_versions import PublishOutcome
        from retention_mcp.registry import Template
        from retention_mcp.template import TemplateError, parse_template

        try:
            files = {
                language: parse_template(source, f"{values.name}.{language}.prompty")
                for language, source in values.files.items()
            }
            template = Template(name=values.name, files={f.language: f for f in files.values()})
        except TemplateError as exc:
            raise UserError(f"files: {exc} / 模板文件有误") from None
        if any(f.name != values.name for f in files.values()):
            raise UserError(f"files: every file's front matter must name '{values.name}' / 文件须声明同一模板名称")
        store = self._store()
        published = store.publish(
            values.name, template.sources, template.content_hash, who, values.message, values.label
        )
        before = self.registry.get(values.name) if values.name in self.registry else None
        return PublishOutcome(
            name=values.name, published=published, parameter_changes=parameter_changes(before, template)
        )

    def _move_label_spec(self) -> ToolSpec:
        async def handler(values: BaseModel, extras: dict[str, Any], ctx: Context | None) -> CallToolResult:
            assert isinstance(values, MoveLabelParams)
            store, who = self._store(), caller()
            if values.version is None:
                move = await anyio.to_thread.run_sync(functools.partial(store.rollback, values.name, who, values.label))
            else:
                move = await anyio.to_thread.run_sync(store.move_label, values.name, values.label, values.version, who)
            await self.reload()  # type: ignore[attr-defined]
            text = (
                f"{values.name}: '{values.label}' now points at version {move.to_version}"
                if move is not None
                else f"{values.name}: '{values.label}' already points at version {values.version}"
            )
            return CallToolResult(
                content=[TextContent(type="text", text=text)],
                structured_content=move.model_dump(mode="json") if move is not None else {},
            )

        return ToolSpec(
            name="move_template_label",
            title="Move a template label · 移动模板标签",
            description="Point a label (production, staging…) at a version, or leave out `version` to roll back to "
            "the previous one. / 将标签指向某个版本;不填 version 即回滚到上一个版本。",
            annotations=WRITES,
            model_of=lambda: MoveLabelParams,
            handler=handler,
        )

    # -- resources ----------------------------------------------------------------------------------------------------
    def _add_version_resources(self) -> None:
        self.resource(
            "template://{name}/versions",
            name="template-versions",
            title="A template's versions and labels · 模板版本与标签",
            description="Every version (hash, author, time, message), the labels and every label move, as JSON / "
            "全部版本、标签与标签变动(JSON)",
            mime_type="application/json",
        )(self._read_versions)
        self.resource(
            "template://{name}@{version}",
            name="template-version",
            title="One template version · 模板的一个版本",
            description="One stored version with the source of each language, as JSON / 某一版本及其源文件(JSON)",
            mime_type="application/json",
        )(self._read_version)
        self.resource(
            "template://{name}/compare/{old}/{new}",
            name="template-compare",
            title="Compare two versions · 比较两个版本",
            description="Sections, parameters and their types, then the changed lines, as JSON / 比较两个版本(JSON)",
            mime_type="application/json",
        )(self._read_compare)

    async def _read_versions(self, name: str) -> str:
        from retention_mcp.generation.template_versions import history_entries

        store = self._store()
        history = await anyio.to_thread.run_sync(store.history, name)
        if not history.versions:
            raise UserError(f"template '{name}' has no versions in the store / 模板「{name}」没有已保存的版本")
        entries = await anyio.to_thread.run_sync(history_entries, store, name)
        data = history.model_dump(mode="json")
        data["versions"] = [e.model_dump(mode="json") for e in entries]
        return json.dumps(data, ensure_ascii=False, indent=2)

    async def _read_version(self, name: str, version: str) -> str:
        number = _number(version, "version")
        found = await anyio.to_thread.run_sync(self._store().get, name, number)
        return found.model_dump_json(indent=2)

    async def _read_compare(self, name: str, old: str, new: str) -> str:
        from retention_mcp.generation.template_versions import diff

        result = await anyio.to_thread.run_sync(diff, self._store(), name, _number(old, "old"), _number(new, "new"))
        return result.model_dump_json(indent=2)


def _number(text: str, field: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"{field}: must be a version number (1, 2, 3…) / 必须是版本号")
    return int(text)
