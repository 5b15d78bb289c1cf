"""PNG charts: Kaplan-Meier survival by the strongest driver (95% band, numbers at risk, time in the tenure unit, a
colour per group for up to 20 groups, the legend beside the plot), and the cohort retention heatmap (every cohort,
its size, and each cell's share). Each draws the same bytes for the same report. matplotlib (Agg) is imported here only. Chinese renders with a subset of Noto Sans
CJK SC shipped in fonts/ (see fonts/README.md)."""

from __future__ import annotations

import functools
import io
import os
import secrets
from pathlib import Path

import numpy as np

from retention_mcp.analytics.limits import DataError
from retention_mcp.analytics.report import ChurnReport, Survival
from retention_mcp.analytics.sandbox import check_path_text, shown

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


# 20 colours, none repeated: matplotlib's tab20, its ten strong colours (tab10) first, then their light companions
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip
MAX_CURVES = len(PALETTE)  # past this many groups, the largest are drawn and the rest pooled as one
OTHER = ("other", "其他")
LABEL_CHARACTERS = 28  # a group's name in the legend and the table, at most
MAX_COHORTS = 120  # rows of the heatmap: ten years of monthly cohorts; past that the latest, and the title says so


def short_labels(labels: list[str], limit: int = LABEL_CHARACTERS) -> list[str]:
    """Names cut to `limit` characters with an ellipsis in the middle (both ends of a name tell groups apart), and
    still distinct: a clash gets a number."""
    head = (limit - 1) * 2 // 3
    tail = limit - 1 - head
    cut = [label if len(label) <= limit else f"{label[:head]}…{label[len(label) - tail :]}" for label in labels]
    seen: dict[str, int] = {}
    distinct = []
    for label in cut:
        seen[label] = seen.get(label, 0) + 1
        distinct.append(label if seen[label] == 1 else f"{label[: limit - 4]}… ({seen[label]})")
    return distinct


def pool(curves: dict, zh: bool = False) -> dict:
    """At most MAX_CURVES curves: with more groups, the MAX_CURVES - 1 largest (in their order) and one curve of
    everyone else, a Kaplan-Meier estimate of the pooled counts."""
    if len(curves) <= MAX_CURVES:
        return dict(curves)
    from retention_mcp.analytics.survival import kaplan_meier_counts

    order = sorted(range(len(curves)), key=lambda i: -list(curves.values())[i].n)
    top = set(order[: MAX_CURVES - 1])
    kept = {label: km for i, (label, km) in enumerate(curves.items()) if i in top}
    rest = [km for i, km in enumerate(curves.values()) if i not in top]
    grid = np.unique(np.concatenate([km.all_times for km in rest]))
    events, removed = np.zeros(grid.size), np.zeros(grid.size)
    for km in rest:
        np.add.at(removed, np.searchsorted(grid, km.all_times), km.removed)
        np.add.at(events, np.searchsorted(grid, km.times), km.events)
    name = OTHER[1] if zh else OTHER[0]
    kept[f"{name} ({len(rest)})"] = kaplan_meier_counts(grid, events, removed)
    return kept


def survival_figure(curves: dict, title: str, survival: Survival | None = None, zh: bool = False):
    """The survival chart as a matplotlib figure (see survival_chart); the caller closes it."""
    plt = _figure()
    unit = survival.unit if survival else "months"
    curves = pool(curves, zh)
    labels = short_labels(list(curves))
    with plt.rc_context({"font.family": list(_font_families())}):
        fig, (ax, table_ax) = plt.subplots(
            2, 1, figsize=(9, 4.6 + 0.22 * len(curves)), dpi=110,
            gridspec_kw={"height_ratios": [5, 0.5 + 0.3 * len(curves)]},
        )  # fmt: skip
        from matplotlib.ticker import MaxNLocator

        horizon = max(float(km.all_times[-1]) for km in curves.values())
        candidates = np.asarray(MaxNLocator(nbins=6, integer=horizon >= 5).tick_values(0, horizon))
        ticks = candidates[(candidates >= 0) & (candidates <= horizon + 1e-9)]
        rows = []
        for index, (label, km) in enumerate(zip(labels, curves.values(), strict=True)):
            # a group without churn stays at 1 (its band too) to the end of the chart
            x = np.concatenate(([0.0], km.times, [horizon]))
            y, low, high = (
                np.concatenate(([1.0], v, v[-1:] if v.size else [1.0])) for v in (km.survival, km.lower, km.upper)
            )
            colour = PALETTE[index % len(PALETTE)]
            ax.step(x, y, where="post", label=label, color=colour)
            ax.fill_between(x, low, high, step="post", alpha=0.15, color=colour, linewidth=0)
            rows.append([f"{km.at_risk_at(t):,}" for t in ticks])
        ax.set_xlabel(f"开始后的{UNITS_ZH.get(unit, unit)}数" if zh else f"{unit} since start")
        ax.set_ylabel("仍在网比例(95% 置信带)" if zh else "share still active (95% band)")
        ax.set_xlim(0, horizon)
        ax.set_ylim(0, 1.02)
        ax.set_xticks(ticks)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        # beside the plot, never over the curves
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
        table_ax.axis("off")
        table_ax.set_title("风险人数" if zh else "number at risk", fontsize=8, loc="left")
        table = table_ax.table(
            cellText=rows, rowLabels=labels, colLabels=[f"{t:g}" for t in ticks], loc="center", cellLoc="center",
            edges="open",
        )  # fmt: skip
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        for index in range(len(labels)):
            table[index + 1, -1].get_text().set_color(PALETTE[index % len(PALETTE)])
        fig.tight_layout()
    return fig, plt, list(curves)


