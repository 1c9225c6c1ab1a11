"""Paired bootstrap of a confusion-matrix metric difference over the joint cells.

Resampling n rows with replacement only changes how many rows fall in each of the K³ cells of
(y, ŷ_candidate, ŷ_production), and those counts follow Multinomial(n, observed shares). So one
resample is one multinomial draw over the (non-empty) cells and both confusion matrices are its
margins: the cost depends on K and the number of resamples, never on the number of rows, and
the draw has exactly the law of scipy's row bootstrap.

Percentile interval and matched p-value
---------------------------------------
With B defined resamples sorted as Δ*(1) ≤ … ≤ Δ*(B) and α = (1 − confidence_level) / 2, let
k be the smallest integer with k / B ≥ α. The interval is ``(Δ*(k), Δ*(B + 1 − k))``, and the
one-sided p-values are the shares ``#{Δ* ≤ null} / B`` ("greater") and ``#{Δ* ≥ null} / B``
("less"). Then ``low > null`` ⟺ fewer than k resamples lie at or below ``null`` ⟺ ``p < α``,
exactly (the same float division decides both), so the interval and the p-value can never
contradict each other. The two-sided p-value is twice the smaller one-sided share, capped at 1.

BCa
---
``interval="bca"`` moves the two order statistics to Efron's levels
α₁ = Φ(z₀ + (z₀ + z_α)/(1 − a(z₀ + z_α))). The bias correction z₀ uses the mid-rank share of
resamples below the estimate (the statistics are discrete, so ties at the estimate are common),
and the acceleration a comes from the jackknife over *cells*: leaving out any one row of a cell
gives the same value, so the n-row jackknife is K³ evaluations weighted by the cell counts. The
p-value is the share mapped through the inverse of that level function, which keeps the same
``low > null`` ⟺ ``p < α`` equivalence.
"""

from __future__ import annotations

import math
import numbers

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr, ndtri

from ._validation import (
    alpha_of,
    as_1d,
    check_alternative,
    check_choice,
    check_confidence_level,
    check_positive_int,
    check_same_length,
)
from .cells import JointCells
from .confusion import AVERAGED_METRICS, AVERAGES, CONFUSION_METRICS, confusion_metric
from .results import NAN_INTERVAL, ConfidenceInterval

