"""PNG charts: Kaplan-Meier survival by the strongest driver (95% band, numbers at risk, time in the tenure unit),
and the cohort retention heatmap. matplotlib (Agg) is imported here only. Chinese renders with a subset of Noto Sans
CJK SC shipped in fonts/ (see fonts/README.md)."""

from __future__ import annotations

import functools
import io
import os
import secrets
from pathlib import Path

import numpy as np

from retention_mcp.analytics.loading import DataError, check_path_text, shown
from retention_mcp.analytics.report import ChurnReport, Survival

CJK_FONT = Path(__file__).parent / "fonts" / "NotoSansSC-subset.otf"
# fonts with the characters the subset lacks (traditional forms, rare names), used when the machine has them
SYSTEM_CJK = ("Noto Sans CJK SC", "Noto Sans CJK TC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
              "WenQuanYi Micro Hei", "SimHei", "Noto Sans CJK JP")  # fmt: skip
UNITS_ZH = {"days": "天", "weeks": "周", "months": "月", "years": "年"}
PERIODS_ZH = {"month": "月", "quarter": "季度", "year": "年"}


@functools.cache
def _font_families() -> tuple[str, ...]:
    """DejaVu Sans for Latin text, the shipped CJK subset for Chinese (matplotlib falls back glyph by glyph)."""
    from matplotlib import font_manager

    families = ["DejaVu Sans"]
    if CJK_FONT.exists():
        font_manager.fontManager.addfont(str(CJK_FONT))
        families.append(font_manager.FontProperties(fname=str(CJK_FONT)).get_name())
    installed = {f.name for f in font_manager.fontManager.ttflist}
    families += [name for name in SYSTEM_CJK if name in installed and name not in families]
    return tuple(families)


CHART_NAMES = ("survival.png", "cohorts.png")


def chart_folder(folder: str, data_dirs: list[Path]) -> Path:
    """A folder for charts: inside a configured data directory (created if missing), never elsewhere; a relative
    folder is taken inside the first data directory."""
    check_path_text(folder, "charts_dir")
    roots = [Path(d).expanduser().resolve() for d in data_dirs]
    if not roots:
        raise DataError(
            "charts_dir: no data directory is configured, so there is nowhere charts may be written; set "
            "RETENTION_MCP_DATA_DIRS (CLI: --data-dir) or leave charts_dir out / charts_dir:未配置数据目录,图表无处"
            "可写;请设置 RETENTION_MCP_DATA_DIRS(命令行:--data-dir)或不传 charts_dir"
        )
    name = shown(folder)
    raw = Path(folder)
    try:
        target = (raw if raw.is_absolute() else roots[0] / raw).resolve()
    except (OSError, RuntimeError):
        raise DataError(f"charts_dir: {name}: a broken or looping link / 链接无效") from None
    if not any(target == root or root in target.parents for root in roots):
        raise DataError(f"{name}: charts can only be written inside the data directories / 图表只能写入数据目录")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"charts_dir: {name}: cannot be created ({exc.strerror}) / 无法创建该目录") from None
    return target


def save_charts(folder: Path, charts: dict[str, bytes], roots: list[Path] | None = None) -> list[str]:
    """Write each PNG into `folder` without following a link: the folder is opened once (O_NOFOLLOW, checked to be
    inside `roots` when given), each chart is written to a new private file there and renamed over its name, which
    replaces a symlink planted at that name instead of writing through it."""
    if os.open not in os.supports_dir_fd or os.replace not in os.supports_dir_fd:  # Windows: no directory handles
        return _save_by_name(folder, charts)
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        folder_fd = os.open(folder, flags)
    except OSError as exc:
        raise DataError(f"charts_dir: {shown(folder)}: cannot be opened ({exc.strerror}) / 无法打开该目录") from None
    written = []
    try:
        kernel = Path(f"/proc/self/fd/{folder_fd}")
        if roots is not None and kernel.is_symlink():
            where = Path(os.readlink(kernel))
            resolved = [Path(r).expanduser().resolve() for r in roots]
            if not any(where == r or r in where.parents for r in resolved):
                raise DataError(
                    f"{shown(folder)}: charts can only be written inside the data directories / 图表只能写入数据目录"
                )
        for name, png in charts.items():
            _known(name)
            temporary = f".{name}.{secrets.token_hex(6)}.tmp"
            fd = os.open(
                temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644, dir_fd=folder_fd
            )
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(png)
                os.replace(temporary, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
            except BaseException:
                os.unlink(temporary, dir_fd=folder_fd)
                raise
            written.append(str(folder / name))
    finally:
        os.close(folder_fd)
    return written


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def is_chinese(report: ChurnReport) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for c in report.columns.values() for ch in c)


