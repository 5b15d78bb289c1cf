"""Tool specs and the published surface: each tool's parameter model, and the input schema built from it (lean in the
default surface, in full bilingual detail in the `all` mode and the schema:// resources)."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from mcp.server.mcpserver import Context
from mcp_types import (
    CallToolResult,
    ToolAnnotations,
)
from pydantic import BaseModel, ValidationError

from retention_mcp.constraints.typed import (
    LEAN_KEYS_IN_DESCRIPTION,
    LEAN_REQUIRED_ONLY,
)
from retention_mcp.errors import ArgumentError, invalid_arguments
from retention_mcp.mcp.texts import LEAN_MODE_DESCRIPTION, MODE_DESCRIPTION, MODES, pick
from retention_mcp.settings import SurfaceLanguage

if TYPE_CHECKING:
    pass


Handler = Callable[[BaseModel, dict[str, Any], Context | None], Awaitable[CallToolResult]]


# arguments that are not fields of the parameter model (a template tool's `mode`): name -> (JSON Schema, allowed)
Extra = dict[str, tuple[dict[str, Any], tuple[str, ...]]]


@dataclass
class ToolSpec:
    """One tool: the model its arguments are validated by (once), the handler, and what tools/list shows."""

    name: str
    title: str
    description: str
    annotations: ToolAnnotations
    model_of: Callable[[], type[BaseModel]]  # the parameter model, asked for on the first call
    handler: Handler
    output_schema: Callable[[], dict[str, Any]] | None = None
    extra: Extra = field(default_factory=dict)
    input_schema: dict[str, Any] = field(default_factory=dict)
    # checks the model's types cannot state (a template's object-size limit); raise ArgumentError
    after: Callable[[BaseModel], None] | None = None
    # a form to put to the user before the tool runs (asking.Question); its answer reaches the handler in extras
    question: Callable[..., Awaitable[Any]] | None = None

    @property
    def model(self) -> type[BaseModel]:
        return self.model_of()

    @property
    def allowed(self) -> set[str]:
        return set(self.model.model_fields) | set(self.extra)

    def check(self, arguments: dict[str, Any], unknown: Iterable[str] = ()) -> tuple[BaseModel, dict[str, Any]]:
        """The validated model and the extra arguments; ArgumentError names every bad field and its rule."""
        fields = {k: v for k, v in arguments.items() if k in self.model.model_fields and v is not None}
        extras = {name: arguments.get(name) for name in self.extra}
        problems: ValidationError | None = None
        model: BaseModel | None = None
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


def _lean_property(prop: dict[str, Any], description: str | None) -> dict[str, Any]:
    """A property of the published input schema without what a model does not need: titles, examples, the
    `null` branch of optional values (leaving a value out is how to say "none")."""
    prop = {k: v for k, v in prop.items() if k not in ("title", "examples", "maxLength")}
    branches = prop.get("anyOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        if len(rest) == 1:
            del prop["anyOf"]
            prop = {**rest[0], **prop}
            if prop.get("default", 0) is None:
                del prop["default"]
    if prop.get("minLength") == 1:
        del prop["minLength"]  # a blank optional value counts as left out; a blank required one gets a clear error
    if description:
        prop["description"] = description
    elif description == "":
        prop.pop("description", None)
    if "enum" in prop and prop.get("type") == "string":
        del prop["type"]  # the values say it
    if prop.get("type") == "array" and isinstance(prop.get("items"), dict) and prop["items"].get("type") == "object":
        prop.pop("maxItems", None)  # a list of objects (goals): the server names its limit when it is passed
    return dict(sorted(prop.items()))


_LEAN_DROPS = frozenset(
    {"title", "examples", "maxLength", "minLength", "maxItems", "minimum", "maximum", "additionalProperties", "default"}
)


def _inline(node: Any, defs: dict[str, Any], language: SurfaceLanguage) -> Any:
    """A nested part of a lean schema: references resolved in place, each description in one language, and what a
    model does not need left out: titles and the limits the server checks and names in its errors (lengths, ranges,
    unknown keys)."""
    if isinstance(node, list):
        return [_inline(item, defs, language) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        return _inline({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs, language)
    if node.get("title") in LEAN_KEYS_IN_DESCRIPTION:
        return {"type": "object"}  # its keys are named in the description of the field that holds it
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _LEAN_DROPS or key == "$defs":
            continue
        if key == "description":
            continue  # the field's own description (given by the caller) says what the nested keys mean
        if key == "properties":
            keep = node.get("required") if node.get("title") in LEAN_REQUIRED_ONLY else None
            out[key] = {
                name: _lean_property(_inline(p, defs, language), None)
                for name, p in value.items()
                if keep is None or name in keep
            }
        else:
            out[key] = _inline(value, defs, language)
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
    schema = copy.deepcopy(model if isinstance(model, dict) else model.model_json_schema())
    schema.pop("title", None)
    props = schema.setdefault("properties", {})
    if language is not None:
        schema.pop("additionalProperties", None)  # an unknown argument gets an error that names it
        defs = schema.pop("$defs", {})
        for name, prop in list(props.items()):
            text = prop.get("description", "")
            prop = _inline(prop, defs, language) if defs or "anyOf" in prop else prop
            props[name] = _lean_property(prop, describe(name, text) if describe else pick(text, language))
    for name, (prop, _allowed) in (extra or {}).items():
        props[name] = copy.deepcopy(prop)  # already in the surface's language
    return schema


def mode_property(language: SurfaceLanguage | None, described: bool = True) -> dict[str, Any]:
    """The `mode` argument; a template tool's lean surface leaves its description to the tool's own."""
    prop = {
        "default": "prompt",
        "description": MODE_DESCRIPTION,
        "enum": list(MODES),
        "title": "Mode",
        "type": "string",
    }
    if language is not None:
        prop = _lean_property(prop, pick(LEAN_MODE_DESCRIPTION, language))
        if not described:
            del prop["description"]
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
