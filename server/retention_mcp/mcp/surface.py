"""Tool specs and the published surface: each tool's parameter model, and the input schema built from it (lean in the
default surface, in full bilingual detail in the `all` mode and the schema:// resources)."""

from __future__ import annotations

import copy
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar, Union, get_args, get_origin

from mcp.server.mcpserver import Context
from mcp_types import (
    CallToolResult,
    ToolAnnotations,
)
from pydantic import BaseModel, BeforeValidator, ValidationError, create_model

from retention_mcp.constraints.typed import GOALS_FIELD, LEAN_DESCRIPTIONS, stated
from retention_mcp.errors import ArgumentError, invalid_arguments
from retention_mcp.mcp.texts import LEAN_MODE_DESCRIPTION, MODE_DESCRIPTION, MODES, pick
from retention_mcp.schema_forms import model_schema
from retention_mcp.settings import SurfaceLanguage

if TYPE_CHECKING:
    pass


log = logging.getLogger("retention_mcp")

M = TypeVar("M", bound=BaseModel)
# a tool's handler: its validated arguments (the spec's model), the extra arguments (a template tool's mode), the context
Handler = Callable[[M, dict[str, Any], Context | None], Awaitable[CallToolResult]]


# arguments that are not fields of the parameter model (a template tool's `mode`): name -> (JSON Schema, allowed)
Extra = dict[str, tuple[dict[str, Any], tuple[str, ...]]]


@dataclass
class ToolSpec(Generic[M]):
    """One tool: the model its arguments are validated by (once), the handler, and what tools/list shows."""

    name: str
    title: str
    description: str
    annotations: ToolAnnotations
    model_of: Callable[[], type[M]]  # the parameter model, asked for on the first call
    handler: Handler[M]
    output_schema: Callable[[], dict[str, Any]] | None = None
    extra: Extra = field(default_factory=dict)
    input_schema: dict[str, Any] = field(default_factory=dict)
    # checks the model's types cannot state (a template's object-size limit); raise ArgumentError
    after: Callable[[M], None] | None = None
    # a form to put to the user before the tool runs (asking.Question); its answer reaches the handler in extras
    question: Callable[..., Awaitable[Any]] | None = None

    @property
    def model(self) -> type[M]:
        return self.model_of()

    @property
    def allowed(self) -> set[str]:
        return set(self.model.model_fields) | set(self.extra)

    def check(self, arguments: dict[str, Any], unknown: Iterable[str] = ()) -> tuple[M, dict[str, Any]]:
        """The validated model and the extra arguments; ArgumentError names every bad field and its rule."""
        given = stated_arguments(arguments)
        fields = {k: v for k, v in given.items() if k in self.model.model_fields}
        extras = {name: given.get(name) for name in self.extra}
        problems: ValidationError | None = None
        model: M | None = None
        try:
            model = self.model.model_validate(fields)
        except ValidationError as exc:
            problems = exc
        bad_extras = [
            (name, allowed)
            for name, (schema, allowed) in self.extra.items()
            if extras[name] is not None and extras[name] not in allowed
        ]
        unknown = list(unknown)
        if problems is not None or bad_extras or unknown:
            text = invalid_arguments(self.name, self.allowed, problems, unknown)
            for name, allowed in bad_extras:
                expected = " or ".join(repr(a) for a in allowed)
                text += f"\n- {name}: must be one of {expected} / 必须是以下之一:{expected}"
            raise ArgumentError(text)
        assert model is not None
        if self.after is not None:
            self.after(model)
        return model, {k: (v if v is not None else self.extra[k][0].get("default")) for k, v in extras.items()}


# Top-level arguments whose 0 means "not stated" (a strict client sends every argument, 0 where nothing was said).
TOP_ZERO_NOT_STATED = frozenset({"header_row", "limit"})


