"""McNemar's test of equal accuracy, with Newcombe's interval for the accuracy difference.

Only the discordant rows carry information about a difference in accuracy: ``b`` rows the
candidate gets right and production gets wrong, ``c`` rows the reverse. It is reported beside
accuracy gates as the classical equality test; the bootstrap decides.

Methods (Fagerland, Lydersen & Laake 2013, BMC Med Res Methodol 13:91):

* ``midp`` — the exact conditional p-value minus the probability of the observed table:
  2·P(X ≤ min(b, c)) − P(X = min(b, c)) with X ~ Bin(b + c, ½). Fagerland et al. show it keeps
  the nominal level in practice while the exact test is very conservative; hence the default.
* ``exact`` — min(1, 2·P(X ≤ min(b, c))).
* ``asymptotic`` — (b − c)² / (b + c) against χ²₁.
* ``asymptotic_cc`` — Edwards' continuity correction, max(|b − c| − 1, 0)² / (b + c). (statsmodels
  uses (|b − c| − 1)² even when b = c, which gives p < 1 for equal counts; the clipped form gives
  p = 1 there and agrees everywhere else.)

With b + c = 0 there is no evidence of a difference: p = 1 and the statistic is 0.

The interval is Newcombe's (1998, Stat Med 17:2635, method 10, "square-and-add"): it combines
the Wilson score intervals of the two paired accuracies with the phi correlation of the 2×2
table of correct/incorrect (reduced by n/2 when positive, as Newcombe specifies). Unlike the
Wald interval it stays inside [−1, 1] and keeps its coverage for small or extreme counts.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ._validation import (
    as_1d,
    check_choice,
    check_confidence_level,
    check_same_length,
)
from .cells import JointCells
from .results import ConfidenceInterval, McNemarResult

METHODS = ("midp", "exact", "asymptotic", "asymptotic_cc")


def mcnemar(
    y_true,
    pred_candidate,
    pred_production,
    *,
    method: str = "midp",
    confidence_level: float = 0.95,
    groups=None,
) -> McNemarResult:
    """McNemar's test on the rows; a thin wrapper over :func:`mcnemar_from_cells`.

    ``groups`` (one label per row) makes the groups the independent unit: the clustered forms
    of :mod:`gates.stats.cluster_mcnemar` (``method`` may then also be ``auto``,
    ``durkalski``, ``obuchowski`` or ``yang``; an ungrouped method means ``auto`` unless every
    group is one row, when the result is this function's without groups)."""
    if groups is not None:
        from .cluster_mcnemar import mcnemar_grouped  # it imports this module

        return mcnemar_grouped(y_true, pred_candidate, pred_production, groups, method=method,
                               confidence_level=confidence_level)
    y = as_1d("y_true", y_true)
    c = as_1d("pred_candidate", pred_candidate)
    p = as_1d("pred_production", pred_production)
    check_same_length(y_true=y, pred_candidate=c, pred_production=p)
    check_choice("method", method, METHODS)
    check_confidence_level(confidence_level)
    if len(y) == 0:
        raise ValueError("y_true must hold at least one row; got 0")
    both_right = (c == y) & (p == y)
    cand_only = (c == y) & (p != y)
    prod_only = (c != y) & (p == y)
    return mcnemar_from_counts(
        int(both_right.sum()),
        int(cand_only.sum()),
        int(prod_only.sum()),
        len(y),
        method=method,
        confidence_level=confidence_level,
    )


def mcnemar_from_cells(
    cells: JointCells, *, method: str = "midp", confidence_level: float = 0.95
) -> McNemarResult:
    """McNemar's test from the joint cells (the streaming and Dask engines' entry point)."""
    if not isinstance(cells, JointCells):
        raise ValueError(f"cells must be a JointCells; got {type(cells).__name__}")
    check_choice("method", method, METHODS)
    check_confidence_level(confidence_level)
    if cells.n == 0:
        raise ValueError("cells must hold at least one row; got n=0")
    k = len(cells.labels)
    eye = np.eye(k, dtype=bool)
    cand_right = eye[:, :, None]  # (y, ŷc, ·): ŷc == y
    prod_right = eye[:, None, :]  # (y, ·, ŷp): ŷp == y
    counts = cells.counts
    return mcnemar_from_counts(
        int(counts[cand_right & prod_right].sum()),
        int(counts[cand_right & ~prod_right].sum()),
        int(counts[~cand_right & prod_right].sum()),
        cells.n,
        method=method,
        confidence_level=confidence_level,
    )


def mcnemar_from_counts(
    both_right: int, b: int, c: int, n: int, *, method: str = "midp", confidence_level: float = 0.95
) -> McNemarResult:
    """McNemar's test from the 2×2 counts of correct/incorrect (``n`` is the total)."""
    check_choice("method", method, METHODS)
    confidence_level = check_confidence_level(confidence_level)
    for name, value in (("both_right", both_right), ("b", b), ("c", c)):
        if value < 0:
            raise ValueError(f"{name} must be non-negative; got {value}")
    if n < both_right + b + c or n < 1:
        raise ValueError(f"n must be at least both_right + b + c and ≥ 1; got n={n}")
    statistic, pvalue = _test(b, c, method)
    low, high = newcombe_interval(both_right, b, c, n - both_right - b - c, confidence_level)
    return McNemarResult(
        b=b,
        c=c,
        n=n,
        statistic=statistic,
        pvalue=pvalue,
        estimate=(b - c) / n,
        confidence_interval=ConfidenceInterval(low, high),
        confidence_level=confidence_level,
        method=method,
    )


def _test(b: int, c: int, method: str):
    m = b + c
    if m == 0:
        return 0.0, 1.0
    if method in ("exact", "midp"):
        k = min(b, c)
        tail = stats.binom.cdf(k, m, 0.5)
        if method == "exact":
            return float(k), float(min(1.0, 2.0 * tail))
        return float(k), float(min(1.0, 2.0 * tail - stats.binom.pmf(k, m, 0.5)))
    diff = abs(b - c)
    if method == "asymptotic_cc":
        diff = max(diff - 1, 0)
    statistic = diff * diff / m
    return float(statistic), float(stats.chi2.sf(statistic, 1))


def _wilson(successes: int, n: int, z: float):
    p = successes / n
    centre = (2 * n * p + z * z) / (2 * (n + z * z))
    half = z * math.sqrt(z * z + 4 * n * p * (1 - p)) / (2 * (n + z * z))
    return centre - half, centre + half


def newcombe_interval(a: int, b: int, c: int, d: int, confidence_level: float):
    """Newcombe's method 10 interval for p₁ − p₂ = (b − c)/n of a paired 2×2 table.

    ``a``: both right, ``b``: candidate only, ``c``: production only, ``d``: both wrong.
    """
    a, b, c, d = int(a), int(b), int(c), int(d)  # Python ints: the products overflow int64
    n = a + b + c + d
    z = float(stats.norm.isf((1 - confidence_level) / 2))
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = _wilson(a + b, n, z)
    l2, u2 = _wilson(a + c, n, z)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    # Newcombe's phi, corrected towards 0 by n/2 when positive (as in his method 10 and in
    # Fagerland, Lydersen & Laake's implementation); 0 when a margin is empty.
    cross = a * d - b * c
    if margins == 0 or 0 <= cross <= n / 2:
        phi = 0.0
    else:
        phi = (cross - n / 2 if cross > 0 else cross) / math.sqrt(margins)
    theta = p1 - p2
    dl = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    du = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    return (
        float(max(-1.0, theta - math.sqrt(max(dl, 0.0)))),
        float(min(1.0, theta + math.sqrt(max(du, 0.0)))),
    )