INTERVALS = ("percentile", "bca")
MAX_UNDEFINED_SHARE = 0.01  # above this share of undefined resamples the result is undefined
_BATCH_ELEMENTS = 2_000_000  # bounds the per-batch arrays (resamples × cells)


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Paired bootstrap of Δ = metric(candidate) − metric(production) over the joint cells.

    ``distribution`` keeps every resampled Δ (NaN where the metric was undefined for either
    model), like scipy's ``BootstrapResult.bootstrap_distribution``. ``undefined`` is True when
    the point estimate is undefined or more than 1 % of the resamples are; then the interval is
    NaN and ``detail`` says why. ``pvalue(null, alternative)`` gives the p-value matched to the
    interval (see :func:`gates.stats.bootstrap.percentile_rank`).
    """

    estimate: float
    confidence_interval: ConfidenceInterval
    confidence_level: float
    method: str
    n_resamples: int
    undefined_resamples: int
    distribution: np.ndarray = field(repr=False)
    candidate: float
    production: float
    n: int
    undefined: bool = False
    detail: str = ""
    bias_correction: float = 0.0  # BCa z0 (0 for the percentile interval)
    acceleration: float = 0.0  # BCa a (0 for the percentile interval)

    def pvalue(self, null: float = 0.0, alternative: str = "greater") -> float:
        """One-sided (or two-sided) bootstrap p-value of H0 at ``null``, matched to the interval."""
        return bootstrap_pvalue(self, null, alternative)


def paired_bootstrap(
    y_true,
    pred_candidate,
    pred_production,
    *,
    metric: str,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    seed=0,
    pos_label=None,
    average: str = "binary",
    interval: str = "percentile",
    groups=None,
) -> BootstrapResult:
    """Paired bootstrap interval for metric(candidate) − metric(production) on the same rows.

    A thin wrapper: counts the rows into :class:`JointCells` and calls
    :func:`bootstrap_cells`. See the module docstring for the interval and p-value definitions.
    ``groups`` (one label per row) makes the groups the resampled unit: the cluster bootstrap
    of :mod:`gates.stats.cluster_bootstrap`, which with one row per group draws exactly what
    this one draws (same seed, same distribution).
    """
    y = as_1d("y_true", y_true)
    c = as_1d("pred_candidate", pred_candidate)
    p = as_1d("pred_production", pred_production)
    check_same_length(y_true=y, pred_candidate=c, pred_production=p)
    if len(y) == 0:
        raise ValueError("y_true must hold at least one row; got 0")
    if groups is not None:
        from .cluster_bootstrap import bootstrap_group_cells  # it imports this module
        from .group_cells import GroupCells

        return bootstrap_group_cells(
            GroupCells.from_arrays(y, c, p, groups), metric, n_resamples=n_resamples,
            confidence_level=confidence_level, seed=seed, pos_label=pos_label, average=average, interval=interval,
        )
    cells = JointCells.from_arrays(y, c, p)
    return bootstrap_cells(
        cells,
        metric,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        seed=seed,
        pos_label=pos_label,
        average=average,
        interval=interval,
    )


def bootstrap_cells(
    cells: JointCells,
    metric: str,
    *,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    seed=0,
    pos_label=None,
    average: str = "binary",
    interval: str = "percentile",
) -> BootstrapResult:
    """The bootstrap on sufficient statistics; what :func:`paired_bootstrap` and the gates call."""
    if not isinstance(cells, JointCells):
        raise ValueError(f"cells must be a JointCells; got {type(cells).__name__}")
    check_choice("metric", metric, CONFUSION_METRICS)
    check_choice("average", average, AVERAGES)
    check_choice("interval", interval, INTERVALS)
    n_resamples = check_positive_int("n_resamples", n_resamples)
    confidence_level = check_confidence_level(confidence_level)
    rng = make_rng(seed)
    cells, pos_index = resolve_positive(cells, metric, average, pos_label)

    def metric_of(cm):
        return confusion_metric(cm, metric, pos_index=pos_index, average=average)

    method = f"paired-bootstrap-{interval}"
    n = cells.n
    cand = metric_of(cells.confusion("candidate")) if n else math.nan
    prod = metric_of(cells.confusion("production")) if n else math.nan
    estimate = cand - prod
    common = dict(
        confidence_level=confidence_level,
        method=method,
        n_resamples=n_resamples,
        candidate=cand,
        production=prod,
        n=n,
    )
    if n == 0 or math.isnan(estimate):
        which = [w for w, v in (("candidate", cand), ("production", prod)) if math.isnan(v)]
        detail = (
            "no rows"
            if n == 0
            else f"{metric} is undefined for the {' and the '.join(which)} on these rows "
            f"(zero division)"
        )
        return BootstrapResult(
            estimate=estimate,
            confidence_interval=NAN_INTERVAL,
            undefined_resamples=0,
            distribution=np.empty(0),
            undefined=True,
            detail=detail,
            **common,
        )

    dist = _resample_deltas(cells, metric_of, n_resamples, rng)
    defined = np.sort(dist[np.isfinite(dist)])
    n_undefined = n_resamples - defined.size
    if n_undefined > MAX_UNDEFINED_SHARE * n_resamples:
        return BootstrapResult(
            estimate=estimate,
            confidence_interval=NAN_INTERVAL,
            undefined_resamples=n_undefined,
            distribution=dist,
            undefined=True,
            detail=(
                f"{metric} is undefined in {n_undefined} of {n_resamples} resamples "
                f"(more than {MAX_UNDEFINED_SHARE:.0%})"
            ),
            **common,
        )

    alpha = alpha_of(confidence_level)
    z0 = a = 0.0
    if interval == "bca":
        share_below = (
            np.searchsorted(defined, estimate, "left") + np.searchsorted(defined, estimate, "right")
        ) / (2.0 * defined.size)
        share_below = min(max(share_below, 0.5 / defined.size), 1 - 0.5 / defined.size)
        z0 = float(ndtri(share_below))
        a = _jackknife_acceleration(cells, metric_of)
        low_level, high_level = _bca_level(alpha, z0, a), _bca_level(alpha, -z0, -a)
    else:
        low_level = high_level = alpha
    b = defined.size
    low = defined[order_index(low_level, b) - 1]
    high = defined[b - order_index(high_level, b)]
    return BootstrapResult(
        estimate=estimate,
        confidence_interval=ConfidenceInterval(float(low), float(high)),
        undefined_resamples=n_undefined,
        distribution=dist,
        bias_correction=z0,
        acceleration=a,
        **common,
    )


def bootstrap_pvalue(result: BootstrapResult, null: float, alternative: str) -> float:
    """p-value of H0 at ``null`` matched to ``result.confidence_interval`` (module docstring)."""
    check_alternative(alternative)
    if result.undefined:
        return math.nan
    d = result.distribution[np.isfinite(result.distribution)]
    share_le = np.count_nonzero(d <= null) / d.size
    share_ge = np.count_nonzero(d >= null) / d.size
    if result.method.endswith("bca"):
        z0, a = result.bias_correction, result.acceleration
        share_le, share_ge = _bca_pvalue(share_le, z0, a), _bca_pvalue(share_ge, -z0, -a)
    if alternative == "greater":
        return float(share_le)
    if alternative == "less":
        return float(share_ge)
    return float(min(1.0, 2.0 * min(share_le, share_ge)))


def resolve_positive(cells: JointCells, metric: str, average: str, pos_label):
    """Cells (aligned to include the positive label) and the positive index, when one is needed.

    Like the configuration: with ``pos_label=None`` the positive label is 1 (True) for labels
    within {0, 1}; any other binary label set needs an explicit ``pos_label``.
    """
    if not (metric in AVERAGED_METRICS and average == "binary"):
        return cells, None
    if pos_label is None:
        if all(lab in (0, 1) and not isinstance(lab, str) for lab in cells.labels):
            pos_label = 1
        else:
            raise ValueError(
                f"pos_label is required for {metric} with average='binary' and labels "
                f"{cells.labels!r}; got None"
            )
    if pos_label not in cells.labels:
        try:
            union = tuple(sorted((*cells.labels, pos_label)))
        except TypeError:
            union = (*cells.labels, pos_label)
        cells = cells.aligned(union)
    if len(cells.labels) > 2:
        raise ValueError(
            f"average='binary' needs at most 2 labels; got labels {cells.labels!r} "
            f"(use average='macro', 'micro' or 'weighted')"
        )
    return cells, cells.labels.index(pos_label)


def make_rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (
        isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0
    ):
        return np.random.default_rng(seed)
    raise ValueError(f"seed must be a non-negative integer, None or a numpy Generator; got {seed!r}")


def _margins(k: int, support: np.ndarray):
    """Flat (y, ŷ) indices of each support cell in the candidate and production matrices."""
    y, rest = np.divmod(support, k * k)
    c, p = np.divmod(rest, k)
    return y * k + c, y * k + p


def _batched_confusions(draws: np.ndarray, flat_idx: np.ndarray, k: int) -> np.ndarray:
    """Sum draws (B, m) into (B, K, K) matrices; a tiny matmul for small tables, else bincount."""
    b, m = draws.shape
    if m * k * k <= 4096:
        onehot = np.zeros((m, k * k))
        onehot[np.arange(m), flat_idx] = 1.0
        return (draws @ onehot).reshape(b, k, k)
    idx = (np.arange(b)[:, None] * (k * k) + flat_idx[None, :]).ravel()
    return np.bincount(idx, weights=draws.ravel(), minlength=b * k * k).reshape(b, k, k)


def _resample_deltas(cells: JointCells, metric_of, n_resamples: int, rng) -> np.ndarray:
    k = len(cells.labels)
    flat = cells.counts.ravel()
    support = np.flatnonzero(flat)
    probs = flat[support] / cells.n
    idx_c, idx_p = _margins(k, support)
    batch = max(1, min(n_resamples, _BATCH_ELEMENTS // max(support.size, k * k)))
    out = np.empty(n_resamples)
    for start in range(0, n_resamples, batch):
        size = min(batch, n_resamples - start)
        draws = rng.multinomial(cells.n, np.broadcast_to(probs, (size, support.size)))
        draws = draws.astype(np.float64)
        with np.errstate(invalid="ignore"):
            out[start : start + size] = metric_of(
                _batched_confusions(draws, idx_c, k)
            ) - metric_of(_batched_confusions(draws, idx_p, k))
    return out


def _jackknife_acceleration(cells: JointCells, metric_of) -> float:
    """Efron's acceleration from the leave-one-row-out jackknife, computed once per cell."""
    k = len(cells.labels)
    flat = cells.counts.ravel()
    support = np.flatnonzero(flat)
    weights = flat[support].astype(np.float64)
    idx_c, idx_p = _margins(k, support)
    theta = np.empty(support.size)
    cm_c = cells.confusion("candidate").astype(np.float64).ravel()
    cm_p = cells.confusion("production").astype(np.float64).ravel()
    batch = max(1, _BATCH_ELEMENTS // (k * k))
    for start in range(0, support.size, batch):
        sl = slice(start, start + batch)
        rows = np.arange(len(support[sl]))
        loo_c = np.repeat(cm_c[None, :], rows.size, axis=0)
        loo_p = np.repeat(cm_p[None, :], rows.size, axis=0)
        loo_c[rows, idx_c[sl]] -= 1.0
        loo_p[rows, idx_p[sl]] -= 1.0
        theta[sl] = metric_of(loo_c.reshape(-1, k, k)) - metric_of(loo_p.reshape(-1, k, k))
    ok = np.isfinite(theta)
    if not ok.any():
        return 0.0
    w, t = weights[ok], theta[ok]
    u = np.dot(w, t) / w.sum() - t
    den = 6.0 * np.dot(w, u**2) ** 1.5
    return float(np.dot(w, u**3) / den) if den > 0 else 0.0


def order_index(level: float, b: int) -> int:
    """Smallest k ≥ 1 with k / b ≥ level (the float comparison the p-value uses)."""
    if level >= 1.0:
        return b
    k = max(1, math.ceil(level * b))
    while k > 1 and (k - 1) / b >= level:
        k -= 1
    while k < b and k / b < level:
        k += 1
    return k


def _bca_level(alpha: float, z0: float, a: float) -> float:
    """Efron's adjusted lower-tail level for nominal ``alpha``."""
    w = z0 + ndtri(alpha)
    den = 1.0 - a * w
    if den <= 0:
        return 1.0
    return float(ndtr(z0 + w / den))


def _bca_pvalue(share: float, z0: float, a: float) -> float:
    """Inverse of :func:`_bca_level`: the nominal level at which the bound reaches ``null``."""
    if share <= 0.0:
        return 0.0
    if share >= 1.0:
        return 1.0
    psi = ndtri(share) - z0
    den = 1.0 + a * psi
    if den <= 0:
        return 0.0 if psi < 0 else 1.0
    return float(ndtr(psi / den - z0))
