"""Grouped rows: false approvals at the margin with and without groups, and the cost at scale.

    python benchmarks/bench_grouped.py [--sims 2000] [--groups 200] [--rows-per-group 10]
                                       [--resamples 2000] [--rows 10000000] [--big-groups 1000000]
                                       [--skip-calibration] [--skip-power] [--skip-scale]

(a) Calibration. Holdouts of ``--groups`` groups × ``--rows-per-group`` rows with within-group
    correlation 0.3 (tests/stats/grouped_regimes.py) and the candidate exactly at the
    non-inferiority margin (true Δ = −0.05); each gate at alpha = 0.05 decides by its own
    comparison. The table prints the share approved (must be ≤ 0.05 within Monte Carlo error)
    with groups (cluster bootstrap / cluster-robust t / clustered DeLong) and without (the
    ungrouped comparison of the same rows), its Monte Carlo standard error, and the mean design
    effect.
(b) Power. The same holdouts with an equivalent candidate (true Δ = 0): the share that passes
    the non-inferiority gate, against the pass rate the report promises at that n (the power
    report's ``equivalent_pass`` from the grouped standard error, averaged over the holdouts).
(c) Scale. ``--rows`` rows in ``--big-groups`` groups of random size (labels unsorted, a group's
    rows scattered): the time to build the per-group statistics and to run each grouped test
    (the bootstrap with ``--resamples`` resamples), and the number of distinct group patterns
    the bootstrap resamples.

Not a test: it measures, it does not assert (tests/stats/test_grouped.py checks the
calibration at small scale).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "stats"))

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from grouped_regimes import accuracy_holdout, auc_holdout, loss_holdout  # noqa: E402
from mlgate.gates.stats import (  # noqa: E402
    GroupCells,
    GroupSums,
    JointCells,
    compare_auc,
    compare_auc_grouped,
    compare_confusion,
    compare_confusion_grouped,
    compare_loss,
    compare_loss_grouped,
)
from mlgate.gates.stats.cluster_bootstrap import group_patterns  # noqa: E402
from mlgate.gates.stats.power import power_report  # noqa: E402

ALPHA, MARGIN = 0.05, 0.05
LEVEL = 1 - 2 * ALPHA


def approves(cmp) -> bool:
    return bool(not cmp.undefined and not cmp.insufficient and cmp.confidence_interval.low > -MARGIN)


def calibration(sims: int, groups: int, rows: int, resamples: int) -> None:
    print(f"(a) approve rate at the margin (true Δ = −{MARGIN}), alpha {ALPHA}, {sims} holdouts of {groups} groups × "
          f"{rows} rows, within-group correlation 0.3")
    print(f"{'metric':<10} {'test with groups':<30} {'grouped':>8} {'±se':>6} {'ungrouped':>10} {'±se':>6} "
          f"{'mean deff':>9} {'seconds':>8}")
    rng = np.random.default_rng(20240611)
    kw = dict(groups=groups, rows=rows, margin=MARGIN)
    cases = {
        "accuracy": lambda: _accuracy(rng, kw, resamples),
        "log_loss": lambda: _loss(rng, kw),
        "roc_auc": lambda: _auc(rng, kw),
    }
    for name, run in cases.items():
        start = time.perf_counter()
        hits, deff, method = np.zeros(3), [], ""
        for sim in range(sims):
            grouped, ungrouped, more = run()
            hits += (approves(grouped), approves(ungrouped), approves(more) if more is not None else 0)
            deff.append(grouped.groups.design_effect)
            method = grouped.method
        rate = hits / sims
        se = [math.sqrt(max(r * (1 - r), 1e-12) / sims) for r in rate]
        print(f"{name:<10} {method:<30} {rate[0]:>8.4f} {se[0]:>6.4f} {rate[1]:>10.4f} {se[1]:>6.4f} "
              f"{np.mean(deff):>9.2f} {time.perf_counter() - start:>8.1f}")
        if name == "accuracy":
            print(f"{'':<10} {'(ungrouped paired bootstrap)':<30} {'':>8} {'':>6} {rate[2]:>10.4f} {se[2]:>6.4f}")


def power(sims: int, groups: int, rows: int, resamples: int) -> None:
    print(f"(b) an equivalent candidate (true Δ = 0), margin {MARGIN}: pass rate promised by the report vs simulated, "
          f"{sims} holdouts of {groups} groups × {rows} rows")
    print(f"{'metric':<10} {'promised':>9} {'simulated':>10} {'±se':>6}")
    rng = np.random.default_rng(20240612)
    kw = dict(groups=groups, rows=rows, margin=0.0)
    cases = {"accuracy": lambda: _accuracy(rng, kw, resamples)[0], "log_loss": lambda: _loss(rng, kw)[0],
             "roc_auc": lambda: _auc(rng, kw)[0]}
    for name, run in cases.items():
        promised, passed = [], 0
        for _ in range(sims):
            cmp = run()
            report = power_report(cmp.se, cmp.n, alpha=ALPHA, power=0.8, margin=MARGIN, se_equal=cmp.se_equal)
            if report is not None:
                promised.append(report["equivalent_pass"])
            passed += approves(cmp)
        rate = passed / sims
        print(f"{name:<10} {np.mean(promised):>9.3f} {rate:>10.3f} {math.sqrt(max(rate * (1 - rate), 1e-12) / sims):>6.3f}")


def _accuracy(rng, kw, resamples):
    y, c, p, g = accuracy_holdout(rng, **kw)
    seed = int(rng.integers(1 << 31))
    grouped = compare_confusion_grouped(GroupCells.from_arrays(y, c, p, g), "accuracy", null=-MARGIN,
                                        confidence_level=LEVEL, n_resamples=resamples, seed=seed)
    cells = JointCells.from_arrays(y, c, p)
    return (grouped, compare_confusion(cells, "accuracy", null=-MARGIN, confidence_level=LEVEL),
            compare_confusion(cells, "accuracy", null=-MARGIN, confidence_level=LEVEL, method="bootstrap",
                              n_resamples=resamples, seed=seed))


def _loss(rng, kw):
    lc, lp, g = loss_holdout(rng, **kw)
    sums = GroupSums.from_columns(g, lc, lp)
    return (compare_loss_grouped(sums, "log_loss", null=-MARGIN, confidence_level=LEVEL),
            compare_loss(sums.moments, "log_loss", null=-MARGIN, confidence_level=LEVEL), None)


def _auc(rng, kw):
    y, sc, sp, g = auc_holdout(rng, **kw)
    return (compare_auc_grouped(y, sc, sp, g, null=-MARGIN, confidence_level=LEVEL),
            compare_auc(y, sc, sp, null=-MARGIN, confidence_level=LEVEL), None)


def big_holdout(n: int, groups: int, rng):
    """Rows with random group labels (sizes about Poisson(n / groups)), within-group correlation
    0.3 in each model's correctness, loss and score."""
    g = rng.integers(0, groups, n)
    keys = rng.permutation(groups) * 13 + 5  # sparse labels
    rho = 0.3
    right = []
    for acc in (0.86, 0.85):
        lat = math.sqrt(rho) * rng.standard_normal(groups)[g] + math.sqrt(1 - rho) * rng.standard_normal(n)
        right.append(lat < stats.norm.ppf(acc))
    y = (rng.random(n) < 0.3).astype(np.int8)
    c = np.where(right[0], y, 1 - y).astype(np.int8)
    p = np.where(right[1], y, 1 - y).astype(np.int8)
    base = rng.exponential(0.4, n)
    lc = base + 0.3 * (math.sqrt(rho) * rng.standard_normal(groups)[g] + math.sqrt(1 - rho) * rng.standard_normal(n))
    sc = (y * (1.2 + 0.6 * rng.standard_normal(groups)[g]) + rng.standard_normal(n)).astype(np.float32)
    sp = (y * (1.1 + 0.6 * rng.standard_normal(groups)[g]) + rng.standard_normal(n)).astype(np.float32)
    return keys[g], y, c, p, lc, base, sc, sp


