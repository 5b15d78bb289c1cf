"""The templates a server serves when it keeps a plan store: the bundled ones, then the versions its label names in
the template store, then the template folders given on the command line (which override by name, as they always did).

The bundled templates are kept in the store as versions at first start (`TemplateStore.seed`). A stored version whose
content is the bundled template's is served from the bundled files (no parsing, its shipped schema); any other is
parsed and checked in full, as `templates check` checks a file.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from retention_mcp.generation.template_store import TemplateStore, TemplateVersion
from retention_mcp.registry import Registry, Template, load_directory
from retention_mcp.settings import Limits
from retention_mcp.template import TemplateError, TemplateFile, parse_template

log = logging.getLogger("retention_mcp.templates")


def version_path(name: str, version: int, language: str) -> Path:
    """How a stored version's file is named in errors and listings: NAME@VERSION.LANGUAGE.prompty."""
    return Path(f"{name}@{version}.{language}.prompty")


def template_of(version: TemplateVersion, limits: Limits, bundled: Mapping[str, Template] | None = None) -> Template:
    """A stored version as a Template (TemplateError names NAME@VERSION.LANGUAGE.prompty and the line)."""
    same = (bundled or {}).get(version.name)
    if same is not None and same.content_hash == version.content_hash:
        return dataclasses.replace(same, revision=version.version)
    files: dict[str, TemplateFile] = {}
    for language, source in (version.files or {}).items():
        file = parse_template(source, version_path(version.name, version.version, language))
        files[file.language] = file
    if not files:
        raise TemplateError(version_path(version.name, version.version, "?"), None, "the stored version has no files")
    return Template(name=version.name, files=files, limits=limits, revision=version.version)


def bundled_sources(templates: Iterable[Template]) -> dict[str, tuple[dict[str, str], str]]:
    return {t.name: (t.sources, t.content_hash) for t in templates}


def load_served(store: TemplateStore, label: str, directories: Iterable[Path], limits: Limits) -> Registry:
    """Bundled templates (seeded into the store), the versions `label` names, then the folders."""
    bundled = {t.name: t for t in Registry.load((), limits)}
    store.seed(bundled_sources(bundled.values()))
    marker = store.marker()  # read before the versions: a change after it shows as a new marker
    merged = dict(bundled)
    for name, version in store.served(label).items():
        try:
            merged[name] = template_of(version, limits, bundled)
        except TemplateError as exc:  # written by an older release, or by hand: the rest still serve
            log.error("template %s version %d is not served: %s", name, version.version, exc)
    for directory in directories:
        for template in load_directory(Path(directory), limits, allow_empty=True):
            merged[template.name] = template
    return Registry(merged.values(), marker)


def parameter_changes(before: Template | None, after: Template) -> list[str]:
    """What a new version changes in the parameters: 'added x (string)', 'removed y', 'z: string -> integer'."""
    if before is None:
        return []
    old = {s.name: s for s in before.inputs}
    new = {s.name: s for s in after.inputs}
    changes = [f"added {n} ({new[n].kind}{', required' if new[n].required else ''})" for n in new if n not in old]
    changes += [f"removed {n}" for n in old if n not in new]
    for name in (n for n in new if n in old):
        a, b = old[name], new[name]
        if a.kind != b.kind:
            changes.append(f"{name}: {a.kind} -> {b.kind}")
        if a.required != b.required:
            changes.append(f"{name}: {'required' if b.required else 'optional'}")
        if a.enum_values != b.enum_values:
            changes.append(f"{name}: choices {a.enum_values} -> {b.enum_values}")
        if a.default != b.default:
            changes.append(f"{name}: default {a.default!r} -> {b.default!r}")
    return changes