def survival_chart(curves: dict, title: str, survival: Survival | None = None, zh: bool = False) -> bytes:
    """Kaplan-Meier step curves S(t), one per group (KaplanMeier objects), each with its 95% band and a colour of
    its own, the legend beside the plot and the numbers still at risk under it; time in the survival's unit. Past
    MAX_CURVES groups, the largest are drawn and the rest pooled as "other"."""
    fig, plt, labels = survival_figure(curves, title, survival, zh)
    return _png(fig, plt, title, labels)


def heatmap_figure(report: ChurnReport, max_cohorts: int = MAX_COHORTS, max_age: int = 24):
    """The cohort heatmap as a matplotlib figure (see cohort_heatmap), or None without cohorts; the caller closes
    it."""
    if report.cohorts is None or not report.cohorts.months:
        return None
    zh = is_chinese(report)
    cohorts = report.cohorts
    rows = list(range(len(cohorts.months)))[-max_cohorts:]
    ages = min(max_age, max((len(cohorts.retention[i]) for i in rows), default=1)) or 1
    grid = np.full((len(rows), ages), np.nan)
    for r, index in enumerate(rows):
        values = cohorts.retention[index][:ages]
        grid[r, : len(values)] = [np.nan if v is None else v for v in values]
    plt = _figure()
    title = "同期群留存(格中为仍在网 %)" if zh else "Cohort retention (cells: % still active)"
    if len(rows) < len(cohorts.months):  # the window is stated, never silent
        total = len(cohorts.months)
        title += f",最近 {len(rows)} 个(共 {total} 个)" if zh else f", the latest {len(rows)} of {total} cohorts"
    sized = [
        f"{cohorts.months[i]}  {cohorts.sizes[i]:,} 人" if zh else f"{cohorts.months[i]}  n={cohorts.sizes[i]:,}"
        for i in rows
    ]
    with plt.rc_context({"font.family": list(_font_families())}):
        fig, ax = plt.subplots(figsize=(max(8.0, 0.34 * ages + 3.2), 0.26 * len(rows) + 1.8), dpi=110)
        image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        size = 6 if ages <= 24 else 5
        for r in range(len(rows)):
            for age in range(ages):
                value = grid[r, age]
                if not np.isnan(value):
                    colour = "black" if value >= 0.6 else "white"  # readable on viridis' light and dark ends
                    ax.text(
                        age, r, f"{value * 100:.0f}", ha="center", va="center", fontsize=size, color=colour,
                        in_layout=False,  # inside its cell: the layout need not measure it
                    )  # fmt: skip
        ax.set_yticks(range(len(rows)), sized, fontsize=7)
        ax.set_xticks(range(ages), [str(a) for a in range(ages)], fontsize=7)
        period = report.period
        ax.set_xlabel(f"注册后的{PERIODS_ZH.get(period, period)}数" if zh else f"{period}s since signup")
        ax.set_ylabel("同期群(人数)" if zh else "cohort (customers)")
        ax.set_title(title)
        fig.colorbar(image, ax=ax, label="仍在网比例" if zh else "share still active")
        fig.tight_layout()
    return fig, plt, title


def cohort_heatmap(report: ChurnReport, max_cohorts: int = MAX_COHORTS, max_age: int = 24) -> bytes | None:
    """Every cohort (past `max_cohorts`, the latest ones, said in the title), a row each labelled with its size, and
    each cell with the share still active, in percent."""
    drawn = heatmap_figure(report, max_cohorts, max_age)
    if drawn is None:
        return None
    fig, plt, title = drawn
    return _png(fig, plt, title, [])


def nothing_drawn(report: ChurnReport) -> str:
    """The note when charts were asked for and there is nothing to draw."""
    if report.mode not in ("subscriptions", "monthly"):
        return (
            "No chart was drawn: the survival and cohort charts need subscription data (start and end dates, or a "
            "tenure); order data has neither / 未生成图表:生存曲线与同期群图需要订阅数据(开始与结束日期或在网时长),"
            "订单数据没有这些"
        )
    return (
        "No chart was drawn: survival curves need a tenure or start and end dates, and the cohort chart a start date; "
        "map them with --map ROLE=COLUMN (tool: ROLE_column) / 未生成图表:生存曲线需要在网时长或开始与结束日期,同期群图需要"
        "开始日期;可用 --map 角色=列名 指定(工具参数 columns)"
    )


def _png(fig, plt, title: str, labels: list[str]) -> bytes:
    """The figure as PNG bytes; the title and curve labels go into the PNG's text fields too."""
    buffer = io.BytesIO()
    fig.set_layout_engine(None)  # laid out already (tight_layout): no second layout pass, which draws every text again
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
