"""Per-row loss comparisons: the paired t from moments, the delta method, and row-level checks.

For a mean loss (log loss, Brier, MAE, MSE) the difference of the two models' metrics is the
mean of the per-row differences d = loss_production − loss_candidate, so the paired t on d —
which is the Diebold–Mariano test at horizon 1 — needs only n, the means and the 2×2 block of
M2 of (loss_candidate, loss_production). Those moments merge across chunks and workers.

rmse and r2 are smooth functions of means (√mse; 1 − mse / var(y)), so their difference is
handled by the delta method from the same moments with the columns (squared error candidate,
squared error production, y, y²): the influence function of var(y) is (y − μ)² − var(y), which is
linear in y and y², so the 4×4 covariance is all it needs. The delta method uses the normal
reference distribution.

Row-level checks (Wilcoxon signed-rank, a row bootstrap of mean(d)) need the rows in memory,
so they are reported beside the decision and never decide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._validation import (
    alpha_of,
    as_1d,
    check_confidence_level,
    check_positive_int,
)
from .bootstrap import make_rng, order_index
from .cells import PairedMoments
from .results import ConfidenceInterval, LossRowTests

# mean_score: per-example scores (gates.mean_score), compared here as a loss (lower is better);
# the gate negates higher-is-better scores before they arrive.
MEAN_LOSSES = ("log_loss", "brier", "mae", "mse", "mean_score")
LOSS_METRICS = (*MEAN_LOSSES, "rmse", "r2")
_BATCH_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class LossDifference:
    """Δ (positive = candidate better), its standard error and reference df (None = normal)."""

    estimate: float
    se: float
    candidate: float
    production: float
    df: float | None
    method: str
    reason: str = ""  # non-empty when the difference is undefined


def loss_difference(moments: PairedMoments, metric: str) -> LossDifference:
    n = moments.n
    method = "delta-method" if metric in ("rmse", "r2") else "paired-t"
    need = 4 if metric == "r2" else 2
    if moments.p < need:
        raise ValueError(
            f"moments must have at least {need} columns for {metric}; got {moments.p}"
        )
    if n < 2:
        return LossDifference(math.nan, math.nan, math.nan, math.nan, None, method,
                              f"{metric}: {method} needs at least 2 rows; got n={n}")
    mean, cov = moments.mean, moments.cov
    mc, mp = float(mean[0]), float(mean[1])
    if metric in MEAN_LOSSES:
        var_d = max((moments.m2[0, 0] + moments.m2[1, 1] - 2 * moments.m2[0, 1]) / (n - 1), 0.0)
        return LossDifference(mp - mc, math.sqrt(var_d / n), mc, mp, n - 1, method)
    if metric == "rmse":
        cand, prod = math.sqrt(mc), math.sqrt(mp)
        # a zero mse means every squared error is 0: that column has no variance to carry
        grad = np.array([-0.5 / cand if cand > 0 else 0.0, 0.5 / prod if prod > 0 else 0.0])
        var = float(grad @ cov[:2, :2] @ grad) / n
        return LossDifference(prod - cand, math.sqrt(max(var, 0.0)), cand, prod, None, method)
    var_y = float(moments.m2[2, 2]) / n
    if not var_y > 0:
        return LossDifference(math.nan, math.nan, math.nan, math.nan, None, method,
                              "r2 is undefined: the target is constant on these rows")
    delta = (mp - mc) / var_y
    mu = float(mean[2])
    grad = np.array([-1.0 / var_y, 1.0 / var_y, 2.0 * mu * delta / var_y, -delta / var_y])
    var = float(grad @ cov[:4, :4] @ grad) / n
    return LossDifference(delta, math.sqrt(max(var, 0.0)), 1 - mc / var_y, 1 - mp / var_y,
                          None, method)


def loss_row_tests(
    d,
    *,
    confidence_level: float,
    seed=0,
    budget: int = 50_000_000,
    n_resamples: int = 2_000,
) -> LossRowTests:
    """Wilcoxon signed-rank p-value and an interval for mean(d), d = loss_prod − loss_cand.

    The interval is a row bootstrap (percentile, same order statistics as the cell bootstrap)
    when ``len(d) * n_resamples <= budget``; beyond that budget it is the normal-theory t
    interval, and ``method`` says which one was used. Reported only; never decides a gate.
    """
    d = as_1d("d", d)
    if d.dtype.kind not in "biuf":
        raise ValueError(f"d must be numeric; got dtype {d.dtype}")
    d = d.astype(np.float64, copy=False)
    if not np.all(np.isfinite(d)):
        raise ValueError("d must be finite; got NaN or infinite values")
    if d.size < 2:
        raise ValueError(f"d must hold at least 2 rows; got {d.size}")
    confidence_level = check_confidence_level(confidence_level)
    budget = check_positive_int("budget", budget)
    n_resamples = check_positive_int("n_resamples", n_resamples)
    rng = make_rng(seed)
    n = d.size
    estimate = float(d.mean())
    wilcoxon_p = 1.0 if not np.any(d) else float(stats.wilcoxon(d).pvalue)
    alpha = alpha_of(confidence_level)
    if n * n_resamples <= budget:
        means = np.empty(n_resamples)
        batch = max(1, _BATCH_ELEMENTS // n)
        for start in range(0, n_resamples, batch):
            size = min(batch, n_resamples - start)
            means[start : start + size] = d[rng.integers(0, n, size=(size, n))].mean(axis=1)
        means.sort()
        k = order_index(alpha, n_resamples)
        ci = ConfidenceInterval(float(means[k - 1]), float(means[n_resamples - k]))
        method, used = "row-bootstrap-percentile", n_resamples
    else:
        half = float(stats.t.isf(alpha, n - 1)) * float(d.std(ddof=1)) / math.sqrt(n)
        ci = ConfidenceInterval(estimate - half, estimate + half)
        method, used = "normal", 0
    return LossRowTests(
        estimate=estimate,
        confidence_interval=ci,
        confidence_level=confidence_level,
        wilcoxon_pvalue=wilcoxon_p,
        method=method,
        n=n,
        n_resamples=used,
    )
