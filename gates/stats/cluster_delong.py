"""Clustered DeLong: two correlated ROC AUCs when rows come in groups (Obuchowski 1997).

Obuchowski (1997, "Nonparametric analysis of clustered ROC curve data", Biometrics 53:567–578)
keeps DeLong's structural components — V10 of a positive row, the share of negatives it
outranks; V01 of a negative row, the share of positives outranking it (ties ½) — but sums them
within each cluster before taking variances, since rows of one cluster are not independent.
With I clusters, I₁₀ of them holding a positive and I₀₁ a negative, M positives and N negatives,
and per cluster i the sums V10ᵢ over its mᵢ positives and V01ᵢ over its nᵢ negatives:

    S10 = I₁₀ / ((I₁₀ − 1) M) · Σᵢ (V10ᵢ − mᵢ θ̂)²
    S01 = I₀₁ / ((I₀₁ − 1) N) · Σᵢ (V01ᵢ − nᵢ θ̂)²
    S11 = I / (I − 1) · Σᵢ (V10ᵢ − mᵢ θ̂)(V01ᵢ − nᵢ θ̂)
    var(θ̂) = S10 / M + S01 / N + 2 S11 / (M N)

and for two models on the same rows the covariance takes the cross-products of the two models'
centred sums (the S11 term in both orders). The variance of the difference, var₁ + var₂ −
2 cov, is the same expression applied to the per-cluster *differences* of the centred sums,
Aᵢ = (V10ᵢ⁽ᶜ⁾ − V10ᵢ⁽ᵖ⁾) − mᵢ Δ̂ and Bᵢ likewise, which is how it is computed here (exactly zero
when the two models rank identically, as in :mod:`gates.stats.delong`):

    var(Δ̂) = I₁₀ / ((I₁₀ − 1) M²) Σ Aᵢ² + I₀₁ / ((I₀₁ − 1) N²) Σ Bᵢ² + 2 I / ((I − 1) M N) Σ Aᵢ Bᵢ

With one row per cluster I₁₀ = M, I₀₁ = N, every Aᵢ Bᵢ = 0, and this is DeLong's variance
(sample variances of the components over M and N) exactly.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ._inference import wald_test
from ._validation import (
    as_binary_target,
    as_finite_scores,
    check_alternative,
    check_confidence_level,
    check_same_length,
)
from .delong import structural_components
from .group_cells import group_codes
from .results import DeLongResult

_THREADED_ROWS = 1 << 18  # from here the two models' sorts run on two threads (as delong.py)


@dataclass(frozen=True)
class ClusteredAUC:
    """The clustered DeLong result and what a report needs beside it.

    ``variance_iid`` is DeLong's variance ignoring the groups (for the design effect);
    ``positive_groups``/``negative_groups`` are Obuchowski's I₁₀ and I₀₁; the
    ``informative_*_groups`` count the groups holding a row that production ranks wrongly
    (the information near AUC 1 lives in those groups only)."""

    result: DeLongResult
    variance_iid: float
    groups: int
    positive_groups: int
    negative_groups: int
    informative_positive_groups: int
    informative_negative_groups: int


def delong_grouped(y_true, score_candidate, score_production, groups, *, alternative: str = "two-sided",
                   confidence_level: float = 0.95, null: float = 0.0) -> DeLongResult:
    """:func:`gates.stats.delong.delong` with the clusters ``groups`` (one label per row) as the
    independent unit. Needs positives in at least two groups and negatives in at least two
    (else ``ValueError`` naming the counts)."""
    return clustered_delong(y_true, score_candidate, score_production, groups, null=null,
                            alternative=alternative, confidence_level=confidence_level).result


def clustered_delong(y_true, score_candidate, score_production, groups, *, null: float = 0.0,
                     alternative: str = "two-sided", confidence_level: float = 0.95) -> ClusteredAUC:
    """Obuchowski's clustered comparison of two correlated AUCs (module docstring)."""
    pos = as_binary_target("y_true", y_true)
    sc = as_finite_scores("score_candidate", score_candidate)
    sp = as_finite_scores("score_production", score_production)
    _, codes = group_codes(groups)
    check_same_length(y_true=pos, score_candidate=sc, score_production=sp, groups=codes)
    check_alternative(alternative)
    confidence_level = check_confidence_level(confidence_level)
    n_groups = int(codes.max()) + 1 if codes.size else 0
    n_pos = int(np.count_nonzero(pos))
    n_neg = pos.size - n_pos
    if n_pos < 2 or n_neg < 2:
        raise ValueError(f"y_true must hold at least 2 positive and 2 negative rows for DeLong; "
                         f"got {n_pos} positive and {n_neg} negative")
    codes_pos, codes_neg = codes[pos], codes[~pos]
    m_g = np.bincount(codes_pos, minlength=n_groups)
    n_g = np.bincount(codes_neg, minlength=n_groups)
    i10, i01 = int(np.count_nonzero(m_g)), int(np.count_nonzero(n_g))
    if i10 < 2 or i01 < 2:
        raise ValueError(f"the positive rows must fall in at least 2 groups and the negative rows in at least 2 "
                         f"for a clustered DeLong; got {i10} and {i01}")
    (v10_c, v01_c), (v10_p, v01_p) = _components(pos, sc, sp, n_pos, n_neg)
    auc_c, auc_p = float(v10_c.mean()), float(v10_p.mean())
    estimate = auc_c - auc_p
    informative_pos, informative_neg = v10_p < 1.0, v01_p < 1.0  # production's misorderings (as delong.py)
    d10 = np.subtract(v10_c, v10_p, out=v10_c)
    d01 = np.subtract(v01_c, v01_p, out=v01_c)
    a = np.bincount(codes_pos, weights=d10, minlength=n_groups) - m_g * estimate
    b = np.bincount(codes_neg, weights=d01, minlength=n_groups) - n_g * estimate
    i = n_groups
    var = (i10 / ((i10 - 1) * float(n_pos) ** 2) * float(a @ a)
           + i01 / ((i01 - 1) * float(n_neg) ** 2) * float(b @ b)
           + 2.0 * i / ((i - 1) * float(n_pos) * n_neg) * float(a @ b))
    var_iid = _sample_var(d10) / n_pos + _sample_var(d01) / n_neg
    se = float(np.sqrt(max(var, 0.0)))
    statistic, pvalue, ci = wald_test(estimate, se, float(null), alternative, confidence_level)
    result = DeLongResult(
        auc_candidate=auc_c, auc_production=auc_p, estimate=estimate, se=se, statistic=statistic, pvalue=pvalue,
        confidence_interval=ci, confidence_level=confidence_level, alternative=alternative, n_positive=n_pos,
        n_negative=n_neg, informative_positive=int(np.count_nonzero(informative_pos)),
        informative_negative=int(np.count_nonzero(informative_neg)),
    )
    return ClusteredAUC(
        result=result, variance_iid=var_iid, groups=n_groups, positive_groups=i10, negative_groups=i01,
        informative_positive_groups=_groups_holding(codes_pos[informative_pos], n_groups),
        informative_negative_groups=_groups_holding(codes_neg[informative_neg], n_groups),
    )


def _components(pos, sc, sp, n_pos, n_neg):
    """Both models' (V10, V01); the two sorts on two threads for large inputs."""
    if pos.size < _THREADED_ROWS:
        return [structural_components(pos, s, n_pos, n_neg) for s in (sc, sp)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda s: structural_components(pos, s, n_pos, n_neg), (sc, sp)))


def _groups_holding(codes: np.ndarray, n_groups: int) -> int:
    """How many distinct groups the (dense) codes name; a count, no sort."""
    return int(np.count_nonzero(np.bincount(codes, minlength=n_groups)))


def _sample_var(x: np.ndarray) -> float:
    """ddof = 1, two passes (exactly 0 for equal values)."""
    centred = x - x.mean()
    return float(centred @ centred) / (x.size - 1)
