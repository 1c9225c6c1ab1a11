"""McNemar's test for clustered matched pairs: Durkalski, Obuchowski, and Yang's modification.

Per group g: b_g rows the candidate gets right and production wrong, c_g the reverse, n_g rows.
Ignoring the groups, McNemar's (b − c)²/(b + c) treats correlated rows as independent and
rejects too often. The three corrections compared by Yang, Sun & Hardin (2010, "A note on the
tests for clustered matched-pair binary data", Biometrical Journal 52:638–652), each χ²₁:

* ``durkalski`` — Durkalski, Palesch, Lipsitz & Rust (2003, Statistics in Medicine 22:2417):
  X² = (Σ_g (b_g − c_g)/n_g)² / Σ_g ((b_g − c_g)/n_g)². With one row per group it *is*
  McNemar's (b − c)²/(b + c) (each term is ±1 or 0).
* ``obuchowski`` — Obuchowski (1998, "On the comparison of correlated proportions for
  clustered data", Statistics in Medicine 17:1495), the ratio estimator's Wald test with its
  variance taken under H0, in Yang et al.'s form: X² = ((G − 1)/G) (Σ(b_g − c_g))² /
  Σ(b_g − c_g)². Yang et al. find it the most conservative of the three.
* ``yang`` — Yang et al.'s modified Obuchowski test, whose variance averages the centred and
  the null forms: X² = ((G − 1)/G) (Σ(b_g − c_g))² / (½ Σ[((b_g − c_g) − n_g(p̂_b − p̂_c))² +
  (b_g − c_g)²]), p̂_b = Σb/N, p̂_c = Σc/N.

``auto`` follows Yang et al.'s recommendation from their simulations: with equal group sizes
the modified Obuchowski test (``yang``) always; with varying sizes Durkalski's below 50 groups
and the modified Obuchowski test from 50 groups on. With one row per group the data are not
clustered and ``auto`` is the ungrouped mid-p McNemar test (the beside-accuracy default).

The estimate is the accuracy difference (Σb − Σc)/N, and its interval the Wald interval with
Obuchowski's (1998) cluster-robust variance G/(G − 1) · Σ(b_g − c_g − n_g Δ̂)²/N², clipped to
[−1, 1]. Reported beside accuracy gates; never decides.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ._validation import as_1d, check_choice, check_confidence_level, check_same_length
from .group_cells import GroupCells, group_codes
from .mcnemar import METHODS, mcnemar, mcnemar_from_counts
from .results import ConfidenceInterval, McNemarResult

CLUSTERED_METHODS = ("auto", "durkalski", "obuchowski", "yang")
DURKALSKI_BELOW = 50  # Yang et al. (2010): with varying group sizes, Durkalski's test below 50 groups


def mcnemar_from_group_cells(group_cells: GroupCells, *, method: str = "auto",
                             confidence_level: float = 0.95) -> McNemarResult:
    """The clustered McNemar test from per-group joint cells (the engines' entry point)."""
    if not isinstance(group_cells, GroupCells):
        raise ValueError(f"group_cells must be a GroupCells; got {type(group_cells).__name__}")
    check_choice("method", method, CLUSTERED_METHODS)
    confidence_level = check_confidence_level(confidence_level)
    k = len(group_cells.labels)
    eye = np.eye(k, dtype=bool)
    cand_right = np.broadcast_to(eye[:, :, None], (k, k, k))
    prod_right = np.broadcast_to(eye[:, None, :], (k, k, k))
    flat = group_cells.counts.reshape(group_cells.groups, -1)
    b = flat @ (cand_right & ~prod_right).reshape(-1).astype(np.int64)
    c = flat @ (~cand_right & prod_right).reshape(-1).astype(np.int64)
    both = int(flat.sum(axis=0) @ (cand_right & prod_right).reshape(-1).astype(np.int64))
    return clustered_mcnemar(b, c, group_cells.sizes, both_right=both, method=method,
                             confidence_level=confidence_level)


def mcnemar_grouped(y_true, pred_candidate, pred_production, groups, *, method: str = "midp",
                    confidence_level: float = 0.95) -> McNemarResult:
    """:func:`gates.stats.mcnemar.mcnemar` with ``groups`` (one label per row).

    ``method`` is one of the clustered forms (``auto``, ``durkalski``, ``obuchowski``,
    ``yang``) or one of the ungrouped methods; an ungrouped method applies as such when every
    group is one row (the result is then exactly the ungrouped one) and means ``auto``
    otherwise."""
    y = as_1d("y_true", y_true)
    cand = as_1d("pred_candidate", pred_candidate)
    prod = as_1d("pred_production", pred_production)
    _, codes = group_codes(groups)
    check_same_length(y_true=y, pred_candidate=cand, pred_production=prod, groups=codes)
    check_choice("method", method, METHODS + CLUSTERED_METHODS)
    confidence_level = check_confidence_level(confidence_level)
    if len(y) == 0:
        raise ValueError("y_true must hold at least one row; got 0")
    n_groups = int(codes.max()) + 1
    if method in METHODS:
        if n_groups == len(y):
            return mcnemar(y, cand, prod, method=method, confidence_level=confidence_level)
        method = "auto"
    right_c, right_p = cand == y, prod == y
    b = np.bincount(codes, weights=right_c & ~right_p, minlength=n_groups).astype(np.int64)
    c = np.bincount(codes, weights=~right_c & right_p, minlength=n_groups).astype(np.int64)
    sizes = np.bincount(codes, minlength=n_groups)
    return clustered_mcnemar(b, c, sizes, both_right=int(np.count_nonzero(right_c & right_p)), method=method,
                             confidence_level=confidence_level)


def clustered_mcnemar(b, c, sizes, *, both_right: int, method: str = "auto",
                      confidence_level: float = 0.95) -> McNemarResult:
    """The clustered test from per-group ``b``, ``c`` and row counts ``sizes`` (module docstring)."""
    b, c, sizes = (np.asarray(x, dtype=np.int64).reshape(-1) for x in (b, c, sizes))
    check_choice("method", method, CLUSTERED_METHODS)
    confidence_level = check_confidence_level(confidence_level)
    if not b.size == c.size == sizes.size:
        raise ValueError(f"b, c and sizes must have one value per group; got {b.size}, {c.size}, {sizes.size}")
    if np.any(sizes < 1) or np.any(b < 0) or np.any(c < 0) or np.any(b + c > sizes):
        raise ValueError("each group needs sizes ≥ 1 and 0 ≤ b, c with b + c ≤ sizes")
    g, n = int(sizes.size), int(sizes.sum())
    if method == "auto" and g == n:  # not clustered: McNemar's own mid-p test
        return mcnemar_from_counts(both_right, int(b.sum()), int(c.sum()), n, method="midp",
                                   confidence_level=confidence_level)
    if g < 2:
        raise ValueError(f"a clustered McNemar test needs at least 2 groups; got {g}")
    if method == "auto":
        equal = bool(np.all(sizes == sizes[0]))
        method = "yang" if equal or g >= DURKALSKI_BELOW else "durkalski"
    d = (b - c).astype(np.float64)
    if method == "durkalski":
        ratio = d / sizes
        num, den = float(ratio.sum()) ** 2, float(ratio @ ratio)
    elif method == "obuchowski":
        num, den = (g - 1) / g * float(d.sum()) ** 2, float(d @ d)
    else:
        shift = sizes * (float(b.sum()) - float(c.sum())) / n
        num = (g - 1) / g * float(d.sum()) ** 2
        den = 0.5 * float(((d - shift) ** 2).sum() + d @ d)
    statistic = num / den if den > 0 else 0.0  # den = 0: every group has b_g = c_g, no evidence
    pvalue = float(stats.chi2.sf(statistic, 1)) if statistic > 0 else 1.0
    estimate = (float(b.sum()) - float(c.sum())) / n
    resid = d - sizes * estimate
    se = math.sqrt(g / (g - 1) * float(resid @ resid)) / n
    z = float(stats.norm.isf((1.0 - confidence_level) / 2.0))
    ci = ConfidenceInterval(max(-1.0, estimate - z * se), min(1.0, estimate + z * se))
    return McNemarResult(b=int(b.sum()), c=int(c.sum()), n=n, statistic=float(statistic), pvalue=pvalue,
                         estimate=estimate, confidence_interval=ci, confidence_level=confidence_level,
                         method=method)