def stated_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments that state something: null, a blank string, an empty list and a meaningless 0 are left out (the
    parameter's default applies), and so is a goal without words."""
    kept = stated(arguments, TOP_ZERO_NOT_STATED)
    goals = kept.get(GOALS_FIELD)
    if isinstance(goals, list):
        goals = [g for g in goals if not (isinstance(g, dict) and not stated(g).get("text"))]
        kept = {k: v for k, v in kept.items() if k != GOALS_FIELD} | ({GOALS_FIELD: goals} if goals else {})
    return kept


# Arguments that well-known clients add to every call of every tool, which no tool here declares: dropped with a
# log line rather than refused (Gemini CLI: wait_for_previous; n8n's MCP client tool: toolCallId).
CLIENT_ADDED = frozenset({"wait_for_previous", "toolCallId"})


def without_client_added(tool: str, arguments: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    """`arguments` without the names clients add on their own (logged), unless the tool declares one of them."""
    added = [name for name in arguments if name in CLIENT_ADDED and name not in allowed]
    if not added:
        return arguments
    log.info("%s: ignored the argument(s) %s that the client adds to every call", tool, ", ".join(sorted(added)))
    return {k: v for k, v in arguments.items() if k not in added}


def _nullable(prop: dict[str, Any]) -> dict[str, Any]:
    """`prop` that also takes null: `"type": [T, "null"]` for a scalar; `anyOf` it and null for a list of values
    (whose entries converters read as strings only) and for an object or array (whose keys a converter that turns
    a type list into `anyOf` would leave beside it, unread)."""
    kind = prop.get("type")
    if "enum" in prop or kind in ("object", "array"):  # a converter that rewrites a type list drops their keys
        keep = {k: v for k, v in prop.items() if k in ("description", "default")}
        values = {k: v for k, v in prop.items() if k not in keep}
        return {"anyOf": [values, {"type": "null"}], **keep}
    if isinstance(kind, str):
        return {**prop, "type": [kind, "null"]}
    return prop


def lean(
    node: Any,
    defs: dict[str, Any],
    language: SurfaceLanguage,
    description: str | None = None,
    path: str = "",
    optional: bool = False,
) -> Any:
    """One property of a lean input schema: references resolved in place, each description in one language, every
    optional value nullable, every list of values typed, and what a model does not need left out (titles,
    examples, the limits the server checks and names in its errors)."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    nullable = optional
    branches = node.get("anyOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        if len(rest) == 1:
            nullable = True
            inner = rest[0]
            if "$ref" in inner:
                inner = {**defs[inner["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in inner.items() if k != "$ref"}}
            node = {**inner, **{k: v for k, v in node.items() if k != "anyOf"}}
    out: dict[str, Any] = {}
    if "enum" in node:
        out["type"] = "string" if all(isinstance(v, str) for v in node["enum"]) else node.get("type")
        out["enum"] = node["enum"]
    elif "type" in node:
        out["type"] = node["type"]
    if node.get("format") == "date":
        out["format"] = "date"
    if "items" in node:
        out["items"] = lean(node["items"], defs, language, "", path)
    if "properties" in node:
        needed = node.get("required", ())
        out["properties"] = {
            name: lean(p, defs, language, None, f"{path}.{name}", name not in needed)
            for name, p in node["properties"].items()
        }
        if node.get("required"):
            out["required"] = node["required"]
    if description is None:
        description = pick(LEAN_DESCRIPTIONS.get(path, node.get("description", "")), language)
    if description:
        out["description"] = description
    default = node.get("default")
    if (
        default is not None
        and "." not in path
        and "default" not in description
        and not isinstance(default, list | dict)
    ):
        out["default"] = default  # where the description does not say it (as a nested key's does)
    if nullable:
        out = _nullable(out)
    return out


def published_schema(
    model: type[BaseModel] | dict[str, Any],
    language: SurfaceLanguage | None,
    describe: Callable[[str, str], str] | None = None,
    extra: Extra | None = None,
) -> dict[str, Any]:
    """The input schema tools/list shows for `model` (or its JSON Schema): pydantic's own in full detail (language
    None), else lean and in one language, nested models inlined. `describe(name, description)` gives a field's
    description in that language."""
    schema = copy.deepcopy(model if isinstance(model, dict) else model_schema(model))
    schema.pop("title", None)
    props = schema.setdefault("properties", {})
    if language is not None:
        schema.pop("additionalProperties", None)  # an unknown argument gets an error that names it
        defs = schema.pop("$defs", {})
        for name, prop in list(props.items()):
            text = prop.get("description", "")
            described = describe(name, text) if describe else pick(text, language)
            props[name] = lean(prop, defs, language, described, name, name not in schema.get("required", ()))
    for name, (prop, _allowed) in (extra or {}).items():
        props[name] = copy.deepcopy(prop)  # already in the surface's language
    return schema


def mode_property(language: SurfaceLanguage | None) -> dict[str, Any]:
    """The `mode` argument of the tools that render a prompt or write a plan."""
    prop = {
        "default": "prompt",
        "description": MODE_DESCRIPTION,
        "enum": list(MODES),
        "title": "Mode",
        "type": "string",
    }
    if language is not None:
        prop = lean(prop, {}, language, pick(LEAN_MODE_DESCRIPTION, language), "mode", optional=True)
    return prop


def is_text(annotation: Any) -> bool:
    """Whether a field takes text (also optional text, or one of some strings): the SDK then hands it over as it
    came, never parsing a value that happens to look like JSON."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    origin = get_origin(annotation)
    if origin is Annotated:
        return is_text(args[0])
    if origin is Literal:
        return all(isinstance(a, str) for a in args)
    if origin in (Union, UnionType) and len(args) == 1:
        return is_text(args[0])
    return annotation is str


def headline(description: str) -> str:
    """What a template is for, without the list of what its answer covers (the prompt itself says that)."""
    cut = min((i for i in (description.find(c) for c in (":", "：", ".", "。")) if i > 0), default=len(description))
    return description[:cut].strip()


def result_model(name: str) -> type[BaseModel]:
    from retention_mcp import models

    return getattr(models, name)


def churn_report_model() -> type[BaseModel]:
    from retention_mcp.analytics.report import ChurnReport

    return ChurnReport


@functools.cache
def shipped_schema(name: str) -> dict[str, Any]:
    from retention_mcp.paths import shipped_dir

    return json.loads((shipped_dir("schemas") / name).read_text(encoding="utf-8"))


OUTLINE_DEPTH = 2  # a result's fields, and the fields of its objects


def outline(schema: dict[str, Any], depth: int) -> dict[str, Any]:
    """A result's JSON Schema down to `depth` levels of properties; deeper objects and arrays keep their type (and
    null, where allowed) and description only. Clients check every result against the published output schema, on
    every call, and the check walks every value the schema describes: the nested constraints and goals cost more to
    check than the server spends making the result. The whole schema is in the `all` mode and the schema://
    resources."""
    node = {k: v for k, v in schema.items() if k not in ("properties", "items", "additionalProperties", "required")}
    if depth <= 0:
        return {k: v for k, v in node.items() if k in ("type", "description", "title")}
    if "properties" in schema:
        node["properties"] = {name: outline(prop, depth - 1) for name, prop in schema["properties"].items()}
        if "required" in schema:
            node["required"] = schema["required"]
    if "items" in schema:
        node["items"] = outline(schema["items"], depth - 1)
    if isinstance(schema.get("additionalProperties"), dict):
        node["additionalProperties"] = outline(schema["additionalProperties"], depth - 1)
    if "anyOf" in schema:
        node["anyOf"] = [outline(branch, depth) for branch in schema["anyOf"]]
    return node


def with_template_names(model: type[M], field_name: str, names: Iterable[str]) -> type[M]:
    """`model` with `field_name` narrowed to one of `names` (an enum in the schema), as a subclass: handlers keep the
    static type."""
    choices = tuple(names)
    return _narrowed(model, field_name, choices) if choices else model


@functools.lru_cache(maxsize=64)
def _narrowed(model: type[M], field_name: str, choices: tuple[str, ...]) -> type[M]:
    """One subclass per model, field and names: every server over the same templates shares it."""
    info = model.model_fields[field_name]
    narrowed: Any = Literal[choices]  # type: ignore[valid-type]
    return create_model(model.__name__, __base__=model, **{field_name: (narrowed, info)})  # type: ignore[call-overload,no-any-return]


def json_text(value: Any) -> Any:
    """An object sent where JSON text is declared (a client that does not stringify) is taken as its JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


# Free-form objects (a plan, a template's arguments) are declared as JSON text: converters that refuse open objects
# (OpenAI strict mode, google-genai) accept a string, and an object sent anyway is taken as its text.
JSONText = Annotated[str, BeforeValidator(json_text)]
BRIEF_CHARS = 200_000  # a template's arguments as JSON text; each field has its own limit after that
