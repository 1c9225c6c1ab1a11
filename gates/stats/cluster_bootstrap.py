"""Cluster bootstrap of a confusion-matrix metric difference over per-group joint cells.

When rows come in groups the group is the unit to resample (Davison & Hinkley 1997,
*Bootstrap Methods and their Application*, §3.8; Field & Welsh 2007, JRSS B 69:369): draw G
groups with replacement and recompute Δ on the union of their cells.

Cost grows with distinct group patterns, not rows
-------------------------------------------------
Two groups with the same per-group cell-count vector are interchangeable: a resample only
needs to know how many times each *pattern* was drawn. With P distinct patterns, m_j groups
of pattern j, drawing G groups uniformly with replacement makes the pattern counts
Multinomial(G, m/G) — exactly, not approximately. So one resample is one multinomial draw over
the patterns, and its cell counts are those draws times the (P, C) pattern matrix (C = cells
seen). With one row per group the patterns are the cells themselves and the draw is *the same
call with the same arguments* as :func:`gates.stats.bootstrap.bootstrap_cells` makes, so with
the same seed the two distributions are equal bit for bit.

A multinomial over P categories costs about 80 ns per category; drawing G group indices and
counting their patterns costs about 20 ns per group. Each resample uses the cheaper of the two
(they have the same law; the choice depends on P and G only, so a seed still fixes the result).
Resamples are drawn in batches of at most ``_BATCH_ELEMENTS`` numbers, so memory stays bounded
however many patterns there are. When distinct patterns are in the millions, time grows as
B × min(80 ns × P, 20 ns × G): :func:`resampling_work` gives that estimate, and
:func:`gates.stats.grouped_compare.compare_confusion_grouped` decides by the linearised
cluster-robust test instead when it exceeds ``MAX_RESAMPLING_WORK`` (about two minutes) — with
a million distinct patterns there are at least a million groups, where the normal
approximation the bootstrap would refine is already accurate.

The percentile interval and its matched p-value are those of the cell bootstrap (see
:mod:`gates.stats.bootstrap`); BCa's acceleration comes from the jackknife over *groups*, one
evaluation per pattern weighted by its multiplicity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import ndtr, ndtri

from ._validation import alpha_of, check_choice, check_confidence_level, check_positive_int
from .bootstrap import INTERVALS, MAX_UNDEFINED_SHARE, BootstrapResult, make_rng, order_index, resolve_positive
from .confusion import AVERAGES, CONFUSION_METRICS, confusion_metric
from .group_cells import GroupCells
from .results import NAN_INTERVAL, ConfidenceInterval

_BATCH_ELEMENTS = 2_000_000  # numbers per batch (resamples × max(patterns, cells)), as the cell bootstrap
_MULTINOMIAL_NS = 80  # measured cost per category of one multinomial draw
_INDEX_NS = 20  # measured cost per group of drawing group indices and counting their patterns
MAX_RESAMPLING_WORK = 120e9  # ns (about two minutes): beyond it the comparison is linearised
_GRAD_STEP = 1e-7


@dataclass(frozen=True)
class Patterns:
    """The distinct per-group cell-count vectors over the cells seen.

    ``patterns[j]`` (over the flat cell indices ``support``) occurs in ``multiplicity[j]``
    groups; ``of_group[g]`` is group g's pattern. Ordered so that with one row per group the
    patterns are the unit vectors of the cells in ascending cell order (the cell bootstrap's
    order)."""

    support: np.ndarray  # (C,) flat indices into the K³ cells
    patterns: np.ndarray  # (P, C) int64
    multiplicity: np.ndarray  # (P,) int64
    of_group: np.ndarray  # (G,) intp
    groups: int
    rows: int

    @property
    def identity(self) -> bool:
        """Every group one row: the patterns are the cells."""
        return self.groups == self.rows


def group_patterns(group_cells: GroupCells) -> Patterns:
    """Collapse groups with identical cell-count vectors (see the module docstring)."""
    g = group_cells.groups
    flat = group_cells.counts.reshape(g, -1)
    support = np.flatnonzero(flat.any(axis=0)) if g else np.zeros(0, np.intp)
    sub = flat[:, support]
    radix = sub.max(axis=0).astype(np.float64) + 1.0 if g else np.ones(0)
    if g and float(np.prod(radix)) < 2.0**62:
        # one integer key per group, the last cell most significant: sorted keys are the
        # lexicographic order with the last column primary (unit vectors in cell order)
        weights = np.concatenate([[1], np.cumprod(radix[:-1].astype(np.int64))]).astype(np.int64)
        keys = sub @ weights
        _, first, of_group, mult = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
        patterns = sub[first]
    else:
        patterns, of_group, mult = np.unique(sub, axis=0, return_inverse=True, return_counts=True)
        order = np.lexsort(patterns.T) if patterns.size else np.arange(patterns.shape[0])  # last column primary
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        patterns, mult, of_group = patterns[order], mult[order], rank[of_group.reshape(-1)]
    return Patterns(support=support, patterns=patterns.astype(np.int64), multiplicity=mult.astype(np.int64),
                    of_group=of_group.reshape(-1).astype(np.intp), groups=g, rows=int(sub.sum()))


def resampling_work(plan: Patterns, n_resamples: int) -> float:
    """Estimated nanoseconds of drawing ``n_resamples`` resamples (module docstring)."""
    per_draw = _MULTINOMIAL_NS * plan.patterns.shape[0]
    if not plan.identity:
        per_draw = min(per_draw, _INDEX_NS * plan.groups)
    return float(n_resamples) * per_draw


def bootstrap_group_cells(
    group_cells: GroupCells,
    metric: str,
    *,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    seed=0,
    pos_label=None,
    average: str = "binary",
    interval: str = "percentile",
) -> BootstrapResult:
    """The cluster bootstrap of Δ = metric(candidate) − metric(production), resampling groups.

    Returns the cell bootstrap's :class:`BootstrapResult` (interval, matched ``pvalue``, the
    resampled distribution); ``method`` is ``"cluster-bootstrap-<interval>"``, or
    ``"paired-bootstrap-<interval>"`` when every group is one row (then it *is* the cell
    bootstrap, draw for draw). Fewer than two groups of several rows cannot be resampled: the
    result is undefined."""
    if not isinstance(group_cells, GroupCells):
        raise ValueError(f"group_cells must be a GroupCells; got {type(group_cells).__name__}")
    check_choice("metric", metric, CONFUSION_METRICS)
    check_choice("average", average, AVERAGES)
    check_choice("interval", interval, INTERVALS)
    n_resamples = check_positive_int("n_resamples", n_resamples)
    confidence_level = check_confidence_level(confidence_level)
    rng = make_rng(seed)
    total, pos_index = resolve_positive(group_cells.total, metric, average, pos_label)
    group_cells = group_cells.aligned(total.labels)

    def metric_of(cm):
        return confusion_metric(cm, metric, pos_index=pos_index, average=average)

    n = total.n
    single = group_cells.groups == n
    method = f"{'paired' if single else 'cluster'}-bootstrap-{interval}"
    cand = metric_of(total.confusion("candidate")) if n else math.nan
    prod = metric_of(total.confusion("production")) if n else math.nan
    estimate = cand - prod
    common = dict(confidence_level=confidence_level, method=method, n_resamples=n_resamples, candidate=cand,
                  production=prod, n=n)
    if n == 0 or math.isnan(estimate) or (not single and group_cells.groups < 2):
        which = [w for w, v in (("candidate", cand), ("production", prod)) if math.isnan(v)]
        detail = ("no rows" if n == 0 else
                  f"{metric} is undefined for the {' and the '.join(which)} on these rows (zero division)" if which
                  else "a cluster bootstrap needs at least 2 groups; all rows are in one")
        return BootstrapResult(estimate=estimate, confidence_interval=NAN_INTERVAL, undefined_resamples=0,
                               distribution=np.empty(0), undefined=True, detail=detail, **common)
    plan = group_patterns(group_cells)
    k = len(total.labels)
    dist = _resample_deltas(plan, k, metric_of, n_resamples, rng)
    defined = np.sort(dist[np.isfinite(dist)])
    n_undefined = n_resamples - defined.size
    if n_undefined > MAX_UNDEFINED_SHARE * n_resamples:
        return BootstrapResult(
            estimate=estimate, confidence_interval=NAN_INTERVAL, undefined_resamples=n_undefined,
            distribution=dist, undefined=True,
            detail=(f"{metric} is undefined in {n_undefined} of {n_resamples} resamples "
                    f"(more than {MAX_UNDEFINED_SHARE:.0%})"),
            **common)
    alpha = alpha_of(confidence_level)
    z0 = a = 0.0
    if interval == "bca":
        share_below = (np.searchsorted(defined, estimate, "left")
                       + np.searchsorted(defined, estimate, "right")) / (2.0 * defined.size)
        share_below = min(max(share_below, 0.5 / defined.size), 1 - 0.5 / defined.size)
        z0 = float(ndtri(share_below))
        a = _jackknife_acceleration(plan, k, metric_of)
        low_level, high_level = _bca_level(alpha, z0, a), _bca_level(alpha, -z0, -a)
    else:
        low_level = high_level = alpha
    b = defined.size
    low = defined[order_index(low_level, b) - 1]
    high = defined[b - order_index(high_level, b)]
    return BootstrapResult(estimate=estimate, confidence_interval=ConfidenceInterval(float(low), float(high)),
                           undefined_resamples=n_undefined, distribution=dist, bias_correction=z0, acceleration=a,
                           **common)


def _bca_level(alpha: float, z0: float, a: float) -> float:
    """Efron's adjusted lower-tail level (the formula of :mod:`gates.stats.bootstrap`, whose
    ``bootstrap_pvalue`` inverts it, so the interval and the p-value agree)."""
    w = z0 + ndtri(alpha)
    den = 1.0 - a * w
    if den <= 0:
        return 1.0
    return float(ndtr(z0 + w / den))


def _margin_maps(k: int, support: np.ndarray):
    """(C, K²) 0/1 matrices summing support cells into each model's confusion matrix."""
    y, rest = np.divmod(support, k * k)
    c, p = np.divmod(rest, k)
    out = []
    for idx in (y * k + c, y * k + p):
        out.append(sparse.csr_matrix((np.ones(support.size), (np.arange(support.size), idx)),
                                     shape=(support.size, k * k)))
    return out


