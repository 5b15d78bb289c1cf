"""Publishing templates to the template store, and comparing two versions: what the command line and the MCP tools
share. Publishing validates as `templates check` does (every problem with its file and line); a comparison names the
sections (Markdown headings of each message), the parameters and their types, then the lines of text that changed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field

from retention_mcp.generation.served_templates import parameter_changes, template_of
from retention_mcp.generation.template_store import Published, TemplateStore, TemplateVersion, TemplateVersionError
from retention_mcp.registry import Registry, Template, _group, check_directory
from retention_mcp.settings import Limits
from retention_mcp.template import TemplateError, load_file

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*$")


class PublishProblems(TemplateVersionError):
    """The files did not pass the checks; nothing was published. `problems` are file:line messages."""

    def __init__(self, problems: list[TemplateError]):
        self.problems = problems
        lines = "\n".join(f"error: {p}" for p in problems)
        super().__init__(f"{lines}\n{len(problems)} problem(s) found; nothing was published / 发现问题,未发布")


class PublishOutcome(BaseModel):
    name: str
    published: Published
    parameter_changes: list[str] = Field(default_factory=list, description="Against the version the label served")


def templates_in(path: Path, limits: Limits) -> list[Template]:
    """The templates in a .prompty file or a folder of them, checked as `templates check` checks them."""
    path = Path(path)
    if path.is_dir():
        problems = check_directory(path, limits)
        if problems:
            raise PublishProblems(problems)
        from retention_mcp.registry import load_directory

        return load_directory(path, limits)
    try:
        return _group([load_file(path)], limits)
    except TemplateError as exc:
        raise PublishProblems([exc]) from None


def publish(
    store: TemplateStore,
    path: Path,
    author: str,
    message: str = "",
    label: str | None = None,
    limits: Limits | None = None,
) -> list[PublishOutcome]:
    """Each template in `path` as a new version (identical content: nothing written, and the outcome says so)."""
    limits = limits or Limits()
    templates = templates_in(path, limits)
    served = store.served(label or "production")
    bundled = {t.name: t for t in Registry.load((), limits)}
    for template in templates:  # a language the served version has, left out, is refused before anything is written
        before = served.get(template.name)
        dropped = sorted(set((before.files or {}) if before else {}) - set(template.sources))
        if dropped:
            missing, given = ", ".join(dropped), ", ".join(template.sources)
            raise TemplateVersionError(
                f"{template.name}: the served version has {missing} too, and this publish has only {given}; publish "
                f"every language of the template together (its folder), or a language would stop being served; "
                f"nothing was published / {template.name}:当前版本还包含 {missing},本次只发布了 {given};请把模板的所有"
                "语言文件一起发布(整个文件夹),否则该语言将不再提供;未发布任何内容"
            )
    outcomes = []
    for template in templates:
        before = served.get(template.name)
        published = store.publish(template.name, template.sources, template.content_hash, author, message, label)
        changes = parameter_changes(template_of(before, limits, bundled) if before else None, template)
        outcomes.append(PublishOutcome(name=template.name, published=published, parameter_changes=changes))
    return outcomes


class SectionChange(BaseModel):
    language: str
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


class TemplateDiff(BaseModel):
    name: str
    old: int
    new: int
    same: bool
    metadata: list[str] = Field(default_factory=list, description="title, description, version string, languages")
    parameters: list[str] = Field(default_factory=list, description="added, removed, kind and rule changes")
    sections: list[SectionChange] = Field(default_factory=list, description="Markdown headings of the messages")
    text: list[str] = Field(default_factory=list, description="unified diff of each language's source")


def sections_of(template: Template, language: str) -> list[str]:
    """Each message's role and the Markdown headings in it, in order: 'system', 'system > # Output structure'…"""
    found: list[str] = []
    for message in template.files[language].messages:
        found.append(message.role)
        found += [
            f"{message.role} > {m.group(1)} {m.group(2)}" for m in map(_HEADING.match, message.source.split("\n")) if m
        ]
    return found


