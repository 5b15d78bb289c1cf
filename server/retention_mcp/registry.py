"""The registry: templates grouped by name across languages, each with its parameter model and renderer.

A `Template` is everything the server needs for one template: name, title, description, version, languages,
the pydantic parameter model (the single source of truth for tools, prompts, the CLI and schemas/) and `render`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic.fields import FieldInfo

from retention_mcp.constraints.typed import (
    CONSTRAINTS_DESCRIPTION,
    CONSTRAINTS_FIELD,
    GOALS_DESCRIPTION,
    GOALS_FIELD,
    MAX_GOALS,
    ConstraintsInput,
    GoalInput,
    typed_json_schemas,
)
from retention_mcp.errors import ArgumentError, UnknownTemplateError, invalid_arguments
from retention_mcp.paths import shipped_dir
from retention_mcp.rendering import STATED_CONSTRAINTS, defuse, detect_language, strings_in
from retention_mcp.settings import Limits
from retention_mcp.template import InputSpec, TemplateError, TemplateFile, find_template_files, load_file

if TYPE_CHECKING:  # result models are imported on first use: start-up does not need them
    from retention_mcp.models import RenderResult, TemplateSummary

_JSON_START = re.compile(r'\s*(?:\{|\[\s*[{"\]])')  # how a JSON list or object of goals starts

LANGUAGE_ORDER = ("en", "zh")
LANGUAGE_FIELD = "language"
LANGUAGE_DESCRIPTION = (
    "Language of the prompt: 'auto' (default) follows the language of the values you fill in; 'zh' or 'en' forces one."
    " / 提示词语言:'auto'(默认)跟随所填内容的语言;'zh' 或 'en' 指定语言。"
)


class _ArgumentsBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_optional_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for name, info in cls.model_fields.items():
                value = data.get(name)
                if not info.is_required() and isinstance(value, str) and not value.strip() and name != LANGUAGE_FIELD:
                    data[name] = None
        return data


@dataclass
class Template:
    """One template in one or more languages."""

    name: str
    files: dict[str, TemplateFile]
    limits: Limits = field(default_factory=Limits)
    shipped: bool = False  # from the package's own folder, whose parameter schemas are in the shipped schemas/
    revision: int | None = None  # its version number in the template store, when served from there

    def __post_init__(self) -> None:
        if not self.files:
            raise ValueError("a template needs at least one language file")
        self.files = {lang: self.files[lang] for lang in LANGUAGE_ORDER if lang in self.files}
        _check_languages_agree(self.name, list(self.files.values()))

    @functools.cached_property
    def parameters(self) -> type[BaseModel]:
        """The parameter model, built on first use (the first call, or the schema of a template not shipped)."""
        return self._build_parameter_model()

    def parameters_schema(self) -> dict[str, Any]:
        """The parameter model's JSON Schema. A shipped template with the default limits has it in the shipped
        schemas/NAME.input.json (kept equal to the model by a test: `make schemas` after editing a shipped template),
        so listing the tools builds no model."""
        if self.shipped and self.limits == Limits():
            try:
                text = (shipped_dir("schemas") / f"{self.name}.input.json").read_text(encoding="utf-8")
                schema: dict[str, Any] = json.loads(text)
                return schema
            except (OSError, ValueError):
                pass
        return self.parameters.model_json_schema()

    # -- descriptive properties -------------------------------------------------------------------------------------
    @property
    def languages(self) -> list[str]:
        return list(self.files)

    @property
    def primary(self) -> TemplateFile:
        return next(iter(self.files.values()))

    @property
    def version(self) -> str:
        return self.primary.version

    @property
    def sources(self) -> dict[str, str]:
        return {language: file.source for language, file in self.files.items()}

    @functools.cached_property
    def content_hash(self) -> str:
        """sha256 of every language's source: what a plan records of the exact text it was made from."""
        return content_hash(self.sources)

    @property
    def inputs(self) -> list[InputSpec]:
        return self.primary.front.inputs

    @property
    def title(self) -> str:
        return " · ".join(dict.fromkeys(f.title for f in self.files.values()))

    @property
    def description(self) -> str:
        return "\n\n".join(f.front.description.strip() for f in self.files.values())

    def input_description(self, name: str, language: str | None = None) -> str:
        """The description of an input in every language ("English / 中文"), or in one language when it has it."""
        files = [self.files[language]] if language in self.files else list(self.files.values())
        texts = [next(s.description.strip() for s in f.front.inputs if s.name == name) for f in files]
        return " / ".join(dict.fromkeys(texts))

    def description_in(self, language: str) -> str:
        """The template's description in one language (the first language it has, when not that one)."""
        file = self.files.get(language) or self.primary
        return file.front.description.strip()

    def summary(self) -> TemplateSummary:
        from retention_mcp.models import ParameterInfo, TemplateSummary

        params = [
            ParameterInfo(
                name=spec.name,
                kind=spec.kind,
                required=spec.required,
                description=self.input_description(spec.name),
                default=spec.default,
                enum=spec.enum_values,
            )
            for spec in self.inputs
        ]
        params += [
            ParameterInfo(name=CONSTRAINTS_FIELD, kind="object", required=False, description=CONSTRAINTS_DESCRIPTION),
            ParameterInfo(name=GOALS_FIELD, kind="array", required=False, description=GOALS_DESCRIPTION),
        ]
        params.append(
            ParameterInfo(
                name=LANGUAGE_FIELD,
                kind="string",
                required=False,
                description=LANGUAGE_DESCRIPTION,
                default="auto",
                enum=["auto", *self.languages],
            )
        )
        return TemplateSummary(
            name=self.name,
            title=self.title,
            description=self.description,
            version=self.version,
            languages=self.languages,  # type: ignore[arg-type]
            parameters=params,
        )

    # -- parameters ---------------------------------------------------------------------------------------------------
    def _build_parameter_model(self) -> type[BaseModel]:
        fields: dict[str, Any] = {}
        for spec in self.inputs:
            fields[spec.name] = self._field_for(spec)
        constraints_schema, goals_schema = typed_json_schemas()  # built once, not once per template
        fields[CONSTRAINTS_FIELD] = (
            Annotated[ConstraintsInput | None, WithJsonSchema(constraints_schema)],
            Field(None, description=CONSTRAINTS_DESCRIPTION),
        )
        fields[GOALS_FIELD] = (
            Annotated[list[GoalInput] | None, WithJsonSchema(goals_schema)],
            Field(None, max_length=MAX_GOALS, description=GOALS_DESCRIPTION),
        )
        language_type = Literal[("auto", *self.languages)]  # type: ignore[valid-type]
        fields[LANGUAGE_FIELD] = (language_type, Field("auto", description=LANGUAGE_DESCRIPTION))
        model_name = "".join(part.capitalize() for part in self.name.split("_")) + "Arguments"
        return create_model(model_name, __base__=_ArgumentsBase, **fields)

    def _field_for(self, spec: InputSpec) -> tuple[Any, FieldInfo]:
        limit = self.limits.max_field_chars
        extra: dict[str, Any] = {}
        if spec.kind == "string":
            annotation: Any = (
                Literal[tuple(spec.enum_values)]  # type: ignore[misc]
                if spec.enum_values
                else Annotated[str, StringConstraints(min_length=1, max_length=limit)]
            )
        elif spec.kind in ("number", "integer"):
            base = float if spec.kind == "number" else int
            annotation = Literal[tuple(spec.enum_values)] if spec.enum_values else base  # type: ignore[misc]
        elif spec.kind == "boolean":
            annotation = bool
        elif spec.kind == "array":
            annotation = list[Annotated[str, StringConstraints(max_length=limit)]]
            extra["max_length"] = self.limits.max_array_items
        else:
            annotation = dict[str, Any]
        examples = [spec.example] if spec.example is not None else None
        description = self.input_description(spec.name)
        if spec.required:
            return annotation, Field(..., description=description, examples=examples, **extra)
        return annotation | None, Field(spec.default, description=description, examples=examples, **extra)

    def coerce_strings(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Turn text arguments (MCP prompt arguments, --arg on the command line) into the declared kinds.

        Arrays and objects are parsed as JSON; an array that is not JSON is read one item per line. Numbers and
        booleans are left to the parameter model, which accepts "3", "2.5", "true" and "no".
        """
        kinds = {s.name: s.kind for s in self.inputs} | {CONSTRAINTS_FIELD: "object", GOALS_FIELD: "array"}
        values: dict[str, Any] = {}
        for name, raw in arguments.items():
            kind = kinds.get(name)
            if not isinstance(raw, str) or kind in (None, "string"):
                values[name] = raw
            elif not raw.strip():
                values[name] = None
            elif kind in ("array", "object"):
                try:
                    values[name] = json.loads(raw)
                except json.JSONDecodeError:
                    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
                    if name == GOALS_FIELD and _JSON_START.match(raw):  # JSON with a typo: refused, not a goal
                        values[name] = raw
                    elif name == GOALS_FIELD:  # one goal per line
                        values[name] = [{"text": line} for line in lines]
                    else:
                        values[name] = lines if kind == "array" else raw
            else:
                values[name] = raw.strip()
        return values

    def parameter_fields(self) -> dict[str, FieldInfo]:
        return dict(self.parameters.model_fields)

    def validate(self, arguments: Mapping[str, Any]) -> BaseModel:
        """Validate raw arguments; raise ArgumentError naming every bad field and its rule."""
        try:
            model = self.parameters.model_validate(dict(arguments))
        except ValidationError as exc:
            raise ArgumentError(invalid_arguments(self.name, self.parameters.model_fields, exc)) from None
        self.check_sizes(model)
        return model

    def check_sizes(self, model: BaseModel) -> None:
        """The size limit of object values, which the parameter model's types cannot state; part of `validate`."""
        limit = self.limits.max_field_chars
        for spec in self.inputs:
            value = getattr(model, spec.name)
            if spec.kind == "object" and value is not None:
                size = len(json.dumps(value, ensure_ascii=False))
                if size > limit:
                    raise ArgumentError(
                        f"Invalid arguments for '{self.name}' / 「{self.name}」的参数无效:\n"
                        f"- {spec.name}: is {size} characters as JSON; the limit is {limit} characters per field / "
                        f"序列化后长度为 {size} 个字符,超过每个字段 {limit} 个字符的上限"
                    )

    # -- rendering ----------------------------------------------------------------------------------------------------
    def resolve_language(self, requested: str, values: Mapping[str, Any]) -> str:
        if requested != "auto":
            return requested
        detected = detect_language(strings_in(values))
        if detected in self.files:
            return detected
        return self.languages[0]

    def render(self, arguments: Mapping[str, Any]) -> RenderResult:
        """Validate the arguments and render the prompt. Deterministic for a given version and arguments."""
        return self.render_validated(self.validate(arguments))

    def text_values(self, model: BaseModel) -> dict[str, Any]:
        """The template's own inputs (what its body renders), without the typed constraints and the switches."""
        return {spec.name: getattr(model, spec.name) for spec in self.inputs}

    def render_validated(
        self, model: BaseModel, stated_constraints: str = "", language: str | None = None
    ) -> RenderResult:
        """Render arguments already validated by `validate` (the parameter model), without checking them again.

        `stated_constraints` is the server's block of effective constraints (already safe to show): it goes where the
        template writes {{ stated_constraints }}, or at the end of the last user message of a template that does not.
        `language` is the one `resolve_language` gave for these values, when the caller has it already.
        """
        import jinja2

        from retention_mcp.models import PromptMessage, RenderResult

        values = self.text_values(model)
        language = language or self.resolve_language(getattr(model, LANGUAGE_FIELD), values)
        file = self.files[language]
        safe = defuse(values) | {STATED_CONSTRAINTS: stated_constraints}
        placed = any(STATED_CONSTRAINTS in m.variables for m in file.messages)
        messages: list[PromptMessage] = []
        for message in file.messages:
            try:
                text = message.compiled.render(safe).strip()
            except jinja2.TemplateError as exc:
                raise TemplateError(file.path, message.line, f"rendering failed: {exc}") from None
            if text:
                messages.append(PromptMessage(role=message.role, content=text))
        if stated_constraints and not placed:
            last = max(i for i, m in enumerate(messages) if m.role == "user")
            messages[last] = PromptMessage(role="user", content=f"{messages[last].content}\n\n{stated_constraints}")
        prompt = "\n\n".join(m.content for m in messages)
        if len(prompt) > self.limits.max_prompt_chars:
            raise ArgumentError(self._prompt_too_long(len(prompt), values))
        return RenderResult(
            template=self.name, version=self.version, language=language, messages=messages, prompt=prompt
        )

    def _prompt_too_long(self, size: int, values: Mapping[str, Any]) -> str:
        sizes = sorted(
            (
                (name, len(json.dumps(v, ensure_ascii=False)) if not isinstance(v, str) else len(v))
                for name, v in values.items()
                if v is not None
            ),
            key=lambda item: -item[1],
        )[:3]
        longest = ", ".join(f"{name} ({n} chars)" for name, n in sizes)
        limit = self.limits.max_prompt_chars
        return (
            f"The rendered prompt for '{self.name}' is {size} characters; the limit is {limit}. "
            f"Shorten the longest fields: {longest}. / 「{self.name}」渲染后的提示词共 {size} 个字符,超过 {limit} 的上限,"
            f"请缩短最长的字段:{longest}。"
        )


def content_hash(sources: Mapping[str, str]) -> str:
    import hashlib

    text = json.dumps(dict(sorted(sources.items())), ensure_ascii=False, sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_languages_agree(name: str, files: list[TemplateFile]) -> None:
    first = files[0]
    signature = {s.name: (s.kind, s.required, s.default, s.enum_values) for s in first.front.inputs}
    for other in files[1:]:
        if other.version != first.version:
            raise TemplateError(
                other.path, None, f"version {other.version} differs from {first.path.name} ({first.version})"
            )
        theirs = {s.name: (s.kind, s.required, s.default, s.enum_values) for s in other.front.inputs}
        if list(theirs) != list(signature):
            raise TemplateError(
                other.path,
                None,
                f"inputs {list(theirs)} differ from {first.path.name} ({list(signature)}); every language of "
                f"'{name}' declares the same inputs in the same order",
            )
        for input_name, spec in theirs.items():
            if spec != signature[input_name]:
                raise TemplateError(
                    other.path,
                    None,
                    f"input '{input_name}' (kind, required, default, enumValues) differs from {first.path.name}",
                )


class Registry:
    """Templates by name. Later directories override earlier ones by template name."""

    def __init__(self, templates: Iterable[Template] = (), marker: tuple[int, int] | None = None):
        self._templates: dict[str, Template] = {t.name: t for t in templates}
        self.marker = marker  # the template store's change marker these were read at (None: not from a store)

    def __iter__(self) -> Iterator[Template]:
        return iter(self._templates.values())

    def __len__(self) -> int:
        return len(self._templates)

    def __contains__(self, name: object) -> bool:
        return name in self._templates

    def names(self) -> list[str]:
        return list(self._templates)

    def get(self, name: str) -> Template:
        try:
            return self._templates[name]
        except KeyError:
            raise UnknownTemplateError(name, self._templates) from None

    @classmethod
    def load(cls, directories: Iterable[Path] = (), limits: Limits | None = None, shipped: bool = True) -> Registry:
        """Load the shipped templates, then each directory in order; raise TemplateError on the first problem."""
        limits = limits or Limits()
        merged: dict[str, Template] = {}
        dirs = ([(shipped_dir("templates"), True)] if shipped else []) + [(Path(d), False) for d in directories]
        for directory, is_shipped in dirs:
            for template in load_directory(directory, limits, allow_empty=True, shipped=is_shipped):
                merged[template.name] = template
        return cls(merged.values())


def load_directory(
    directory: Path, limits: Limits | None = None, allow_empty: bool = False, shipped: bool = False
) -> list[Template]:
    """Load every template file in one directory, grouped by name; raise TemplateError on the first problem.

    `allow_empty` accepts a folder with no templates yet (a team folder that `serve --watch` will see filled).
    `shipped`: the package's own folder, whose bodies the test suite checks (their messages are parsed on first use,
    see `template.load_file`) and whose parameter schemas are shipped (see `Template.parameters_schema`).
    """
    problems, templates = _load(
        Path(directory), limits or Limits(), stop_at_first=True, allow_empty=allow_empty, shipped=shipped
    )
    if problems:
        raise problems[0]
    return templates


def check_directory(directory: Path, limits: Limits | None = None) -> list[TemplateError]:
    """Every problem in a folder of templates (per broken file, then between files), or in one .prompty file."""
    path, limits = Path(directory), limits or Limits()
    if path.is_dir() or not path.exists():
        return _load(path, limits, stop_at_first=False)[0]
    if path.suffix != ".prompty":
        return [TemplateError(path, None, "not a folder or a .prompty file / 不是文件夹或 .prompty 文件")]
    try:
        _group([load_file(path)], limits)
    except TemplateError as exc:
        return [exc]
    return []


def _load(
    directory: Path, limits: Limits, stop_at_first: bool, allow_empty: bool = False, shipped: bool = False
) -> tuple[list[TemplateError], list[Template]]:
    if not directory.is_dir():
        return [
            TemplateError(
                directory,
                None,
                "not a directory (give a folder of .prompty files) / 不是文件夹(请给出存放 .prompty 文件的文件夹)",
            )
        ], []
    paths = find_template_files(directory)
    if not paths:
        return ([] if allow_empty else [TemplateError(directory, None, "no .prompty files in this folder")]), []
    problems: list[TemplateError] = []
    loaded: list[TemplateFile] = []
    for path in paths:
        try:
            loaded.append(load_file(path, check_body=not shipped))
        except TemplateError as exc:
            problems.append(exc)
            if stop_at_first:
                return problems, []
    try:
        templates = _group(loaded, limits, shipped)
    except TemplateError as exc:
        return [*problems, exc], []
    return problems, templates


def _group(files: list[TemplateFile], limits: Limits, shipped: bool = False) -> list[Template]:
    by_name: dict[str, dict[str, TemplateFile]] = {}
    for file in files:
        languages = by_name.setdefault(file.name, {})
        if file.language in languages:
            raise TemplateError(
                file.path,
                None,
                f"'{file.name}' in '{file.language}' is also defined by {languages[file.language].path.name}",
            )
        languages[file.language] = file
    return [Template(name=name, files=langs, limits=limits, shipped=shipped) for name, langs in by_name.items()]
