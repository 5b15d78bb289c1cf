"""PNG charts: survival curves by segment, and the cohort retention heatmap (matplotlib, Agg, imported here only)."""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path

import numpy as np

from retention_mcp.analytics.loading import DataError, check_path_text, shown
from retention_mcp.analytics.report import ChurnReport

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


def survival_chart(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str) -> bytes:
    """Step curves S(t), one per group, with months on the x axis."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for label, (times, survival) in curves.items():
        ax.step(np.concatenate(([0.0], times)), np.concatenate(([1.0], survival)), where="post", label=label)
    ax.set_xlabel("months since start")
    ax.set_ylabel("share still active")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig, plt)


def cohort_heatmap(report: ChurnReport, max_cohorts: int = 24, max_age: int = 24) -> bytes | None:
    if report.cohorts is None:
        return None
    cohorts = report.cohorts
    rows = list(range(len(cohorts.months)))[-max_cohorts:]
    grid = np.full((len(rows), max_age), np.nan)
    for r, index in enumerate(rows):
        values = cohorts.retention[index][:max_age]
        grid[r, : len(values)] = [np.nan if v is None else v for v in values]
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8, 0.25 * len(rows) + 1.6), dpi=110)
    image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_yticks(range(len(rows)), [cohorts.months[i] for i in rows], fontsize=7)
    ax.set_xlabel("months since signup")
    ax.set_title("Cohort retention")
    fig.colorbar(image, ax=ax, label="share still active")
    return _png(fig, plt)


def _png(fig, plt) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
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
