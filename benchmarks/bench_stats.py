"""Benchmark the gate statistics against their peers on the same data (prints a table).

    python benchmarks/bench_stats.py [--scipy-resamples-100k 2000] [--scipy-resamples-1m 1000]

* Paired bootstrap CI of the accuracy and F1 difference: ours (JointCells + multinomial draws
  over the cells) against ``scipy.stats.bootstrap(paired=True, vectorized=True,
  method="percentile")``. scipy's cost grows with rows × resamples (35 ms per resample at 1M
  rows on a small machine), so it is timed at fewer resamples and scaled linearly to 10,000;
  the printout says so. Its interval then carries a little more Monte-Carlo error, which the
  "|Δ| / width" columns include.
* DeLong (both AUCs, their covariance, z, p, CI) against two ``roc_auc_score`` calls.
* Every gate statistic on 10M rows: JointCells, bootstrap accuracy + f1, DeLong, loss
  moments + paired t; the peer column is scikit-learn computing only the point values.

Not a test: it measures, it does not assert. OPENBLAS_CORETYPE is left as the environment set
it (printed in the header); the statistics make only tiny BLAS calls.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402
from sklearn import metrics as skm  # noqa: E402

from mlgate.gates.stats import (  # noqa: E402
    JointCells,
    PairedMoments,
    compare_auc,
    compare_confusion,
    compare_loss,
    delong,
    paired_bootstrap,
)

N_RESAMPLES = 10_000


def best_of(fn, repeat=3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def classification_data(n, rng):
    y = (rng.random(n) < 0.3).astype(np.int8)
    cand = np.where(rng.random(n) < 0.86, y, 1 - y).astype(np.int8)
    prod = np.where(rng.random(n) < 0.85, y, 1 - y).astype(np.int8)
    return y, cand, prod


def accuracy_axis(y, c, p, axis=-1):
    return np.mean(y == c, axis=axis) - np.mean(y == p, axis=axis)


def f1_axis(y, c, p, axis=-1):
    def f1(pred):
        tp = np.sum((y == 1) & (pred == 1), axis=axis)
        return 2 * tp / (np.sum(y == 1, axis=axis) + np.sum(pred == 1, axis=axis))

    return f1(c) - f1(p)


def row(label, ours, peer, note=""):
    ratio = peer / ours if ours > 0 else float("inf")
    print(f"{label:<44} {ours:>10.4f} {peer:>12.3f} {ratio:>10.0f}x  {note}")


def bench_bootstrap(n, scipy_resamples, rng):
    y, c, p = classification_data(n, rng)
    batch = max(1, min(scipy_resamples, 25_000_000 // n))
    lines = []
    for metric, fn in (("accuracy", accuracy_axis), ("f1", f1_axis)):
        ours_t, ours = best_of(lambda: paired_bootstrap(y, c, p, metric=metric, n_resamples=N_RESAMPLES))
        t = time.perf_counter()
        ref = stats.bootstrap(
            (y, c, p), fn, paired=True, vectorized=True, n_resamples=scipy_resamples, batch=batch,
            method="percentile", confidence_level=0.95, random_state=np.random.default_rng(1),
        )
        scipy_t = (time.perf_counter() - t) * N_RESAMPLES / scipy_resamples
        note = f"scipy timed at {scipy_resamples:,} resamples (batch={batch}), scaled x{N_RESAMPLES / scipy_resamples:g}"
        row(f"bootstrap {metric} CI, n={n:,}", ours_t, scipy_t, note)
        width = ref.confidence_interval.high - ref.confidence_interval.low
        lines.append(
            f"    {metric:<8} n={n:>9,}  ours CI [{ours.confidence_interval.low:+.6f}, {ours.confidence_interval.high:+.6f}]"
            f"  scipy CI [{ref.confidence_interval.low:+.6f}, {ref.confidence_interval.high:+.6f}]"
            f"  |Δlow|/width={abs(ours.confidence_interval.low - ref.confidence_interval.low) / width:.3f}"
            f"  |Δhigh|/width={abs(ours.confidence_interval.high - ref.confidence_interval.high) / width:.3f}"
        )
    return lines


def bench_delong(n, rng):
    y = rng.random(n) < 0.3
    sc = rng.normal(size=n) + 1.0 * y
    sp = rng.normal(size=n) + 0.9 * y
    ours_t, res = best_of(lambda: delong(y, sc, sp))
    peer_t, _ = best_of(lambda: (skm.roc_auc_score(y, sc), skm.roc_auc_score(y, sp)))
    ratio = ours_t / peer_t
    print(f"{'DeLong vs 2x roc_auc_score, n=' + format(n, ','):<44} {ours_t:>10.4f} {peer_t:>12.3f} "
          f"{peer_t / ours_t:>10.2f}x  DeLong takes {ratio:.2f}x the time of the two AUCs alone "
          f"(AUCs {res.auc_candidate:.5f} / {res.auc_production:.5f})")


def bench_everything(n, rng):
    y = rng.random(n) < 0.3
    y8 = y.astype(np.int8)
    cand = np.where(rng.random(n) < 0.86, y8, 1 - y8).astype(np.int8)
    prod = np.where(rng.random(n) < 0.85, y8, 1 - y8).astype(np.int8)
    sc = 1 / (1 + np.exp(-(rng.normal(size=n) + 2.0 * y - 1.0)))
    sp = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.8 * y - 0.9)))
    loss_c = -np.log(np.where(y, sc, 1 - sc))
    loss_p = -np.log(np.where(y, sp, 1 - sp))
    yf = y.astype(np.float64)
    parts = {}

    def timed(name, fn):
        t = time.perf_counter()
        out = fn()
        parts[name] = time.perf_counter() - t
        return out

    t0 = time.perf_counter()
    cells = timed("JointCells", lambda: JointCells.from_arrays(y8, cand, prod))
    timed("bootstrap accuracy", lambda: compare_confusion(cells, "accuracy"))
    timed("bootstrap f1", lambda: compare_confusion(cells, "f1"))
    timed("DeLong", lambda: compare_auc(y, sc, sp))
    moments = timed("loss moments", lambda: PairedMoments.from_rows(np.column_stack([loss_c, loss_p, yf, yf])))
    timed("paired t", lambda: compare_loss(moments, "log_loss"))
    ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    skm.accuracy_score(y8, cand), skm.accuracy_score(y8, prod)
    skm.f1_score(y8, cand), skm.f1_score(y8, prod)
    skm.roc_auc_score(y, sc), skm.roc_auc_score(y, sp)
    skm.log_loss(y, sc), skm.log_loss(y, sp)
    peer = time.perf_counter() - t0
    row(f"all gate statistics, n={n:,}", ours, peer, "peer = scikit-learn point values only (no CI, no test)")
    print("    breakdown: " + ", ".join(f"{k} {v:.3f}s" for k, v in parts.items()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scipy-resamples-100k", type=int, default=2_000)
    ap.add_argument("--scipy-resamples-1m", type=int, default=1_000)
    ap.add_argument("--rows-all", type=int, default=10_000_000)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, cpus {os.cpu_count()}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"ours: {N_RESAMPLES:,} resamples, 95 % percentile interval; times in seconds (best of 3 for ours)")
    print(f"{'case':<44} {'ours (s)':>10} {'peer (s)':>12} {'peer/ours':>11}  note")
    print("-" * 120)
    ci_lines = []
    ci_lines += bench_bootstrap(100_000, args.scipy_resamples_100k, rng)
    ci_lines += bench_bootstrap(1_000_000, args.scipy_resamples_1m, rng)
    bench_delong(1_000_000, rng)
    bench_everything(args.rows_all, rng)
    print("\nconfidence intervals (ours at 10,000 resamples; scipy at the resamples noted above):")
    print("\n".join(ci_lines))


if __name__ == "__main__":
    main()
