"""The application core: everything retention-mcp does, for any front end.

`RetentionApp(settings)` owns the template registry (swapped as one object on reload), the plan service and its
`PlanStore`, and the data sandbox. It offers render, generate, check_plan, analyze, list_plans, get_plan and reload.
The MCP server (server.py, mcp/) and the command line (cli/) are thin adapters over it: they turn their input into a
call here and its results and `UserError`s into their own output, each in one place.

Start-up stays light: generation and analytics code is imported on the first call that needs it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import BaseModel

from retention_mcp.errors import UserError
from retention_mcp.paths import readable_dirs
from retention_mcp.registry import Registry, Template
from retention_mcp.settings import ENV_PLAN_STORE, Settings, store_timeout

if TYPE_CHECKING:
    from retention_mcp.analytics.params import AnalyzeParams
    from retention_mcp.analytics.service import AnalysisOutcome
    from retention_mcp.constraints.fill import Ask
    from retention_mcp.generation.backends import Backend
    from retention_mcp.generation.service import PlanService
    from retention_mcp.generation.store import AuditEntry, AuditWriter, PlanStore, PlanSummary, StoredPlan
    from retention_mcp.generation.template_store import TemplateStore
    from retention_mcp.models import PlanResult, RenderResult, TemplateList

log = logging.getLogger("retention_mcp")
Progress = Callable[[float, float, str], Awaitable[None]]
_FROM_SETTINGS: Any = object()


class PlansNotKeptError(UserError):
    def __init__(self) -> None:
        super().__init__(
            f"Plans are not kept on this server ({ENV_PLAN_STORE}=off) / 本服务未保存方案({ENV_PLAN_STORE}=off)"
        )


class RetentionApp:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        registry: Registry | None = None,
        plan_store: PlanStore | None = _FROM_SETTINGS,
        backend: Backend | None = _FROM_SETTINGS,
    ):
        """`registry`, `plan_store` and `backend` default to what the settings describe; pass them to use others
        (a `PlanStore` of your own, `None` to keep no plans, a backend for tests)."""
        self.settings = settings or Settings()
        self._registry = registry  # loaded on first use: `plans list` never reads the templates
        self._store = plan_store
        self._owns_store = plan_store is _FROM_SETTINGS  # opened here from the settings: closed by `close`
        self._backend = backend
        self._plans: PlanService | None = None
        self._audit_writer: AuditWriter | None = None
        self.unreachable: UserError | None = None  # why the store could not be reached when templates were last read

    # -- templates --------------------------------------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self.load_registry()
        return self._registry

    def load_registry(self) -> Registry:
        """With a plan store: the versions the label names in its template store (seeded with the bundled templates
        at first start), under the template folders; without one, the bundled templates and the folders."""
        store = self.template_store() if self.settings.template_label else None
        if store is None or self.settings.template_label is None:
            return Registry.load(self.settings.template_dirs, self.settings.limits)
        from retention_mcp.generation.served_templates import load_served

        try:
            served = load_served(store, self.settings.template_label, self.settings.template_dirs, self.settings.limits)
        except UserError as exc:  # the store is unreachable: serve the files until it answers (the watcher reloads)
            log.warning("template store unavailable, serving the template files: %s", exc)
            self.unreachable = exc
            return Registry.load(self.settings.template_dirs, self.settings.limits)
        self.unreachable = None
        return served

    def template_store(self) -> TemplateStore | None:
        """Template versions and labels, in the plan store's database (None when plans are not kept)."""
        store = self._opened_store() if self.keeps_plans else None
        if store is None or not hasattr(store, "_run"):  # a PlanStore of the caller's own keeps no templates
            return None
        from retention_mcp.generation.template_store import TemplateStore

        return TemplateStore(store)

    def reload(self) -> Registry:
        """Load the templates again and serve them from now on; on a TemplateError keep the ones we have."""
        self._registry = self.load_registry()
        return self._registry

    def template(self, name: str) -> Template:
        return self.registry.get(name)  # UnknownTemplateError lists the names there are

    def template_list(self) -> TemplateList:
        from retention_mcp.models import TemplateList

        return TemplateList(templates=[t.summary() for t in self.registry])

    # -- data sandbox -----------------------------------------------------------------------------------------------
    @property
    def data_dirs(self) -> list[Path]:
        return list(self.settings.data_dirs)

    @property
    def readable_dirs(self) -> list[Path]:
        return readable_dirs(self.data_dirs)

    # -- render, generate, analyze ----------------------------------------------------------------------------------
    async def render(self, template: Template, arguments: Mapping[str, Any] | BaseModel) -> RenderResult:
        """The filled prompt; a `dataset` file is analysed (in a worker thread) and its facts take its place."""
        from retention_mcp.prompting import prepare

        return (await prepare(template, arguments, self.data_dirs)).rendered

    def render_blocking(self, template: Template, arguments: Mapping[str, Any]) -> RenderResult:
        """`render` without an event loop (the command line)."""
        from retention_mcp.prompting import prepare_blocking

        return prepare_blocking(template, arguments, self.data_dirs).rendered

    @property
    def model_configured(self) -> bool:
        return self._backend is not None if self._backend is not _FROM_SETTINGS else self.settings.model.configured

    @property
    def plans(self) -> PlanService:
        """The plan service, built on first use (generation code is imported only then)."""
        if self._plans is None:
            from retention_mcp.generation.backends import make_backend
            from retention_mcp.generation.service import PlanService

            backend = self._backend
            if backend is _FROM_SETTINGS:
                backend = make_backend(self.settings.model) if self.settings.model.configured else None
            self._plans = PlanService(backend, self._opened_store(), self.data_dirs)
        return self._plans

    def _opened_store(self) -> PlanStore | None:
        """The plan store, opened on first use: listing or reading plans loads the store, not plan generation."""
        if self._store is _FROM_SETTINGS:
            from retention_mcp.generation.stores import open_store

            path = self.settings.plan_store
            self._store = open_store(path, store_timeout()) if path is not None else None
        return self._store  # type: ignore[return-value]

    async def generate(
        self,
        template: Template,
        arguments: Mapping[str, Any] | BaseModel,
        *,
        backend: Backend | None = None,
        progress: Progress | None = None,
        author: str | None = None,
        ask: Ask | None = None,
    ) -> PlanResult:
        """A typed plan checked against the effective constraints, saved when plans are kept. `backend` stands in for
        the configured model (e.g. the client's sampling); `ask` puts a form to the user for missing constraints
        (elicitation). Raises PlanError (carrying the prompt) or UserError."""
        return await self.plans.generate(
            template, arguments, backend=backend, progress=progress, author=author, ask=ask
        )

    async def check_plan(
        self,
        template: Template,
        arguments: Mapping[str, Any] | BaseModel,
        plan: str | Mapping[str, Any],
        *,
        revises: str | None = None,
        author: str | None = None,
    ) -> PlanResult:
        """A plan written elsewhere (JSON text or an object), checked against the brief in `arguments` as plan mode
        checks its own, and saved when plans are kept; `revises` names an earlier revision. No model is needed.
        Raises UserError (PlanFormatError names each problem by JSON path)."""
        if revises is not None and not self.keeps_plans:  # a revision needs the plan it revises
            raise PlansNotKeptError()
        return await self.plans.check(template, arguments, plan, revises=revises, author=author)

    async def analyze(self, params: AnalyzeParams, progress: Callable[[str], None] | None = None) -> AnalysisOutcome:
        """Churn facts from a file in the data directories (or inline CSV), in a worker thread."""
        from retention_mcp.analytics.service import run_analysis_async

        return await run_analysis_async(params, self.data_dirs, progress)  # DataError is a UserError

    # -- saved plans ------------------------------------------------------------------------------------------------
    @property
    def keeps_plans(self) -> bool:
        return self._store is not None if self._store is not _FROM_SETTINGS else self.settings.plan_store is not None

    def _plan_store(self) -> PlanStore:
        store = self._opened_store() if self.keeps_plans else None
        if store is None:
            raise PlansNotKeptError()
        return store

    def list_plans(self, template: str | None = None, limit: int = 20, failed_only: bool = False) -> list[PlanSummary]:
        return self._plan_store().list(template=template, limit=limit, failed_only=failed_only)

    def get_plan(self, plan_id: str) -> StoredPlan:
        return self._plan_store().get(plan_id)  # PlanNotFoundError names the id

    def record(self, entry: AuditEntry) -> None:
        """Add to the audit log in the plan store (nothing is kept when plans are not). Returns at once: the entry
        is written in the background, in a batch (see AuditWriter)."""
        if self.keeps_plans:
            self._audit().put(entry)

    def _audit(self) -> AuditWriter:
        if self._audit_writer is None:
            from retention_mcp.generation.store import AuditWriter

            self._audit_writer = AuditWriter(self._plan_store())
        return self._audit_writer

    def audit_log(self, limit: int = 100, who: str | None = None) -> list[AuditEntry]:
        if self._audit_writer is not None:
            self._audit_writer.flush()  # what this process recorded so far is in the log
        return self._plan_store().audit_log(limit=limit, who=who)

    def migrate(self) -> list[int]:
        """Bring the plan store's schema up to date; the versions applied."""
        return self._plan_store().migrate()

    def store_ready(self) -> bool:
        """Whether the plan store answers (True when plans are not kept: nothing to wait for)."""
        if not self.keeps_plans:
            return True
        try:
            self._plan_store().ping()
        except Exception:
            return False
        return True

    async def aclose(self) -> None:
        if self._plans is not None:
            await self._plans.aclose()
        await anyio.to_thread.run_sync(self.close)  # what was recorded is written before the store closes

    def close(self) -> None:
        """Write what the audit log holds and close the plan store this app opened from its settings (its
        connections), when the app's work is done; a store the caller passed in stays open, theirs to close."""
        if self._audit_writer is not None:
            self._audit_writer.flush()
        if self._owns_store and self._store is not _FROM_SETTINGS and self._store is not None:
            self._store.close()
