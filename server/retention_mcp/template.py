"""The template file format (a strict subset of Prompty) and its loader.

A template file is YAML front matter between two `---` lines, then a Jinja2 body split into messages by role
lines (`system:`, `user:`, `assistant:` alone on a line). The loader validates the front matter with a pydantic
model, parses every message in an immutable sandbox, and checks that the body uses exactly the declared inputs.
Every problem is reported with the file and the line it stands on. Nothing here knows about MCP.

The shipped templates (checked by the test suite and `templates check`) are loaded without the body checks: their
messages are parsed on first use, so a server that only lists its tools never imports Jinja2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from retention_mcp.rendering import SERVER_NAMES, environment, global_names

if TYPE_CHECKING:
    import jinja2
    from jinja2 import nodes

Kind = Literal["string", "number", "integer", "boolean", "array", "object"]
Role = Literal["system", "user", "assistant"]
Language = Literal["zh", "en"]

FILE_SUFFIX = ".prompty"
# Names every template tool has besides its own inputs (typed constraints and goals, the language switch, the mode of a
# call, the compact tools' arguments) and the block the server fills: a template cannot declare them.
RESERVED_INPUTS = frozenset({"language", "mode", "arguments", "name", "constraints", "goals", *SERVER_NAMES})
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it: 10x faster
_ROLE_LINE = re.compile(r"^[ \t]*(system|user|assistant)[ \t]*:[ \t]*$")


class TemplateError(Exception):
    """A problem in a template file, with the file and line it stands on."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {message}")


class InputSpec(BaseModel):
    """One declared input of a template."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=NAME_PATTERN)
    kind: Kind = "string"
    description: str = Field(min_length=1)
    required: bool = False
    default: Any = None
    example: Any = None
    enum_values: list[Any] | None = Field(default=None, alias="enumValues", min_length=1)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_INPUTS:
            raise ValueError(f"'{value}' is reserved by the server; choose another input name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if self.required and self.default is not None:
            raise ValueError("a required input cannot have a default; drop one of them")
        for label, value in (("default", self.default), ("example", self.example)):
            if value is not None and not _matches_kind(value, self.kind):
                raise ValueError(f"{label} {value!r} is not of kind {self.kind}")
        if self.enum_values is not None:
            if self.kind not in ("string", "number", "integer"):
                raise ValueError("enumValues is only allowed on string, number and integer inputs")
            for value in self.enum_values:
                if not _matches_kind(value, self.kind):
                    raise ValueError(f"enumValues member {value!r} is not of kind {self.kind}")
            if self.default is not None and self.default not in self.enum_values:
                raise ValueError(f"default {self.default!r} is not one of enumValues")
        return self


class TemplateMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=r"^\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.-]+)?$")
    authors: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    locale: Language


class FrontMatter(BaseModel):
    """The YAML front matter of a template file. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    title: str | None = Field(default=None, min_length=1, max_length=120)
    description: str = Field(min_length=1)
    metadata: TemplateMetadata
    inputs: list[InputSpec] = Field(default_factory=list)
    outputs: Any = None

    @model_validator(mode="after")
    def _unique_inputs(self) -> FrontMatter:
        seen: set[str] = set()
        for spec in self.inputs:
            if spec.name in seen:
                raise ValueError(f"input '{spec.name}' is declared twice")
            seen.add(spec.name)
        return self


@dataclass(frozen=True)
class MessageTemplate:
    """One message of the body: its role and source; its Jinja2 tree is parsed on first use (at load, where the body
    is checked) and compiled on first render."""

    role: Role
    source: str
    line: int
    path: Path = field(repr=False, compare=False)

    @cached_property
    def tree(self) -> nodes.Template:
        import jinja2

        try:
            return environment().parse(self.source)
        except jinja2.TemplateSyntaxError as exc:
            line = self.line + (exc.lineno or 1) - 1
            raise TemplateError(self.path, line, f"template syntax error: {exc.message}") from None

    @cached_property
    def first_uses(self) -> dict[str, int]:
        """Names the message reads and does not assign itself, with the line of their first use (in the message)."""
        return _loaded_names(self.tree)

    @cached_property
    def variables(self) -> frozenset[str]:
        return frozenset(self.first_uses)

    @cached_property
    def compiled(self) -> jinja2.Template:
        # Code generation waits for the first render so that start-up stays close to a bare MCP server's.
        return environment().from_string(self.tree)


@dataclass(frozen=True)
class TemplateFile:
    """One loaded template file in one language."""

    path: Path
    front: FrontMatter
    messages: tuple[MessageTemplate, ...]
    source: str

    @property
    def name(self) -> str:
        return self.front.name

    @property
    def language(self) -> Language:
        return self.front.metadata.locale

    @property
    def version(self) -> str:
        return self.front.metadata.version

    @property
    def title(self) -> str:
        return self.front.title or self.front.name.replace("_", " ").capitalize()


