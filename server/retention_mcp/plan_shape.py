"""The shape of a template's plan as a short outline a model can write JSON from, generated from the plan's JSON Schema.

The schema is the shipped `schemas/NAME.plan.json`, exported from the plan model (`schemas export`; a test keeps the
two equal), so the outline follows the model without this module importing plan generation: rendering a prompt stays
light. One line per key, nested keys indented under their parent:

    key*: type — description

`*` marks a required key; types are str, int, num, bool, `a|b|c` (one of; `one of budget.lines.channel`: the same choices as that key,
written out above), `list of …` (`(≥2)`: at least two items); a list of objects or an
object has its keys on the lines below. Descriptions are in the call's language and added, numbers first (what the
checks compare), then shallow keys first, while the outline stays within MAX_SHAPE_CHARS; open maps (no declared keys, such as the server-kept `extras`) are
left out.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

MAX_SHAPE_CHARS = 4000
MAX_DESCRIPTION_CHARS = {"en": 96, "zh": 48}  # about the same meaning: a clause in each language
INDENT = "  "
LONG_CHOICES = 40  # a list of choices longer than this is written out once; later keys refer to it
SCALARS = {"string": "str", "integer": "int", "number": "num", "boolean": "bool"}
NUMERIC = frozenset({"int", "num", "num|str"})


@dataclass
class Key:
    """One key of the outline: its name, depth, type label, whether required, its description, its keys below."""

    name: str
    depth: int
    kind: str
    required: bool
    description: str
    children: list[Key] = field(default_factory=list)
    shown: bool = False  # whether the description is shown

    def line(self) -> str:
        text = f"{INDENT * self.depth}{self.name}{'*' if self.required else ''}: {self.kind}"
        return f"{text} — {self.description}" if self.shown and self.description else text


def _one_language(text: str, language: str) -> str:
    """One side of an "English / 中文" description, shortened to a clause."""
    if " / " in text:
        english, chinese = text.rsplit(" / ", 1)
        text = chinese if language == "zh" else english
    text = " ".join(text.split())
    limit = MAX_DESCRIPTION_CHARS.get(language, MAX_DESCRIPTION_CHARS["en"])
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for stop in ("; ", ", ", "(", "(", ",", ";", " "):
        at = cut.rfind(stop)
        if at > limit // 2:
            return cut[:at].rstrip(" ,;:(") + "…"
    return cut.rstrip() + "…"


class _Reader:
    def __init__(self, schema: dict[str, Any], language: str):
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self.language = language
        self.enums: dict[str, str] = {}  # a long list of choices -> the key it was first written out for

    def deref(self, node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return self.defs[name], name
        return node, None

    def keys(self, node: dict[str, Any], depth: int, seen: frozenset[str], path: str = "") -> list[Key]:
        required = set(node.get("required", ()))
        found = []
        for name, prop in node.get("properties", {}).items():
            key = self.key(name, prop, depth, name in required, seen, path + name)
            if key is not None:
                found.append(key)
        return found

    def key(
        self, name: str, prop: dict[str, Any], depth: int, required: bool, seen: frozenset[str], path: str
    ) -> Key | None:
        description = prop.get("description", "")
        node, ref = self.deref(prop)
        choices = [c for c in node.get("anyOf", ()) if c.get("type") != "null"]
        if len(choices) == 1:  # an optional value: its one non-null type
            node, ref = self.deref(choices[0])
        description = description or node.get("description", "")
        kind, children = self.kind(node, ref, depth, seen, path)
        if kind is None:
            return None
        return Key(name, depth, kind, required, _one_language(description, self.language), children)

    def kind(
        self, node: dict[str, Any], ref: str | None, depth: int, seen: frozenset[str], path: str
    ) -> tuple[Any, list[Key]]:
        if "enum" in node:
            choices = "|".join(str(v) for v in node["enum"])
            if len(choices) <= LONG_CHOICES:
                return choices, []
            first = self.enums.setdefault(choices, path)
            return (choices if first == path else f"one of {first}"), []
        if "const" in node:
            return json.dumps(node["const"], ensure_ascii=False), []
        if node.get("type") == "array":
            item, item_ref = self.deref(node.get("items", {}))
            kind, children = self.kind(item, item_ref, depth, seen, path)
            least = node.get("minItems", 0)
            return (f"list of {kind}" + (f" (≥{least})" if least > 1 else "") if kind is not None else None), children
        if "properties" in node:
            if ref is not None and ref in seen:  # a recursive part: named, not expanded again
                return ref, []
            inner = seen | {ref} if ref is not None else seen
            return "object", self.keys(node, depth + 1, inner, path + ".")
        if node.get("type") == "object":
            return None, []  # an open map: nothing declared to write
        if "anyOf" in node:
            options = [self.deref(c) for c in node["anyOf"] if c.get("type") != "null"]
            kinds = [self.kind(option, option_ref, depth, seen, path)[0] for option, option_ref in options]
            return "|".join(k for k in kinds if k) or "any", []
        return SCALARS.get(node.get("type", ""), "any"), []


def _walk(keys: list[Key]) -> list[Key]:
    out: list[Key] = []
    for key in keys:
        out.append(key)
        out += _walk(key.children)
    return out


def outline(schema: dict[str, Any], language: str, limit: int = MAX_SHAPE_CHARS) -> str:
    """The outline of a plan schema in `language` ('en' or 'zh'), at most `limit` characters: every key with its
    type, and as many descriptions as fit, numbers first, then shallow keys first."""
    keys = _walk(_Reader(schema, language).keys(schema, 0, frozenset()))
    size = sum(len(k.line()) + 1 for k in keys)
    # numbers first (amounts, days, periods, percents: what the checks compare), then shallow keys first; stable
    for key in sorted((k for k in keys if k.description), key=lambda k: (k.kind not in NUMERIC, k.depth)):
        grown = len(key.description) + 3
        if size + grown > limit:
            continue
        key.shown, size = True, size + grown
    lines = [k.line() for k in keys]
    while lines and sum(len(line) + 1 for line in lines) > limit:  # only a schema far larger than ours gets here
        lines.pop()
    return "\n".join(lines)


@functools.lru_cache(maxsize=64)
def shipped_plan_schema(template: str) -> dict[str, Any] | None:
    """The shipped JSON Schema of a template's plan; None for a template this project does not ship."""
    from retention_mcp.paths import shipped_dir

    path = shipped_dir("schemas") / f"{template}.plan.json"
    if not path.is_file():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


