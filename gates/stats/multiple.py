"""Holm's step-down correction, used across slices by ``slice_max_drop``.

Holm controls the family-wise error rate under any dependence between the slices (they share
the models), and is uniformly more powerful than Bonferroni — the right default for a gate that
must not block on a false alarm in one of many slices.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import show
from .results import HolmResult


def holm(pvalues, alpha: float = 0.05) -> HolmResult:
    """Adjusted p-values (monotone, capped at 1) and which hypotheses to reject at ``alpha``."""
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"pvalues must be one-dimensional; got shape {p.shape}")
    if np.any(~np.isfinite(p) | (p < 0) | (p > 1)):
        bad = p[~np.isfinite(p) | (p < 0) | (p > 1)][0]
        raise ValueError(f"pvalues must lie in [0, 1]; got {show(bad)}")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1); got {show(alpha)}")
    m = p.size
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    factors = m - np.arange(m)
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(factors * ranked))
    # step down: reject while p_(i) <= alpha / (m - i + 1); stop at the first acceptance
    ok = ranked <= alpha / factors
    first_fail = int(np.argmin(ok)) if not ok.all() else m
    reject_sorted = np.arange(m) < first_fail
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    reject = np.empty(m, bool)
    reject[order] = reject_sorted
    return HolmResult(pvalues=adjusted, reject=reject, alpha=float(alpha))
