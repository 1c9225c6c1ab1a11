"""The cluster-robust paired t (and delta method) on per-group sums of per-row losses.

With rows in groups, the mean loss difference is a ratio estimator over the groups,
Δ̂ = Σ_g D_g / Σ_g n_g, with D_g the group's sum of d = loss_production − loss_candidate.
Linearised, Δ̂ − Δ ≈ Σ_g (D_g − n_g Δ) / N, a sum of G independent terms, so its variance is
estimated by the cluster-robust ("sandwich") form

    var(Δ̂) = G / (G − 1) · Σ_g (D_g − n_g Δ̂)² / N²

(Liang & Zeger 1986, Biometrika 73:13; Cochran 1977, *Sampling Techniques*, §6.9 for the
ratio estimator), referred to t with G − 1 degrees of freedom (Bell & McCaffrey 2002, Survey
Methodology 28:169; Cameron & Miller 2015, J. Human Resources 50:317). It is exactly the
intercept-only OLS of the per-row differences with statsmodels' ``cov_type="cluster"``: that
multiplies by G/(G − 1) · (N − 1)/(N − K), and with K = 1 the second factor is 1.

rmse and r2 are smooth functions of the column means (√mse; 1 − mse/var(y)); their
cluster-robust variance is the delta method ∇fᵀ V ∇f with V = G/(G − 1) · RᵀR / N², R the
per-group residual sums S_g − n_g μ̂ of the columns (loss_c, loss_p, y, y²). With one row per
group each of these is the ungrouped statistic of :mod:`gates.stats.losses` exactly (up to
rounding): G/(G − 1) · Σ (d_i − d̄)² / N² is s²/N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .group_cells import GroupSums
from .losses import MEAN_LOSSES, LossDifference, loss_difference


@dataclass(frozen=True)
class ClusteredLoss:
    """The cluster-robust difference and what the comparison needs beside it.

    ``variance_iid`` is the ungrouped paired-t (or delta-method) variance of the same rows, for
    the design effect; ``skewness`` that of the per-group residuals D_g − n_g Δ̂ (for Hall's
    correction, mean losses only; None when not computable); ``nonzero`` the effective number
    of groups whose losses differ, (Σ|D_g|)² / ΣD_g² (0 when none do)."""

    difference: LossDifference
    variance_iid: float
    skewness: float | None
    nonzero: float
    groups: int


def clustered_loss_difference(sums: GroupSums, metric: str) -> ClusteredLoss:
    """Δ (positive = candidate better) with its cluster-robust standard error (module docstring)."""
    if not isinstance(sums, GroupSums):
        raise ValueError(f"sums must be a GroupSums; got {type(sums).__name__}")
    rows = loss_difference(sums.moments, metric)  # point values, checks of the columns, the iid se
    g, n = sums.groups, sums.rows
    method = "cluster-delta-method" if metric not in MEAN_LOSSES else "cluster-paired-t"
    d_g = sums.sums[:, 1] - sums.sums[:, 0]
    sq = float(d_g @ d_g)
    nonzero = float(np.abs(d_g).sum()) ** 2 / sq if sq > 0 else 0.0
    if rows.reason or g < 2:
        reason = rows.reason or f"{metric}: a cluster-robust comparison needs at least 2 groups; got {g}"
        return ClusteredLoss(LossDifference(math.nan, math.nan, rows.candidate, rows.production, None, method, reason),
                             math.nan, None, nonzero, g)
    var_iid = rows.se**2
    mean = sums.moments.mean
    if metric in MEAN_LOSSES:
        u = d_g - sums.n * rows.estimate
        var = g / (g - 1) * float(u @ u) / float(n) ** 2
        m2 = float(u @ u) / g
        skew = float(np.mean(u**3)) / m2**1.5 if g >= 3 and m2 > 0 else None
        diff = LossDifference(rows.estimate, math.sqrt(max(var, 0.0)), rows.candidate, rows.production, g - 1, method)
        return ClusteredLoss(diff, var_iid, skew, nonzero, g)
    if metric == "rmse":
        cand, prod = rows.candidate, rows.production
        grad = np.array([-0.5 / cand if cand > 0 else 0.0, 0.5 / prod if prod > 0 else 0.0])
        cols = 2
    else:  # r2 = 1 − mse/var(y); Δ = (mse_p − mse_c)/var(y), var(y) = E[y²] − E[y]² (ddof 0)
        var_y = float(sums.moments.m2[2, 2]) / n
        delta, mu = rows.estimate, float(mean[2])
        grad = np.array([-1.0 / var_y, 1.0 / var_y, 2.0 * mu * delta / var_y, -delta / var_y])
        cols = 4
    resid = sums.sums[:, :cols] - sums.n[:, None] * mean[None, :cols]
    linear = resid @ grad  # each group's linearised contribution
    var = g / (g - 1) * float(linear @ linear) / float(n) ** 2
    diff = LossDifference(rows.estimate, math.sqrt(max(var, 0.0)), rows.candidate, rows.production, None, method)
    return ClusteredLoss(diff, var_iid, None, nonzero, g)
