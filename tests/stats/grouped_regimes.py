"""Grouped holdouts with the candidate exactly at a non-inferiority margin, for calibration.

Each generator draws ``groups`` groups of ``rows`` rows in which rows of one group share a
latent group effect with within-group correlation ``rho``, and the true difference Δ
(candidate − production, positive = candidate better) is exactly ``-margin``:

* :func:`accuracy_holdout` — each model is right on a row when a latent normal
  √ρ·(group effect) + √(1 − ρ)·(row noise) is below Φ⁻¹(accuracy), so P(right) is the accuracy
  exactly; the two models' group effects (and row noises) are correlated but not equal, so the
  per-group *difference* is clustered too.
* :func:`loss_holdout` — per-row losses whose difference d = loss_p − loss_c is
  −margin + σ(√ρ·u_g + √(1 − ρ)·e_i).
* :func:`auc_holdout` — binormal scores whose separation varies by group:
  s = y·(μ + τ·u_g) + e, so a positive's expected component depends only on its own group and
  AUC = Φ(μ / √(2 + τ²)) exactly, with τ² = ρ/(1 − ρ) the within-group correlation of the
  positives' scores.

Shared by tests/stats/test_grouped.py (small scale) and benchmarks/bench_grouped.py.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def _pair_normals(rng, size, corr):
    a = rng.standard_normal(size)
    b = corr * a + math.sqrt(1 - corr * corr) * rng.standard_normal(size)
    return a, b


def group_labels(groups: int, rows: int) -> np.ndarray:
    return np.repeat(np.arange(groups), rows)


def accuracy_holdout(rng, *, groups=60, rows=8, rho=0.3, accuracy=0.85, margin=0.05,
                     model_corr=0.3, noise_corr=0.5):
    """(y, pred_candidate, pred_production, group) with accuracy(c) − accuracy(p) = −margin."""
    n = groups * rows
    g = group_labels(groups, rows)
    ua, ub = _pair_normals(rng, groups, model_corr)
    ea, eb = _pair_normals(rng, n, noise_corr)
    lat_c = math.sqrt(rho) * ua[g] + math.sqrt(1 - rho) * ea
    lat_p = math.sqrt(rho) * ub[g] + math.sqrt(1 - rho) * eb
    right_c = lat_c < stats.norm.ppf(accuracy - margin)
    right_p = lat_p < stats.norm.ppf(accuracy)
    y = (rng.random(n) < 0.5).astype(np.int64)
    return y, np.where(right_c, y, 1 - y), np.where(right_p, y, 1 - y), g


def loss_holdout(rng, *, groups=60, rows=8, rho=0.3, margin=0.05, sigma=0.4):
    """(loss_candidate, loss_production, group) with mean(loss_p − loss_c) = −margin."""
    n = groups * rows
    g = group_labels(groups, rows)
    base = rng.exponential(0.4, n)
    d = -margin + sigma * (math.sqrt(rho) * rng.standard_normal(groups)[g] + math.sqrt(1 - rho) * rng.standard_normal(n))
    return base - d, base, g


def auc_holdout(rng, *, groups=60, rows=8, rho=0.3, auc=0.80, margin=0.05, model_corr=0.3, noise_corr=0.5,
                prevalence=0.4):
    """(y, score_candidate, score_production, group) with AUC(c) − AUC(p) = −margin."""
    n = groups * rows
    g = group_labels(groups, rows)
    tau = math.sqrt(rho / (1 - rho))
    scale = math.sqrt(2 + tau * tau)
    mu_c, mu_p = stats.norm.ppf(auc - margin) * scale, stats.norm.ppf(auc) * scale
    uc, up = _pair_normals(rng, groups, model_corr)
    ec, ep = _pair_normals(rng, n, noise_corr)
    y = rng.random(n) < prevalence
    return y, y * (mu_c + tau * uc[g]) + ec, y * (mu_p + tau * up[g]) + ep, g