def _confusions(cells: np.ndarray, margin, k: int) -> np.ndarray:
    """Sum (B, C) cell counts into (B, K, K) confusion matrices (exact: integer-valued floats)."""
    return np.asarray(margin.T @ cells.T).T.reshape(cells.shape[0], k, k)


def _resample_deltas(plan: Patterns, k: int, metric_of, n_resamples: int, rng) -> np.ndarray:
    n_pat, n_cells = plan.patterns.shape
    g = plan.groups
    # one row per group: always the cell bootstrap's own multinomial call (same draws)
    by_index = not plan.identity and _INDEX_NS * g < _MULTINOMIAL_NS * n_pat
    shares = plan.multiplicity / g
    margin_c, margin_p = _margin_maps(k, plan.support)
    pattern_matrix = None if plan.identity else sparse.csr_matrix(plan.patterns.astype(np.float64))
    width = max(g if by_index else n_pat, n_cells, k * k)
    batch = max(1, min(n_resamples, _BATCH_ELEMENTS // width))
    out = np.empty(n_resamples)
    for start in range(0, n_resamples, batch):
        size = min(batch, n_resamples - start)
        if by_index:  # G uniform group draws, counted by pattern: the same Multinomial(G, m/G)
            picks = plan.of_group[rng.integers(0, g, size=(size, g))]
            picks += (np.arange(size) * n_pat)[:, None]
            draws = np.bincount(picks.ravel(), minlength=size * n_pat).reshape(size, n_pat)
        else:
            draws = rng.multinomial(g, np.broadcast_to(shares, (size, n_pat)))
        draws = draws.astype(np.float64)
        cells = draws if pattern_matrix is None else np.asarray((pattern_matrix.T @ draws.T).T)
        with np.errstate(invalid="ignore"):
            out[start : start + size] = (metric_of(_confusions(cells, margin_c, k))
                                         - metric_of(_confusions(cells, margin_p, k)))
    return out


def _jackknife_acceleration(plan: Patterns, k: int, metric_of) -> float:
    """Efron's acceleration from the leave-one-group-out jackknife: groups of one pattern give
    the same value, so it is one evaluation per pattern weighted by its multiplicity (with one
    row per group, exactly the cell bootstrap's leave-one-row-out jackknife)."""
    margin_c, margin_p = _margin_maps(k, plan.support)
    whole = plan.patterns.T @ plan.multiplicity  # (C,) cell counts of all rows
    n_pat = plan.patterns.shape[0]
    theta = np.empty(n_pat)
    batch = max(1, _BATCH_ELEMENTS // max(plan.support.size, k * k))
    for start in range(0, n_pat, batch):
        loo = (whole[None, :] - plan.patterns[start : start + batch]).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            theta[start : start + batch] = (metric_of(_confusions(loo, margin_c, k))
                                            - metric_of(_confusions(loo, margin_p, k)))
    ok = np.isfinite(theta)
    if not ok.any():
        return 0.0
    w, t = plan.multiplicity[ok].astype(np.float64), theta[ok]
    u = np.dot(w, t) / w.sum() - t
    den = 6.0 * np.dot(w, u**2) ** 1.5
    return float(np.dot(w, u**3) / den) if den > 0 else 0.0


def linearised_variances(plan: Patterns, k: int, metric_of) -> tuple[float, float]:
    """(cluster-robust, row-iid) variances of Δ̂ from its linearisation (the delta method).

    Δ is a smooth function of the cell shares, so Δ̂ − Δ ≈ Σ_rows ψ(cell)/N with ψ its gradient
    (centred); the clustered variance sums ψ within each group first:
    G/(G − 1) · Σ_g (Σ_{i∈g} ψ_i)² / N², the iid one N/(N − 1) · Σ_i ψ_i² / N². Their ratio is
    the design effect (Kish 1965, *Survey Sampling*); with one row per group it is exactly 1.
    The gradient is a central difference on each model's confusion matrix (the metrics are
    ratios of counts, so shares and counts give the same function). NaN when undefined."""
    g, n = plan.groups, plan.rows
    if g < 2 or n < 2:
        return math.nan, math.nan
    whole = (plan.patterns.T @ plan.multiplicity).astype(np.float64)  # (C,)
    margin_c, margin_p = _margin_maps(k, plan.support)
    share = whole / n
    grads = []
    for margin in (margin_c, margin_p):
        cm = np.asarray(margin.T @ share).reshape(k, k)
        step = np.eye(k * k).reshape(k * k, k, k) * _GRAD_STEP
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.asarray(metric_of(np.concatenate([cm + step, cm - step])), float)
        grad = (values[: k * k] - values[k * k :]) / (2 * _GRAD_STEP)
        grads.append(np.where(np.isfinite(grad), grad, 0.0))
    psi = np.asarray(margin_c @ grads[0]) - np.asarray(margin_p @ grads[1])  # (C,) per cell
    psi = psi - float(share @ psi)
    per_pattern = plan.patterns @ psi
    var_cluster = g / (g - 1) * float(plan.multiplicity @ per_pattern**2) / n**2
    var_iid = n / (n - 1) * float(whole @ psi**2) / n**2
    return var_cluster, var_iid