def load_file(path: Path | str, check_body: bool = True) -> TemplateFile:
    """Parse and validate one template file; raise TemplateError on the first problem. Without `check_body` (the
    shipped templates) the messages are parsed on first use and the body is not checked against the inputs."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise TemplateError(path, None, f"cannot read the file: {exc.strerror or exc}") from None
    return parse_template(source, path, check_body)


def parse_template(source: str, path: Path | str = "<string>", check_body: bool = True) -> TemplateFile:
    path = Path(path)
    source = source.replace("\r\n", "\n").removeprefix("\ufeff")
    front_text, body, body_line = _split_front_matter(source, path)
    front = _parse_front_matter(front_text, path)
    messages = _parse_body(body, body_line, path, check_body)
    if check_body:
        _check_variables(front, messages, front_text, path)
    return TemplateFile(path=path, front=front, messages=messages, source=source)


def _split_front_matter(source: str, path: Path) -> tuple[str, str, int]:
    lines = source.split("\n")
    if not lines or lines[0].strip() != "---":
        raise TemplateError(path, 1, "a template starts with a '---' line, then YAML front matter, then '---'")
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2
    raise TemplateError(path, 1, "the front matter is not closed: add a '---' line after it")


def _parse_front_matter(text: str, path: Path) -> FrontMatter:
    loader = _YAML_LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark else 1
        raise TemplateError(path, line, f"front matter is not valid YAML: {exc.problem or exc}") from None
    finally:
        loader.dispose()
    if node is None or not isinstance(node, yaml.MappingNode):
        raise TemplateError(path, 2, "front matter must be a YAML mapping (name:, description:, metadata:, inputs:)")
    lines: dict[tuple[Any, ...], int] = {}
    _index_lines(node, (), lines, path)
    try:
        return FrontMatter.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = _line_for(loc, lines)
        where = ".".join(str(p) for p in loc) or "front matter"
        if err["type"] == "extra_forbidden":
            message = f"unknown key '{loc[-1]}' in {'.'.join(str(p) for p in loc[:-1]) or 'front matter'}"
            allowed = _allowed_keys(loc[:-1])
            if allowed:
                message += f"; allowed keys: {', '.join(allowed)}"
        elif err["type"] == "missing":
            message = f"missing key '{where}'"
        elif err["type"] == "string_type" and isinstance(err.get("input"), int | float):
            message = f'{where}: must be text; put the value in quotes, e.g. "{err["input"]}"'
        else:
            message = f"{where}: {err['msg']}"
        raise TemplateError(path, line, message) from None


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    if not loc:
        model: type[BaseModel] = FrontMatter
    elif loc == ("metadata",):
        model = TemplateMetadata
    elif loc[0] == "inputs":
        model = InputSpec
    else:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _index_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int], file: Path) -> None:
    out[path] = node.start_mark.line + 2
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise TemplateError(file, key_node.start_mark.line + 2, f"key '{key}' appears twice")
            seen.add(key)
            _index_lines(value_node, (*path, key), out, file)
            out[(*path, key)] = key_node.start_mark.line + 2  # errors on a key point at the key itself
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), out, file)


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 2


def _parse_body(body: str, first_line: int, path: Path, check: bool = True) -> tuple[MessageTemplate, ...]:
    segments: list[tuple[Role, list[str], int]] = []
    for offset, line in enumerate(body.split("\n")):
        match = _ROLE_LINE.match(line)
        if match:
            segments.append((match.group(1), [], first_line + offset + 1))  # type: ignore[arg-type]
        elif segments:
            segments[-1][1].append(line)
        elif line.strip():
            raise TemplateError(
                path, first_line + offset, "the body must start with a role line: 'system:', 'user:' or 'assistant:'"
            )
    if not segments:
        raise TemplateError(path, first_line, "the body has no messages: add a 'system:' and a 'user:' section")
    if not any(role == "user" for role, _, _ in segments):
        raise TemplateError(path, segments[0][2] - 1, "the body needs a 'user:' message to carry the user's facts")
    messages = []
    for role, lines, start in segments:
        text = "\n".join(lines).strip("\n")
        if not text.strip():
            raise TemplateError(path, start - 1, f"the '{role}:' message is empty")
        message = MessageTemplate(role=role, source=text, line=start, path=path)
        messages.append(message)
        if not check:
            continue
        used = message.first_uses  # parsing it here makes a syntax error a load error
        if role == "system":
            inputs_here = {n: ln for n, ln in used.items() if n not in global_names()}
            if inputs_here:
                name, ln = min(inputs_here.items(), key=lambda item: item[1])
                raise TemplateError(
                    path,
                    start + ln - 1,
                    f"the system message uses '{name}': user values belong in the user message, "
                    "inside a delimited block; the system message holds only template text",
                )
    return tuple(messages)


def _loaded_names(tree: nodes.Template) -> dict[str, int]:
    """Names the template reads and does not assign itself, with the line of their first use."""
    from jinja2 import nodes

    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    used: dict[str, int] = {}
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in assigned:
            used[node.name] = min(used.get(node.name, node.lineno), node.lineno)
    return used


def _check_variables(front: FrontMatter, messages: tuple[MessageTemplate, ...], front_text: str, path: Path) -> None:
    declared = {spec.name for spec in front.inputs}
    for message in messages:
        for name in sorted(message.variables - declared - global_names() - SERVER_NAMES):
            line = _first_use_line(message, name)
            raise TemplateError(
                path, line, f"'{name}' is used in the body but not declared in inputs (declared: {_names(declared)})"
            )
    used = set().union(*(m.variables for m in messages))
    for spec in front.inputs:
        if spec.name not in used:
            line = _declaration_line(front_text, spec.name)
            raise TemplateError(path, line, f"input '{spec.name}' is declared but never used in the body")


def _first_use_line(message: MessageTemplate, name: str) -> int:
    from jinja2 import nodes

    lines = [n.lineno for n in message.tree.find_all(nodes.Name) if n.name == name]
    return message.line + (min(lines) if lines else 1) - 1


def _declaration_line(front_text: str, name: str) -> int:
    pattern = re.compile(rf"^\s*-?\s*name\s*:\s*['\"]?{re.escape(name)}['\"]?\s*$")
    for index, line in enumerate(front_text.split("\n")):
        if pattern.match(line):
            return index + 2
    return 2


def _names(names: set[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _matches_kind(value: Any, kind: Kind) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


def find_template_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob(f"*{FILE_SUFFIX}") if p.is_file())