_LEAD = {
    "en": "To have the plan checked and saved: write it as one JSON object of this shape (* = required key):",
    "zh": "如需检查并保存方案:请按以下结构写成一个 JSON 对象(* 为必填键):",
}
_NO_SHAPE = {
    "en": "To have the plan checked and saved: write it as one JSON object matching the JSON Schema at {uri}.",
    "zh": "如需检查并保存方案:请按 {uri} 中的 JSON Schema 写成一个 JSON 对象。",
}
_SUBMIT = {
    "en": (
        'Then call the check_plan tool with template "{name}", plan (the JSON as text), arguments (the fields of this '
        'call, constraints and goals included, as JSON text) and language "{language}". It checks the plan against '
        "the stated constraints and saves it. Fix every check that fails and call check_plan again with the plan_id it "
        "returned. Full JSON Schema: {uri}"
    ),
    "zh": (
        '然后调用 check_plan 工具:template 填 "{name}",plan 填该 JSON(文本),arguments 填本次调用的字段(含约束与目标,'
        'JSON 文本),language 填 "{language}"。它会按所述约束检查方案并保存。修正每一项未通过的检查,再带上返回的 plan_id '
        "调用 check_plan。完整 JSON Schema:{uri}"
    ),
}


@functools.lru_cache(maxsize=256)
def submit_note(template: str, language: str) -> str:
    """What ends a prompt-mode result: the plan's shape and how to submit it to check_plan, at most MAX_SHAPE_CHARS
    characters in `language` ('en' or 'zh')."""
    language = "zh" if language == "zh" else "en"
    uri = f"schema://{template}/plan"
    submit = _SUBMIT[language].format(name=template, language=language, uri=uri)
    schema = shipped_plan_schema(template)
    if schema is None:
        return _NO_SHAPE[language].format(uri=uri) + "\n" + submit
    lead = _LEAD[language]
    shape = outline(schema, language, MAX_SHAPE_CHARS - len(lead) - len(submit) - 2)
    return f"{lead}\n{shape}\n{submit}"
