"""Wald-type tests (z or t) whose p-value and interval come from one construction.

DeLong, the paired t and the delta method all reduce to an estimate, a standard error and a
reference distribution. Building the interval and the p-value here, from the same quantile,
keeps the contract that ``low > null`` exactly when the one-sided p-value is below
(1 − confidence_level)/2 (up to the last bit of floating-point rounding at the boundary).

A standard error of exactly zero means every row gives the same difference: the comparison is
then deterministic — the interval collapses to the estimate and the p-value is 0 or 1 by the
sign of ``estimate − null``, with ``estimate == null`` never significant.
"""

from __future__ import annotations

import math

from scipy import stats

from ._validation import alpha_of
from .results import ConfidenceInterval


def wald_test(estimate: float, se: float, null: float, alternative: str, confidence_level: float,
              df: float | None = None):
    """Return (statistic, p-value, interval) for (estimate − null)/se against N(0,1) or t(df)."""
    if se == 0.0:
        ci = ConfidenceInterval(float(estimate), float(estimate))
        diff = estimate - null
        statistic = math.copysign(math.inf, diff) if diff != 0 else 0.0
        if alternative == "greater":
            p = 0.0 if diff > 0 else 1.0
        elif alternative == "less":
            p = 0.0 if diff < 0 else 1.0
        else:
            p = 0.0 if diff != 0 else 1.0
        return statistic, p, ci
    dist = stats.norm if df is None else stats.t(df)
    q = float(dist.isf(alpha_of(confidence_level)))
    ci = ConfidenceInterval(float(estimate - q * se), float(estimate + q * se))
    statistic = float((estimate - null) / se)
    if alternative == "greater":
        p = float(dist.sf(statistic))
    elif alternative == "less":
        p = float(dist.cdf(statistic))
    else:
        p = float(min(1.0, 2.0 * dist.sf(abs(statistic))))
    return statistic, p, ci