def diff(store: TemplateStore, name: str, old: int, new: int, limits: Limits | None = None) -> TemplateDiff:
    limits = limits or Limits()
    bundled = {t.name: t for t in Registry.load((), limits)}
    a_version, b_version = store.get(name, old), store.get(name, new)
    a, b = template_of(a_version, limits, bundled), template_of(b_version, limits, bundled)
    return compare(a, b, a_version, b_version)


def compare(a: Template, b: Template, a_version: TemplateVersion, b_version: TemplateVersion) -> TemplateDiff:
    result = TemplateDiff(
        name=b.name, old=a_version.version, new=b_version.version, same=a.content_hash == b.content_hash
    )
    for label, before, after in (
        ("version", a.version, b.version),
        ("title", a.title, b.title),
        ("languages", "/".join(a.languages), "/".join(b.languages)),
    ):
        if before != after:
            result.metadata.append(f"{label}: {before} -> {after}")
    if a.description != b.description:
        result.metadata.append("description changed")
    result.parameters = parameter_changes(a, b)
    for spec in b.inputs:
        if any(s.name == spec.name and s.description != spec.description for s in a.inputs):
            result.parameters.append(f"{spec.name}: description changed")
    for language in dict.fromkeys([*a.languages, *b.languages]):
        old = sections_of(a, language) if language in a.files else []
        new = sections_of(b, language) if language in b.files else []
        added, removed = [s for s in new if s not in old], [s for s in old if s not in new]
        if added or removed:
            result.sections.append(SectionChange(language=language, added=added, removed=removed))
        result.text += _unified(a.sources, b.sources, language, a_version, b_version)
    return result


def _unified(
    old: Mapping[str, str], new: Mapping[str, str], language: str, a: TemplateVersion, b: TemplateVersion
) -> list[str]:
    return list(
        difflib.unified_diff(
            old.get(language, "").split("\n"),
            new.get(language, "").split("\n"),
            f"{a.name}@{a.version}.{language}",
            f"{b.name}@{b.version}.{language}",
            n=1,
            lineterm="",
        )
    )


def diff_text(result: TemplateDiff) -> str:
    """The comparison for people: metadata, parameters, sections, then the changed lines."""
    if result.same:
        return f"{result.name}: versions {result.old} and {result.new} have the same content / 内容相同"
    lines = [f"{result.name}: version {result.old} -> {result.new}"]
    if result.metadata:
        lines += ["metadata:", *(f"  {m}" for m in result.metadata)]
    lines += ["parameters:", *(f"  {p}" for p in result.parameters or ["(unchanged / 未变)"])]
    lines.append("sections:")
    for change in result.sections:
        lines += [f"  [{change.language}] + {s}" for s in change.added]
        lines += [f"  [{change.language}] - {s}" for s in change.removed]
    if not result.sections:
        lines.append("  (unchanged / 未变)")
    return "\n".join([*lines, "text:", *result.text])


class HistoryEntry(BaseModel):
    version: TemplateVersion
    parameter_changes: list[str] = Field(default_factory=list, description="Against the version before it")


def history_entries(store: TemplateStore, name: str, limits: Limits | None = None) -> list[HistoryEntry]:
    """Every version of `name`, oldest first, with what each changed in the parameters."""
    limits = limits or Limits()
    bundled = {t.name: t for t in Registry.load((), limits)}
    entries: list[HistoryEntry] = []
    before: Template | None = None
    for summary in store.history(name).versions:
        try:
            template: Template | None = template_of(store.get(name, summary.version), limits, bundled)
        except TemplateError:
            template = None
        changes = parameter_changes(before, template) if template is not None else ["(cannot be read)"]
        entries.append(HistoryEntry(version=summary, parameter_changes=changes))
        before = template or before
    return entries
