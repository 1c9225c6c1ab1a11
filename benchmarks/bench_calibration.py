"""Does a non-inferiority gate at alpha approve at most alpha of the candidates at its margin?

    python benchmarks/bench_calibration.py [--sims 1000] [--only accuracy,recall,...]

For each regime of the grid — every metric family × small holdouts, rare classes, near-perfect
models, heavy-tailed losses, AUC near 1 — holdouts are drawn from a population in which the
candidate is exactly at the margin (true Δ = −margin), the gate's own comparison decides each,
and the table prints:

* ``approve@margin``: the share approved (must be ≤ alpha within Monte Carlo error, or the gate
  must say inconclusive) with its Monte Carlo standard error;
* ``inconclusive``: the share the minimum-information rule stopped;
* ``coverage``: how often the shown (1 − 2·alpha) interval holds the true Δ;
* ``approve@equal``: the share approved when the candidate is equivalent (true Δ = 0): the power
  a fix must not throw away.

Not a test: it measures, it does not assert (tests/stats/test_calibration.py checks a few cells
at small scale).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "stats"))

import numpy as np  # noqa: E402

from mlgate.gates.stats import JointCells, PairedMoments, compare_auc, compare_confusion, compare_loss  # noqa: E402
from regimes import (  # noqa: E402
    AucRegime, binomial_error, cells_regime, confidently_wrong, draw_cells, gaussian_losses, recall_only,
    regression_errors,
)

ALPHA = 0.05
LEVEL = 1 - 2 * ALPHA


def grid():
    c = cells_regime
    out = [
        c("accuracy, 99 % vs 99 %-m, n=200, m=0.01", "accuracy", n=200, margin=0.01, prior=[0.5, 0.5], acc_p=[0.99, 0.99]),
        c("accuracy, 99.5 %, n=200, m=0.005", "accuracy", n=200, margin=0.005, prior=[0.5, 0.5], acc_p=[0.995, 0.995]),
        c("accuracy, 85 %, n=2000, m=0.02", "accuracy", n=2000, margin=0.02, prior=[0.7, 0.3], acc_p=[0.88, 0.78]),
        c("recall, 5 % pos, n=200, m=0.03", "recall", n=200, margin=0.03, prior=[0.95, 0.05], acc_p=[0.95, 0.8],
          shift=recall_only),
        c("recall, 5 % pos, n=2000, m=0.03", "recall", n=2000, margin=0.03, prior=[0.95, 0.05], acc_p=[0.95, 0.8],
          shift=recall_only),
        c("balanced_accuracy, 5 % pos, n=200, m=0.03", "balanced_accuracy", n=200, margin=0.03, prior=[0.95, 0.05],
          acc_p=[0.95, 0.8]),
        c("f1, 5 % pos, n=200, m=0.03", "f1", n=200, margin=0.03, prior=[0.95, 0.05], acc_p=[0.97, 0.8]),
        c("f1, 5 % pos, n=500, m=0.03", "f1", n=500, margin=0.03, prior=[0.95, 0.05], acc_p=[0.97, 0.8]),
        c("precision, 5 % pos, n=200, m=0.03", "precision", n=200, margin=0.03, prior=[0.95, 0.05], acc_p=[0.97, 0.8]),
        c("mcc, 5 % pos, n=200, m=0.03", "mcc", n=200, margin=0.03, prior=[0.95, 0.05], acc_p=[0.97, 0.8]),
        c("f1 macro, 4 classes, n=300, m=0.02", "f1", n=300, margin=0.02, prior=[0.4, 0.3, 0.2, 0.1],
          acc_p=[0.9, 0.85, 0.8, 0.75], average="macro"),
        c("balanced_accuracy, 3 classes, n=300, m=0.02", "balanced_accuracy", n=300, margin=0.02,
          prior=[0.5, 0.3, 0.2], acc_p=[0.9, 0.85, 0.8]),
    ]
    losses = [
        confidently_wrong("log_loss, confidently wrong 1 %, n=200, m=0.01", n=200, margin=0.01),
        confidently_wrong("log_loss, confidently wrong 1 %, n=1000, m=0.01", n=1000, margin=0.01),
        confidently_wrong("brier, confidently wrong 1 %, n=200, m=0.005", n=200, margin=0.005, size=0.8, metric="brier"),
        confidently_wrong("log_loss, confidently wrong 1 %, n=3000, m=0.01", n=3000, margin=0.01),
        gaussian_losses("mse, gaussian, n=30, m=0.02", n=30, margin=0.02),
        gaussian_losses("mse, gaussian, n=60, m=0.02", n=60, margin=0.02),
        regression_errors("rmse, normal errors, n=30, m=0.05", n=30, margin=0.05, metric="rmse"),
        regression_errors("rmse, normal errors, n=100, m=0.05", n=100, margin=0.05, metric="rmse"),
        regression_errors("rmse, normal errors, n=300, m=0.05", n=300, margin=0.05, metric="rmse"),
        regression_errors("r2, normal errors, n=30, m=0.05", n=30, margin=0.05, metric="r2"),
        regression_errors("r2, normal errors, n=300, m=0.05", n=300, margin=0.05, metric="r2"),
    ]
    aucs = [
        AucRegime("roc_auc 0.98, 20 pos, m=0.01", n_pos=20, n_neg=400, margin=0.01, auc_p=0.98),
        AucRegime("roc_auc 0.995, 50 pos, m=0.01", n_pos=50, n_neg=500, margin=0.01, auc_p=0.995),
        AucRegime("roc_auc 0.85, 200 pos, m=0.02", n_pos=200, n_neg=800, margin=0.02, auc_p=0.85),
        AucRegime("roc_auc 0.99, 100 pos, m=0.01", n_pos=100, n_neg=1000, margin=0.01, auc_p=0.99),
        AucRegime("roc_auc 0.995, 200 pos, m=0.005", n_pos=200, n_neg=2000, margin=0.005, auc_p=0.995),
        AucRegime("roc_auc 0.999, 300 pos, m=0.002", n_pos=300, n_neg=3000, margin=0.002, auc_p=0.999),
        AucRegime("roc_auc 0.98, 500 pos, m=0.005", n_pos=500, n_neg=5000, margin=0.005, auc_p=0.98),
    ]
    return out, losses, aucs


def run_cells(regime, sims, rng, resamples):
    tallies = {"approve": 0, "inconclusive": 0, "cover": 0, "equal": 0}
    for i in range(sims):
        for equivalent in (False, True):
            counts = draw_cells(regime, rng, equivalent=equivalent)
            cmp = compare_confusion(JointCells(regime.labels, counts), regime.metric, null=-regime.margin,
                                    alternative="greater", confidence_level=LEVEL, n_resamples=resamples, seed=i,
                                    pos_label=1, average=regime.average)
            _tally(tallies, cmp, -regime.margin, equivalent, truth=0.0 if equivalent else -regime.margin)
    return tallies


def run_losses(regime, sims, rng):
    tallies = {"approve": 0, "inconclusive": 0, "cover": 0, "equal": 0}
    for _ in range(sims):
        for equivalent in (False, True):
            drawn = regime.draw(rng, regime.n, equivalent)
            rows = drawn if isinstance(drawn, np.ndarray) else np.column_stack(drawn)
            cmp = compare_loss(PairedMoments.from_rows(rows), regime.metric, null=-regime.margin, alternative="greater",
                               confidence_level=LEVEL)
            _tally(tallies, cmp, -regime.margin, equivalent, truth=0.0 if equivalent else -regime.margin)
    return tallies


def run_auc(regime, sims, rng):
    tallies = {"approve": 0, "inconclusive": 0, "cover": 0, "equal": 0}
    for _ in range(sims):
        for equivalent in (False, True):
            y, sc, sp = regime.draw(rng, equivalent)
            cmp = compare_auc(y, sc, sp, null=-regime.margin, alternative="greater", confidence_level=LEVEL)
            _tally(tallies, cmp, -regime.margin, equivalent, truth=0.0 if equivalent else -regime.margin)
    return tallies


def _tally(t, cmp, null, equivalent, truth):
    """An approval needs the interval above the bound and enough information; the minimum-
    information rule's stops count as inconclusive (never approved)."""
    stopped = bool(cmp.undefined or cmp.insufficient)
    passed = not stopped and cmp.confidence_interval.low > null
    if equivalent:
        t["equal"] += passed
        return
    t["approve"] += passed
    t["inconclusive"] += stopped
    if not cmp.undefined:
        t["cover"] += cmp.confidence_interval.low <= truth <= cmp.confidence_interval.high


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sims", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--only", default="")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    cells, losses, aucs = grid()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    print(f"alpha {ALPHA}, {args.sims} holdouts per regime, interval level {LEVEL:.0%}\n")
    print(f"| regime | approve@margin (±MC se) | inconclusive | coverage | approve@equal | s |")
    print("|---|---|---|---|---|---|")
    jobs = [(r, lambda r=r: run_cells(r, args.sims, rng, args.resamples)) for r in cells]
    jobs += [(r, lambda r=r: run_losses(r, args.sims, rng)) for r in losses]
    jobs += [(r, lambda r=r: run_auc(r, args.sims, rng)) for r in aucs]
    for regime, job in jobs:
        if only and not any(o in regime.name for o in only):
            continue
        start = time.perf_counter()
        t = job()
        s = args.sims
        rate = t["approve"] / s
        print(f"| {regime.name} | {rate:.3f} ± {binomial_error(rate, s):.3f} | {t['inconclusive'] / s:.3f} | "
              f"{t['cover'] / s:.3f} | {t['equal'] / s:.3f} | {time.perf_counter() - start:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