def survival_chart(curves: dict, title: str, survival: Survival | None = None, zh: bool = False) -> bytes:
    """Kaplan-Meier step curves S(t), one per group (KaplanMeier objects), each with its 95% band, and the numbers
    still at risk under the chart; time in the survival's unit."""
    plt = _figure()
    unit = survival.unit if survival else "months"
    with plt.rc_context({"font.family": list(_font_families())}):
        fig, (ax, table_ax) = plt.subplots(
            2, 1, figsize=(7, 4.6 + 0.22 * len(curves)), dpi=110,
            gridspec_kw={"height_ratios": [5, 0.5 + 0.3 * len(curves)]},
        )  # fmt: skip
        from matplotlib.ticker import MaxNLocator

        horizon = max(float(km.all_times[-1]) for km in curves.values())
        candidates = np.asarray(MaxNLocator(nbins=6, integer=horizon >= 5).tick_values(0, horizon))
        ticks = candidates[(candidates >= 0) & (candidates <= horizon + 1e-9)]
        rows = []
        for label, km in curves.items():
            # a group without churn stays at 1 (its band too) to the end of the chart
            x = np.concatenate(([0.0], km.times, [horizon]))
            y, low, high = (
                np.concatenate(([1.0], v, v[-1:] if v.size else [1.0])) for v in (km.survival, km.lower, km.upper)
            )
            (line,) = ax.step(x, y, where="post", label=label)
            ax.fill_between(x, low, high, step="post", alpha=0.15, color=line.get_color(), linewidth=0)
            rows.append([f"{km.at_risk_at(t):,}" for t in ticks])
        ax.set_xlabel(f"开始后的{UNITS_ZH.get(unit, unit)}数" if zh else f"{unit} since start")
        ax.set_ylabel("仍在网比例(95% 置信带)" if zh else "share still active (95% band)")
        ax.set_xlim(0, horizon)
        ax.set_ylim(0, 1.02)
        ax.set_xticks(ticks)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        table_ax.axis("off")
        table_ax.set_title("风险人数" if zh else "number at risk", fontsize=8, loc="left")
        table = table_ax.table(
            cellText=rows, rowLabels=[label[:28] for label in curves], colLabels=[f"{t:g}" for t in ticks],
            loc="center", cellLoc="center", edges="open",
        )  # fmt: skip
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        return _png(fig, plt, title, list(curves))


def cohort_heatmap(report: ChurnReport, max_cohorts: int = 24, max_age: int = 24) -> bytes | None:
    if report.cohorts is None:
        return None
    zh = is_chinese(report)
    cohorts = report.cohorts
    rows = list(range(len(cohorts.months)))[-max_cohorts:]
    grid = np.full((len(rows), max_age), np.nan)
    for r, index in enumerate(rows):
        values = cohorts.retention[index][:max_age]
        grid[r, : len(values)] = [np.nan if v is None else v for v in values]
    plt = _figure()
    title = "同期群留存" if zh else "Cohort retention"
    with plt.rc_context({"font.family": list(_font_families())}):
        fig, ax = plt.subplots(figsize=(8, 0.25 * len(rows) + 1.6), dpi=110)
        image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_yticks(range(len(rows)), [cohorts.months[i] for i in rows], fontsize=7)
        period = report.period
        ax.set_xlabel(f"注册后的{PERIODS_ZH.get(period, period)}数" if zh else f"{period}s since signup")
        ax.set_title(title)
        fig.colorbar(image, ax=ax, label="仍在网比例" if zh else "share still active")
        return _png(fig, plt, title, [])


def _png(fig, plt, title: str, labels: list[str]) -> bytes:
    """The figure as PNG bytes; the title and curve labels go into the PNG's text fields too."""
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", metadata={"Title": title, "Description": "; ".join(labels)})
    plt.close(fig)
    return buffer.getvalue()


def _known(name: str) -> None:
    if name not in CHART_NAMES:
        raise ValueError(f"unexpected chart name {name!r}")


def _save_by_name(folder: Path, charts: dict[str, bytes]) -> list[str]:
    """The same without directory handles: a new temp file (O_EXCL) renamed over the name, which replaces a link."""
    written = []
    for name, png in charts.items():
        _known(name)
        temporary = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(png)
        os.replace(temporary, folder / name)
        written.append(str(folder / name))
    return written