def scale(n: int, groups: int, resamples: int) -> None:
    print(f"\n(b) time at {n:,} rows in {groups:,} groups (random sizes, scattered rows); 2 cores")
    rng = np.random.default_rng(7)
    g, y, c, p, lc, lp, sc, sp = big_holdout(n, groups, rng)

    def timed(label, fn):
        start = time.perf_counter()
        out = fn()
        print(f"  {label:<58} {time.perf_counter() - start:>7.2f} s")
        return out

    cells = timed("GroupCells.from_arrays", lambda: GroupCells.from_arrays(y, c, p, g))
    plan = group_patterns(cells)
    print(f"  {'':<58} {cells.groups:,} groups, {plan.patterns.shape[0]:,} distinct patterns")
    cmp = timed(f"compare_confusion_grouped(accuracy, cluster bootstrap, B={resamples})",
                lambda: compare_confusion_grouped(cells, "accuracy", null=-0.01, n_resamples=resamples))
    print(f"  {'':<58} {cmp.method}, deff {cmp.groups.design_effect:.2f}, p {cmp.p_value:.4f}")
    timed(f"compare_confusion_grouped(f1, cluster bootstrap, B={resamples})",
          lambda: compare_confusion_grouped(cells, "f1", null=-0.01, n_resamples=resamples))
    sums = timed("GroupSums.from_columns (loss_c, loss_p)", lambda: GroupSums.from_columns(g, lc, lp))
    cmp = timed("compare_loss_grouped(log_loss, cluster-robust t)",
                lambda: compare_loss_grouped(sums, "log_loss", null=-0.01))
    print(f"  {'':<58} {cmp.method}, deff {cmp.groups.design_effect:.2f}")
    cmp = timed("compare_auc_grouped(clustered DeLong, float32 scores)",
                lambda: compare_auc_grouped(y, sc, sp, g, null=-0.01))
    print(f"  {'':<58} deff {cmp.groups.design_effect:.2f}")
    timed("compare_auc (ungrouped DeLong, for reference)", lambda: compare_auc(y, sc, sp, null=-0.01))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--groups", type=int, default=200)
    ap.add_argument("--rows-per-group", type=int, default=10)
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--big-groups", type=int, default=1_000_000)
    ap.add_argument("--skip-calibration", action="store_true")
    ap.add_argument("--skip-power", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    args = ap.parse_args(argv)
    if not args.skip_calibration:
        calibration(args.sims, args.groups, args.rows_per_group, args.resamples)
    if not args.skip_power:
        power(args.sims, args.groups, args.rows_per_group, args.resamples)
    if not args.skip_scale:
        scale(args.rows, args.big_groups, args.resamples)


if __name__ == "__main__":
    main()
