"""A churn report in words: a Markdown summary in English or Chinese, and the numbered facts a prompt cites."""

from __future__ import annotations

from retention_mcp.analytics.report import BUNDLED, ChurnReport


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _n(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


MODES_ZH = {"subscriptions": "订阅", "monthly": "月度收入", "transactions": "交易"}
PERIOD_EN = {"month": "Monthly", "quarter": "Quarterly", "year": "Yearly"}
PERIOD_ZH = {"month": "月", "quarter": "季度", "year": "年"}
UNIT_ZH = {"days": "天", "weeks": "周", "months": "个月", "years": "年"}


def facts(report: ChurnReport, language: str) -> list[str]:
    """The computed facts as short numbered lines (D1, D2, ...) that a plan can cite."""
    zh = language == "zh"
    lines: list[str] = []

    def add(en: str, cn: str) -> None:
        lines.append(cn if zh else en)

    end = report.observation_end or "—"
    add(
        f"Customers: {_n(report.customers)} ({report.mode}, data to {end})",
        f"客户数:{_n(report.customers)}({MODES_ZH.get(report.mode, report.mode)}数据,截至 {end})",
    )
    if report.churned is not None:
        add(
            f"Churned: {_n(report.churned)} ({pct(report.churn_share)} of all customers); active: {_n(report.active)}",
            f"已流失:{_n(report.churned)}(占全部客户 {pct(report.churn_share)});在网:{_n(report.active)}",
        )
    if report.unknown_churn:
        add(
            f"Unknown churn flag: {_n(report.unknown_churn)} customers (blank, NA or unreadable), left out of every rate",
            f"流失标记未知:{_n(report.unknown_churn)} 个客户(空白、NA 或无法识别),不计入任何比率",
        )
    if report.churn_rate is not None:
        p = report.period
        adjective, short = {"month": ("月度", "月"), "quarter": ("季度", "季"), "year": ("年度", "年")}.get(p, (p, p))
        add(
            f"{PERIOD_EN.get(p, p)} customer churn rate (lost / active at start of {p}, pooled): {pct(report.churn_rate, 2)}",
            f"{adjective}客户流失率(当{short}流失数 / {short}初在网数,合并计算):{pct(report.churn_rate, 2)}",
        )
    if report.survival and report.survival.median is not None:
        unit = report.survival.unit
        add(
            f"Median customer lifetime (Kaplan-Meier): {report.survival.median:g} {unit}",
            f"客户生命周期中位数(Kaplan-Meier):{report.survival.median:g} {UNIT_ZH.get(unit, unit)}",
        )
    for driver in report.drivers[:4]:
        segment = next(s for s in report.segments if s.column == driver.column)
        parts = ", ".join(f"{v.value} {pct(v.churn_rate)} (lift {v.lift:.2f}, n={v.customers})" for v in segment.values)
        parts_zh = "、".join(
            f"{v.value} {pct(v.churn_rate)}(提升倍数 {v.lift:.2f},n={v.customers})" for v in segment.values
        )
        add(
            f"Churn share by {driver.column} (p={driver.p_value:.1g}): {parts}",
            f"按 {driver.column} 的流失占比(p={driver.p_value:.1g}):{parts_zh}",
        )
    for group in report.high_risk[:3]:
        add(
            f"High-risk group {group.rule}: {_n(group.customers)} customers ({pct(group.share)}), churn {pct(group.churn_rate)} "
            f"(lift {group.lift:.2f}), {_n(group.active_now)} still active",
            f"高风险客群 {group.rule}:{_n(group.customers)} 个客户(占 {pct(group.share)}),流失占比 {pct(group.churn_rate)}"
            f"(提升倍数 {group.lift:.2f}),仍在网 {_n(group.active_now)} 个",
        )
    if report.mrr:
        m = report.mrr
        flows = ""
        flows_zh = ""
        if m.expansion is not None and m.contraction is not None:
            flows = f", expansion {_n(m.expansion)}, contraction {_n(m.contraction)}"
            flows_zh = f",扩展 {_n(m.expansion)},收缩 {_n(m.contraction)}"
        add(
            f"MRR now {_n(m.current)}; over {m.window}: GRR {pct(m.grr)}, NRR {pct(m.nrr)} (starting MRR {_n(m.starting)}, churned MRR {_n(m.churned)}{flows})",
            f"当前 MRR {_n(m.current)};{m.window} 期间:GRR {pct(m.grr)},NRR {pct(m.nrr)}(期初 MRR {_n(m.starting)},流失 MRR {_n(m.churned)}{flows_zh})",
        )
    if report.sbg and report.sbg.degenerate:
        s = report.sbg
        en, cn = _halves(s.reduces_to or "")
        if s.alpha is None or s.beta is None:  # ran to its bounds: no estimates to show
            why_en, why_zh = "alpha and beta ran to their bounds", "alpha 与 beta 已达边界"
        else:
            why_en = f"alpha {s.alpha:.3g}, beta {s.beta:.3g}: no better than one constant rate for every customer"
            why_zh = f"alpha {s.alpha:.3g}、beta {s.beta:.3g}:并不优于所有客户同一固定留存率"
        add(
            f"sBG retention model: the fit is degenerate ({why_en}); it reduces to {en}; a new cohort keeps "
            f"{pct(s.projected_survival[11])} after 12 periods",
            f"sBG 留存模型:拟合退化({why_zh}),等同于{cn};新同期群 12 期后留存 {pct(s.projected_survival[11])}",
        )
    elif report.sbg:
        s = report.sbg
        p, pz = s.period, PERIOD_ZH.get(s.period, s.period)
        add(
            f"sBG retention model: alpha {s.alpha:.3f}, beta {s.beta:.3f}; {PERIOD_EN.get(p, p).lower()} retention rises from {pct(s.retention_rate[0])} "
            f"({p} 1) to {pct(s.retention_rate[-1])} ({p} 12); a new cohort keeps {pct(s.projected_survival[11])} after "
            f"12 {p}s and {pct(s.projected_survival[23])} after 24 (constant-rate projection: {pct(s.constant_rate_projection[23])})",
            f"sBG 留存模型:alpha {s.alpha:.3f},beta {s.beta:.3f};每{pz}留存率从第 1 {pz}的 {pct(s.retention_rate[0])} 升至第 12 {pz}的 "
            f"{pct(s.retention_rate[-1])};新同期群 12 {pz}后留存 {pct(s.projected_survival[11])},24 {pz}后 "
            f"{pct(s.projected_survival[23])}(按固定留存率推算为 {pct(s.constant_rate_projection[23])})",
        )
    if report.bgnbd:
        b = report.bgnbd
        add(
            f"BG/NBD: r {b.r:.3f}, alpha {b.alpha:.3f}, a {b.a:.3f}, b {b.b:.3f}; expected purchases in the next 12 weeks "
            f"{_n(b.expected_purchases_next_12_weeks)}; {pct(b.share_probably_inactive)} of customers are probably inactive",
            f"BG/NBD:r {b.r:.3f},alpha {b.alpha:.3f},a {b.a:.3f},b {b.b:.3f};未来 12 周预计购买 "
            f"{_n(b.expected_purchases_next_12_weeks)} 次;{pct(b.share_probably_inactive)} 的客户很可能已不活跃",
        )
    if report.bgnbd and report.bgnbd.holdout:
        h = report.bgnbd.holdout
        add(
            f"BG/NBD holdout ({h.calibration_end}..{h.holdout_end}, {h.weeks:g} weeks): predicted {_n(h.predicted)} repeat "
            f"purchases, actual {_n(h.actual)}",
            f"BG/NBD 验证期({h.calibration_end}..{h.holdout_end},{h.weeks:g} 周):预测重复购买 {_n(h.predicted)} 次,"
            f"实际 {_n(h.actual)} 次",
        )
    if report.rfm:
        r = report.rfm
        add(
            f"RFM: {_n(r.champions)} champions, {_n(r.at_risk)} valuable customers going quiet, {_n(r.hibernating)} hibernating",
            f"RFM:核心客户 {_n(r.champions)} 个,正在沉默的高价值客户 {_n(r.at_risk)} 个,休眠客户 {_n(r.hibernating)} 个",
        )
    for note in report.notes:  # how the file was read, last: the numbers above keep their ids whatever the encoding
        add(*_halves(note))
    return [f"D{i}: {line}" for i, line in enumerate(lines, 1)]


def report_markdown(report: ChurnReport, language: str) -> str:
    zh = language == "zh"
    source = report.source
    if source.endswith(BUNDLED):  # the title says, in the summary's language, that this is not the user's file
        source = source[: -len(BUNDLED)] + ("(内置示例数据)" if zh else " (bundled example data)")
    out = [f"# {'客户流失分析' if zh else 'Churn analysis'}: {source}", ""]
    out += ["## " + ("关键事实" if zh else "Key facts")] + [f"- {line}" for line in facts(report, language)] + [""]
    if report.segments:
        out.append("## " + ("分客群流失(95% 置信区间)" if zh else "Churn by segment (95% interval)"))
        head = (
            "| 列 | 取值 | 客户数 | 流失占比 | 区间 | 提升倍数 |"
            if zh
            else "| column | value | customers | churned | interval | lift |"
        )
        out += [head, "|---|---|---|---|---|---|"]
        for s in report.segments:
            for v in s.values:
                out.append(
                    f"| {s.column} | {v.value} | {_n(v.customers)} | {pct(v.churn_rate)} | {pct(v.ci_low)}–{pct(v.ci_high)} | {v.lift:.2f} |"
                )
        out.append("")
    if report.survival and report.survival.log_rank:
        out.append("## " + ("生存曲线差异(log-rank 检验)" if zh else "Survival differences (log-rank test)"))
        out += [f"- {t.column}: χ²={t.statistic:.1f}, df={t.dof}, p={t.p_value:.2g}" for t in report.survival.log_rank]
        out.append("")
    if report.periods:
        last_zh = {"month": "最近 6 个月", "quarter": "最近 6 个季度", "year": "最近 6 年"}.get(
            report.period, "最近 6 期"
        )
        out.append("## " + (last_zh if zh else f"Last 6 {report.period}s"))
        head = (
            "| 期间 | 期初在网 | 新增 | 流失 | 流失率 |"
            if zh
            else f"| {report.period} | active at start | new | churned | churn rate |"
        )
        out += [head, "|---|---|---|---|---|"]
        out += [
            f"| {p.period or p.month} | {_n(p.active_at_start)} | {_n(p.new)} | {_n(p.churned)} | {pct(p.churn_rate, 2)} |"
            for p in report.periods[-6:]
        ]
        out.append("")
    if report.absent:
        out.append("## " + ("数据不支持的分析" if zh else "Not computed"))
        out += [f"- {a.name}: {_in_language(a.reason, zh)}" for a in report.absent]
    return "\n".join(out).rstrip() + "\n"


def _halves(text: str) -> tuple[str, str]:
    en, sep, cn = text.partition(" / ")
    return (en, cn) if sep else (text, text)


def _in_language(text: str, zh: bool) -> str:
    """The English or the Chinese half of an "English / 中文" text."""
    en, sep, cn = text.partition(" / ")
    return (cn if zh else en) if sep else text
