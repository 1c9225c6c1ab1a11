"""Result objects of the statistics.

Small frozen dataclasses in the style of ``scipy.stats`` rather than tuples: a gate, a report and
a test read the same named attributes, and a result keeps its evidence (the bootstrap
distribution) so a report can show *why* a gate decided as it did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class ConfidenceInterval(NamedTuple):
    """Two-sided interval ``(low, high)``; a NamedTuple so it unpacks and serialises as a pair."""

    low: float
    high: float


NAN_INTERVAL = ConfidenceInterval(math.nan, math.nan)


@dataclass(frozen=True)
class Comparison:
    """What a gate consumes: one paired comparison of candidate against production.

    ``estimate`` is Δ oriented so that positive means the candidate is better. ``p_value`` is the
    one-sided p-value of H0 at ``null`` for the requested alternative and is built from the same
    construction as ``confidence_interval``, so the two never disagree: with
    ``alternative="greater"``, ``confidence_interval.low > null`` exactly when
    ``p_value < (1 - confidence_level) / 2`` (mirrored with ``high < null`` for ``"less"``).

    ``undefined=True`` means the statistic could not be computed (one class only, zero division,
    too many undefined resamples, too few rows); ``detail`` says why in one line, the numbers
    that do not exist are NaN, and the gate must fail closed on the flag rather than on a NaN
    comparison.
    """

    estimate: float
    confidence_interval: ConfidenceInterval
    confidence_level: float
    p_value: float
    method: str
    n: int
    undefined: bool = False
    detail: str = ""
    candidate: float = math.nan
    production: float = math.nan
    # The standard error of the estimate (at the null for score tests); power is computed from
    # it. NaN when the construction has none (the bootstrap).
    se: float = math.nan
    # The standard error if the two models were equivalent (Δ = 0): for a score test it differs
    # from ``se`` (taken at the bound), and an equivalent candidate's pass rate spreads by it.
    se_equal: float = math.nan
    # The evidence is below what the construction needs to hold its level (too few rows,
    # positives, informative pairs): the gate says inconclusive, never pass; ``detail`` says why.
    insufficient: bool = False


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test of equal accuracy with Newcombe's interval for the accuracy difference.

    ``b`` counts rows the candidate gets right and production gets wrong, ``c`` the reverse, so
    ``estimate = (b - c) / n`` is accuracy(candidate) − accuracy(production). ``statistic`` is the
    chi-square statistic for the asymptotic methods and ``min(b, c)`` for ``exact``/``midp``
    (the statsmodels convention).
    """

    b: int
    c: int
    n: int
    statistic: float
    pvalue: float
    estimate: float
    confidence_interval: ConfidenceInterval
    confidence_level: float
    method: str


@dataclass(frozen=True)
class DeLongResult:
    """DeLong's comparison of two correlated ROC AUCs (``estimate`` = candidate − production)."""

    auc_candidate: float
    auc_production: float
    estimate: float
    se: float
    statistic: float
    pvalue: float
    confidence_interval: ConfidenceInterval
    confidence_level: float
    alternative: str
    n_positive: int
    n_negative: int
    # Rows that carry information about the AUCs: positives that some negative outranks, and
    # negatives that outrank some positive, for either model. Near AUC 1 they are few, and
    # DeLong's normal approximation then rejects far more often than it says.
    informative_positive: int = 0
    informative_negative: int = 0


@dataclass(frozen=True, eq=False)
class HolmResult:
    """Holm's step-down adjustment: adjusted p-values (monotone, capped at 1) and rejections."""

    pvalues: np.ndarray
    reject: np.ndarray
    alpha: float


@dataclass(frozen=True)
class LossRowTests:
    """Row-level checks of the per-row loss differences, reported beside the paired t.

    They never decide a gate (they need the rows in memory, which the streaming engines do not
    have). ``method`` says how the interval was built: ``"row-bootstrap-percentile"`` when
    ``n * n_resamples`` fits the work budget, ``"normal"`` beyond it.
    """

    estimate: float
    confidence_interval: ConfidenceInterval
    confidence_level: float
    wilcoxon_pvalue: float
    method: str
    n: int
    n_resamples: int
