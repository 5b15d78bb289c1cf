"""Template hot reload: `serve --watch` picks up added, edited and removed template files while serving.

A change is checked by polling file times and sizes (no extra dependency, works on every file system). A broken
edit is reported on stderr and the server keeps serving the templates it had.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import anyio

from retention_mcp.paths import shipped_dir
from retention_mcp.server import RetentionServer
from retention_mcp.template import TemplateError, find_template_files
from retention_mcp.untrusted import one_line

Snapshot = tuple[tuple[str, int, int], ...]


class TemplateWatcher:
    def __init__(self, server: RetentionServer, interval: float = 1.0, log: TextIO = sys.stderr):
        self.server = server
        self.interval = interval
        self.log = log
        self.reloads = 0

    def snapshot(self) -> Snapshot:
        entries = []
        for directory in [shipped_dir("templates"), *self.server.app.settings.template_dirs]:
            if not Path(directory).is_dir():
                entries.append((str(directory), -1, -1))
                continue
            for path in find_template_files(Path(directory)):
                try:
                    stat = path.stat()
                except OSError:  # removed between listing and stat; the next poll sees it gone
                    continue
                entries.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(entries)

    async def reload(self) -> bool:
        """Load the templates again; on success serve them, on failure keep the old ones. Returns success."""
        try:
            registry = await self.server.reload()
        except TemplateError as exc:
            print(f"retention-mcp: template error; still serving the previous templates: {exc}", file=self.log)
            return False
        self.reloads += 1
        print(f"retention-mcp: reloaded {len(registry)} templates: {', '.join(registry.names())}", file=self.log)
        return True

    async def run(self) -> None:
        last = self.snapshot()
        while True:
            await anyio.sleep(self.interval)
            current = await anyio.to_thread.run_sync(self.snapshot)
            if current != last:
                last = current
                await self.reload()


class StoreWatcher:
    """Serves what the template store's label names as it changes: a publish or a label move through another replica
    or the command line reaches this one within about a second (PostgreSQL NOTIFY; SQLite's data_version), its tools
    and prompts change in place and its clients are told. Each template whose served version changed is one line on
    stderr, naming the parameters the new version changes."""

    def __init__(self, server: RetentionServer, wait: float = 1.0, log: TextIO = sys.stderr):
        self.server = server
        self.wait = wait
        self.log = log
        self.reloads = 0

    async def run(self) -> None:
        from retention_mcp.generation.template_watch import ChangeHint, change_hint

        store = self.server.app.template_store()
        if store is None:
            return
        hint: ChangeHint | None = None
        last = self.server.registry.marker  # None: the files are served, for want of the store at start
        try:
            while True:
                try:
                    if hint is None:
                        hint = await anyio.to_thread.run_sync(change_hint, store)
                    await anyio.to_thread.run_sync(hint.wait, self.wait, abandon_on_cancel=True)
                    current = await anyio.to_thread.run_sync(store.marker)
                except Exception as exc:  # the store is away for now; the next round looks again
                    print(f"retention-mcp: template store unavailable: {one_line(exc)}", file=self.log, flush=True)
                    await anyio.sleep(self.wait)
                    continue
                if current != last:
                    await self.reload()
                    last = self.server.registry.marker or current
        finally:
            if hint is not None:
                hint.close()

    async def reload(self) -> bool:
        from retention_mcp.generation.served_templates import parameter_changes

        before = {t.name: t for t in self.server.registry}
        try:
            registry = await self.server.reload()
        except Exception as exc:  # a version that cannot be served, a store that failed: keep what we serve
            print(f"retention-mcp: template store changed; still serving the previous templates: {exc}", file=self.log)
            return False
        self.reloads += 1
        label = self.server.app.settings.template_label
        for template in registry:
            old = before.get(template.name)
            if old is not None and (old.revision, old.content_hash) == (template.revision, template.content_hash):
                continue
            line = f"retention-mcp: serving {template.name} version {template.revision or '-'} ({label})"
            changes = parameter_changes(old, template)
            print(line + (f"; parameters changed: {'; '.join(changes)}" if changes else ""), file=self.log, flush=True)
        return True
