"""What the parts of the MCP server share: the app, the surface language, the resource owners, the output
schemas. Each part (template tools, plan and analysis tools, prompts and resources) is a mixin over this class."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcp.server import MCPServer
from pydantic import BaseModel

from retention_mcp.app import RetentionApp
from retention_mcp.mcp.surface import OUTLINE_DEPTH, outline, result_model, shipped_schema
from retention_mcp.registry import Registry
from retention_mcp.settings import SurfaceLanguage

if TYPE_CHECKING:
    pass


class ServerParts(MCPServer):
    app: RetentionApp
    surface_language: SurfaceLanguage | None  # the language of the tool surface; None: both (the `all` mode)
    _resource_owner: dict[str, tuple[str, str | None]]  # uri -> (template, language or None)
    _output_schemas: dict[str, dict[str, Any]]

    @property
    def registry(self) -> Registry:
        return self.app.registry

    def output_schema(self, file: str, make: Callable[[], type[BaseModel]]) -> dict[str, Any]:
        # `make` imports the result model only when the shipped file is missing: tools/list needs no models
        """An output schema, read from the shipped schemas/ (kept equal to the models by a test) so start-up never
        builds it; from the model when the file is missing. In the lean surfaces, its outline (see `outline`)."""
        if file not in self._output_schemas:
            try:
                schema = shipped_schema(file)
            except (FileNotFoundError, OSError):
                from retention_mcp.schema_forms import checkable

                schema = checkable(make().model_json_schema())
            # the lean surfaces publish the result's outline; the `all` mode and schema:// resources the whole schema
            lean = self.surface_language is not None
            self._output_schemas[file] = outline(schema, OUTLINE_DEPTH) if lean else schema
        return self._output_schemas[file]

    def _plan_output(self) -> dict[str, Any]:
        return self.output_schema("plan_result.json", lambda: result_model("PlanResult"))
