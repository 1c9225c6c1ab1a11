"""A change in how often a feature is missing: a column that goes from 0 % to 90 % empty has
drifted, though the values it still has may look the same.

The difference of the two missing shares (window − reference) with a two-sided 1 − 2·alpha
Wald interval (each share moved half a count from 0 and 1 so an all-present sample has a
variance), and a one-sided p-value for H0: |difference| ≤ threshold, so it joins the features'
distances in one Holm family.
"""

from __future__ import annotations

import math

from scipy import stats as sps

from .distances import Distance


def missing_share(reference, current, *, threshold: float, alpha: float) -> Distance | None:
    """None when neither sample has a missing value (nothing to compare)."""
    n_r, n_c = reference.n + reference.missing, current.n + current.missing
    if (reference.missing == 0 and current.missing == 0) or n_r == 0 or n_c == 0:
        return None
    p_r, p_c = reference.missing / n_r, current.missing / n_c
    q_r, q_c = (reference.missing + 0.5) / (n_r + 1), (current.missing + 0.5) / (n_c + 1)
    se = math.sqrt(q_r * (1 - q_r) / n_r + q_c * (1 - q_c) / n_c)
    diff = p_c - p_r
    z = float(sps.norm.ppf(1 - alpha))
    p_value = float(sps.norm.sf((abs(diff) - threshold) / se))
    return Distance(kind="missing", distance=diff, interval=(diff - z * se, diff + z * se), p_value=p_value,
                    threshold=threshold, psi=None, n_reference=n_r, n_current=n_c,
                    method="difference of missing shares, Wald interval (half-count continuity), one-sided "
                           "normal p-value against the threshold")
