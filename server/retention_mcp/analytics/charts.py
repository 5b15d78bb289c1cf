"""PNG charts: Kaplan-Meier survival by the strongest driver (95% band, numbers at risk, time in the tenure unit),
and the cohort retention heatmap. matplotlib (Agg) is imported here only. Chinese renders with a subset of Noto Sans
CJK SC shipped in fonts/ (see fonts/README.md)."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np

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
