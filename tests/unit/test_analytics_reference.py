"""The models reproduce published values: sBG (Fader & Hardie 2007, 2010), Kaplan-Meier and log-rank on Gehan's
leukemia data, the MRR arithmetic, and BG/NBD on the CDNOW sample (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from retention_mcp.analytics.engine import AnalysisRequest, analyze
from retention_mcp.analytics.mrr import monthly_mrr, mrr_movements, retention_ratios
from retention_mcp.analytics.repeat_buying import fit_bgnbd
from retention_mcp.analytics.sbg import fit_sbg_from_alive
from retention_mcp.analytics.survival import kaplan_meier, log_rank

SBG = {
    "Regular": {
        "alive": [1000, 631, 468, 382, 326, 289, 262, 241],
        "alpha": 0.704,
        "beta": 1.182,
        "ll": -1680.27,
        "projected": [220.1, 204.4, 191.2, 179.9, 170.0],
        "holdout": [223, 207, 194, 183, 173],
        "r8": 0.921,
        "derl": 6.84,
    },
    "High End": {
        "alive": [1000, 869, 743, 653, 593, 551, 517, 491],
        "alpha": 0.668,
        "beta": 3.806,
        "ll": -1611.16,
        "projected": [460.4, 435.8, 414.2, 395.1, 378.0],
        "holdout": [468, 445, 427, 409, 394],
        "r8": 0.942,
        "derl": 7.53,
    },
}


@pytest.mark.parametrize("segment", SBG, ids=str)
def test_sbg_reproduces_fader_hardie(segment):
    ref = SBG[segment]
    fit = fit_sbg_from_alive(ref["alive"])
    assert round(fit.alpha, 3) == ref["alpha"]
    assert round(fit.beta, 3) == ref["beta"]
    assert round(fit.log_likelihood, 2) == ref["ll"]
    assert [round(x, 1) for x in fit.project(1000, range(8, 13))] == ref["projected"]
    assert round(float(fit.retention_rate(8)), 3) == ref["r8"]
    assert round(fit.derl(renewals=7, discount=0.1), 2) == ref["derl"]
    # the contrast worth showing: sBG lands near the holdout; the average retention rate held constant, or a
    # straight line through the observed years, misses it badly
    holdout = np.array(ref["holdout"])
    average_rate = (ref["alive"][-1] / ref["alive"][0]) ** (1 / 7)
    constant = ref["alive"][-1] * average_rate ** np.arange(1, 6)
    slope, intercept = np.polyfit(np.arange(8), ref["alive"], 1)
    linear = intercept + slope * np.arange(8, 13)
    sbg_error = np.abs(np.array(fit.project(1000, range(8, 13))) - holdout).mean()
    assert sbg_error / holdout.mean() < 0.04
    assert np.abs(constant - holdout).mean() > 3 * sbg_error
    assert np.abs(linear - holdout).mean() > 3 * sbg_error


GEHAN_6MP = [6, 6, 6, -6, 7, -9, 10, -10, -11, 13, 16, -17, -19, -20, 22, 23, -25, -32, -32, -34, -35]
GEHAN_PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def test_kaplan_meier_on_gehan():
    durations = np.abs(GEHAN_6MP)
    observed = np.array([w > 0 for w in GEHAN_6MP])
    km = kaplan_meier(durations, observed)
    assert km.times.tolist() == [6, 7, 10, 13, 16, 22, 23]
    assert np.round(km.survival, 4).tolist() == [0.8571, 0.8067, 0.7529, 0.6902, 0.6275, 0.5378, 0.4482]
    assert km.median == 23
    assert (km.lower < km.survival).all() and (km.survival < km.upper).all()
    assert round(float(km.lower[0]), 3) == 0.620 and round(float(km.upper[0]), 3) == 0.952  # log(-log) Greenwood
    placebo = kaplan_meier(np.array(GEHAN_PLACEBO), np.ones(21, dtype=bool))
    assert placebo.median == 8


def test_log_rank_on_gehan():
    durations = np.concatenate([np.abs(GEHAN_6MP), GEHAN_PLACEBO])
    observed = np.concatenate([[w > 0 for w in GEHAN_6MP], np.ones(21, dtype=bool)])
    test = log_rank(durations, observed, np.array(["6-MP"] * 21 + ["placebo"] * 21))
    assert round(test.statistic, 2) == 16.79 and test.dof == 1
    assert test.p_value == pytest.approx(4.17e-5, rel=0.01)
    same = log_rank(durations, observed, np.array(["a", "b"] * 21))
    assert same.p_value > 0.05


def test_mrr_arithmetic():
    assert 100 * monthly_mrr(100, "month") + 50 * monthly_mrr(600, "year") == 12_500
    before = {"a": 100.0, "b": 100.0, "c": 50.0, "d": 80.0}
    after = {"a": 150.0, "b": 60.0, "d": 0.0, "e": 40.0, "f": 30.0}
    moves = mrr_movements(before, after, seen_before={"f"})
    assert moves == {"new": 40.0, "expansion": 50.0, "contraction": 40.0, "churn": 130.0, "reactivation": 30.0}
    grr, nrr = retention_ratios(sum(before.values()), moves["churn"], moves["contraction"], moves["expansion"])
    assert grr == pytest.approx(1 - 170 / 330) and nrr == pytest.approx(1 - 120 / 330)


def write_rows(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_churn_rate_divides_by_customers_at_the_start(tmp_path):
    # January starts with 0; 10 join in January. February: 10 at start, 2 leave, 5 join. March: 13 at start, 1 leaves.
    rows = [[f"a{i}", "2025-01-05", ""] for i in range(8)]
    rows += [["a8", "2025-01-05", "2025-02-10"], ["a9", "2025-01-06", "2025-02-20"]]
    rows += [[f"b{i}", "2025-02-03", ""] for i in range(4)] + [["b4", "2025-02-03", "2025-03-15"]]
    write_rows(tmp_path / "subs.csv", ["customer_id", "start_date", "end_date"], rows)
    report = analyze(AnalysisRequest(path="subs.csv"), [tmp_path]).report
    by_month = {p.month: p for p in report.periods}
    assert (by_month["2025-02"].active_at_start, by_month["2025-02"].churned, by_month["2025-02"].new) == (10, 2, 5)
    assert by_month["2025-02"].churn_rate == 0.2
    assert (by_month["2025-03"].active_at_start, by_month["2025-03"].churned) == (13, 1)
    assert report.customers == 15 and report.churned == 3
    # pooled over full months (the data end mid-March, so March is partial and left out): 2 lost / 10 at start
    assert report.churn_rate == 0.2


def cdnow_calibration(tmp_path: Path) -> Path:
    lifetimes = pytest.importorskip("lifetimes")
    source = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
    rows = []
    for line in source.read_text().splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[2] <= "19970930":  # the 39-week calibration period
            rows.append([parts[1], parts[2], parts[4]])
    return write_rows(tmp_path / "cdnow.csv", ["customer_id", "order_date", "amount"], rows)


def test_bgnbd_reproduces_cdnow(tmp_path):
    """Published MLE on the 2,357 CDNOW customers, 39 weeks: r 0.243, alpha 4.414, a 0.793, b 2.426."""
    cdnow_calibration(tmp_path)
    report = analyze(AnalysisRequest(path="cdnow.csv"), [tmp_path]).report
    assert report.mode == "transactions" and report.customers == 2357
    fit = report.bgnbd
    assert fit is not None
    for name, published in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert getattr(fit, name) == pytest.approx(published, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    assert report.rfm is not None and report.rfm.customers == 2357
    assert {a.name for a in report.absent} >= {"survival", "sbg", "churn_rate"}


def test_bgnbd_agrees_with_lifetimes(tmp_path):
    lifetimes = pytest.importorskip("lifetimes")
    path = cdnow_calibration(tmp_path)
    data = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=str)
    days = np.array([np.datetime64(f"{d[:4]}-{d[4:6]}-{d[6:]}") for d in data[:, 1]])
    ids = data[:, 0]
    end = np.datetime64("1997-09-30")
    x, t_x, T = [], [], []
    for customer in np.unique(ids):
        mine = np.unique(days[ids == customer])
        x.append(mine.size - 1)
        t_x.append((mine.max() - mine.min()).astype(int) / 7)
        T.append((end - mine.min()).astype(int) / 7)
    ours = fit_bgnbd(np.array(x), np.array(t_x), np.array(T))
    theirs = lifetimes.BetaGeoFitter().fit(np.array(x), np.array(t_x), np.array(T)).params_
    for name in ("r", "alpha", "a", "b"):
        assert getattr(ours, name) == pytest.approx(float(theirs[name]), rel=0.005), name
    # and the conditional expectation and P(alive) agree too
    sample = slice(0, 50)
    ours_e = ours.expected_purchases(39, np.array(x)[sample], np.array(t_x)[sample], np.array(T)[sample])
    fitter = lifetimes.BetaGeoFitter()
    fitter.params_ = theirs
    theirs_e = fitter.conditional_expected_number_of_purchases_up_to_time(
        39, np.array(x)[sample], np.array(t_x)[sample], np.array(T)[sample]
    )
    assert np.allclose(ours_e, np.asarray(theirs_e, dtype=float), rtol=0.01)


if os.name == "nt":  # pragma: no cover
    pytestmark = pytest.mark.skip("POSIX paths in fixtures")


def test_mrr_movements_from_monthly_revenue(tmp_path):
    """The same movements as above, found by the analysis in a file with one row per customer and month."""
    months = {
        "2025-01": {"f": 30.0, "a": 100.0, "b": 100.0, "c": 50.0, "d": 80.0},
        "2025-02": {"a": 100.0, "b": 100.0, "c": 50.0, "d": 80.0},
        "2025-03": {"a": 150.0, "b": 60.0, "e": 40.0, "f": 30.0},  # f comes back: reactivation
    }
    rows = [[c, m, v, "pro" if c in "abe" else "basic"] for m, d in months.items() for c, v in d.items()]
    write_rows(tmp_path / "mrr.csv", ["customer_id", "month", "mrr", "plan"], rows)
    report = analyze(AnalysisRequest(path="mrr.csv"), [tmp_path]).report
    assert report.mode == "monthly" and report.customers == 6 and report.churned == 2
    march = report.mrr.months[-1]
    assert (march.new, march.expansion, march.contraction, march.churned, march.reactivation) == (40, 50, 40, 130, 30)
    assert [m.mrr for m in report.mrr.months] == [360, 330, 280]
    # GRR and NRR follow January's paying customers (360) to March: lost c and d (130), b contracted (40), a grew (50)
    assert report.mrr.starting == 360 and report.mrr.churned == 130
    assert report.mrr.grr == pytest.approx(1 - 170 / 360, abs=1e-6)
    assert report.mrr.nrr == pytest.approx(1 - 120 / 360, abs=1e-6)
