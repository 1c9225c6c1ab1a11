"""Drift distances from two sketches, each with a bootstrap interval and a p-value against its
threshold, and Holm across features.

A feature drifts when the distance between the reference and the current window *that matters*
(the threshold) is shown, not when the two samples merely differ: with millions of rows every
difference is significant, and with a few hundred a large distance is noise. So each distance
carries a two-sided ``1 − 2·alpha`` interval and a one-sided p-value for H0: distance ≤ threshold,
and :func:`drifted` rejects with Holm across the features.

The distances are Evidently's defaults for large samples, with its thresholds (0.1 each):

- numbers: the normalised Wasserstein distance ``W1(reference, current) / max(std(reference),
  0.001)``, std the population one (``np.std``) — as Evidently's ``_wasserstein_distance_norm``
  (``evidently/legacy/calculations/stattests/wasserstein_distance_norm.py``: ``norm =
  max(np.std(reference_data), 0.001)``, ``stats.wasserstein_distance(reference, current) / norm``).
- categories: the Jensen–Shannon distance ``scipy.spatial.distance.jensenshannon`` of the two
  frequency vectors over the union of categories, natural logarithm (Evidently's
  ``jensenshannon.py`` passes ``base=None``), so it lies in [0, sqrt(ln 2) ≈ 0.833].
- PSI beside each, for reading only: ``Σ (r − c)·ln(r / c)`` over 10 reference-decile bins
  (numbers) or the categories, with Evidently's fill for empty bins (``utils.get_binned_data``:
  a zero share becomes min(non-zero share)/10⁶ when that minimum is ≤ 10⁻⁴, else 10⁻⁴).

Notes
-----
W1 from two histograms. Each sketch's bin holds its mass at its own within-bin mean (the
reference's and the window's means differ); the W1 between these two discrete distributions is
``∫|F − G|``, summed exactly over the merged atoms: within bin b, ``|D_b + first mass|·|c_b −
a_b|``, and between bins ``|D_{b+1}|·(gap)``, D the cumulative difference of the masses. When every
distinct value has a bin of its own (``numeric_edges`` on discrete data) this is W1 of the raw
data, equal to ``scipy.stats.wasserstein_distance`` up to rounding; otherwise moving each bin's
mass to its mean moves each distribution by at most ``Σ_b mass_b·width_b/2`` in W1, so
``|W1_hist − W1| ≤ Σ_b (r_b + c_b)·width_b/2`` (:func:`binning_error_bound`, normalised; the
under- and overflow bins reach to the sketches' min and max).

Bootstrap. Each histogram is resampled independently: multinomial draws of its counts (the
same law as resampling its rows), B of them, the atoms held at their within-bin means and the
normaliser at the reference's std (the threshold is a fixed number of reference sds); ``seed``
fixes the draws. The plug-in distance is biased upward (noise alone makes two samples of one
distribution differ), so the interval is the basic (reverse-percentile) bootstrap, which
corrects for the bias the bootstrap sees: ``lower = max(0, 2·d̂ − q_{1−α}(d*))``, ``upper =
max(0, 2·d̂ − q_α(d*))`` (``np.quantile``, linear). The p-value of H0: d ≤ τ is ``(1 + #{b: d*_b −
d̂ ≥ d̂ − τ}) / (B + 1)``: the basic bootstrap's law of d̂ − d is that of d* − d̂, so this counts
how often d̂ would reach its value if d were τ. Then ``lower > τ`` exactly when fewer than about
α·B of the d*_b reach 2·d̂ − τ, i.e. ``lower > τ ⇔ p < α`` up to the quantile's interpolation
and the +1s (one resample's worth, 1/B). Rows are treated as independent: traffic that is
autocorrelated (sessions, bursts) makes the interval too narrow and the alarms too frequent.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import jensenshannon

from ..stats import holm
from .sketches import CategoricalSketch, NumericSketch, require_same_edges

MIN_STD = 0.001  # Evidently's floor for the reference's std
PSI_BINS = 10  # reference deciles
BLOCK_CELLS = 250_000  # resamples × bins held at once (memory)


@dataclass(frozen=True)
class Distance:
    """One feature's drift distance, its interval and its p-value against the threshold."""

    kind: str  # "numeric" (normalised Wasserstein) | "categorical" (Jensen–Shannon distance)
    distance: float  # the point estimate
    interval: tuple[float, float]  # two-sided 1 − 2·alpha basic bootstrap interval, clipped at 0
    p_value: float  # one-sided, H0: true distance ≤ threshold (small = drift shown)
    threshold: float
    psi: float  # population stability index, for reading beside the distance
    n_reference: int  # values compared (missing ones excluded)
    n_current: int
    method: str  # human description
    resamples: int | None = None  # B; the smallest p-value is 1/(B + 1)


def numeric_distance(reference: NumericSketch, current: NumericSketch, *, threshold: float, alpha: float = 0.05,
                     resamples: int = 1000, seed: int = 0) -> Distance:
    """Normalised Wasserstein distance of two numeric sketches on the same edges (module Notes)."""
    for name, sketch in (("reference", reference), ("current", current)):
        _check_sketch(name, sketch, NumericSketch)
    require_same_edges(reference, current)
    threshold, alpha, resamples, rng = _check_options(threshold, alpha, resamples, seed)
    keep = (reference.counts + current.counts) > 0  # a bin empty in both holds no atom: exact to drop
    r, c = reference.counts[keep], current.counts[keep]
    a, b = _atoms(reference, keep), _atoms(current, keep)
    a, b = np.where(r > 0, a, b), np.where(c > 0, b, a)  # an empty side sits on the other (zero width)
    norm = max(reference.std, MIN_STD)
    w1 = _Wasserstein(a, b)
    d_hat = w1(r / reference.n, c / current.n)[0] / norm
    d_star = np.concatenate([w1(rr / reference.n, cc / current.n) / norm
                             for rr, cc in _resample_pairs(r, c, resamples, rng)])
    interval, p = _basic_bootstrap(d_hat, d_star, threshold, alpha)
    bins = reference.counts.size
    return Distance(kind="numeric", distance=float(d_hat), interval=interval, p_value=p, threshold=threshold,
                    psi=_numeric_psi(reference.counts, current.counts), n_reference=reference.n,
                    n_current=current.n, resamples=resamples,
                    method=(f"normalised Wasserstein W1/max(sd_ref, {MIN_STD:g}) on {bins} reference bins; "
                            f"basic bootstrap, {resamples} resamples (seed {seed}), rows independent"))


def categorical_distance(reference: CategoricalSketch, current: CategoricalSketch, *, threshold: float,
                         alpha: float = 0.05, resamples: int = 1000, seed: int = 0) -> Distance:
    """Jensen–Shannon distance (natural log) of two categorical sketches (module Notes)."""
    for name, sketch in (("reference", reference), ("current", current)):
        _check_sketch(name, sketch, CategoricalSketch)
    threshold, alpha, resamples, rng = _check_options(threshold, alpha, resamples, seed)
    if threshold >= math.sqrt(math.log(2)):
        raise ValueError(f"threshold must be below sqrt(ln 2) ≈ 0.8326, the largest Jensen–Shannon distance "
                         f"(natural log); got {threshold!r}")
    keys = sorted(set(reference.counts) | set(current.counts))
    r = np.array([reference.counts.get(k, 0) for k in keys], dtype=np.int64)
    c = np.array([current.counts.get(k, 0) for k in keys], dtype=np.int64)
    d_hat = float(jensenshannon(r / reference.n, c / current.n))
    d_star = np.concatenate([_js_rows(rr, cc) for rr, cc in _resample_pairs(r, c, resamples, rng)])
    interval, p = _basic_bootstrap(d_hat, d_star, threshold, alpha)
    return Distance(kind="categorical", distance=d_hat, interval=interval, p_value=p, threshold=threshold,
                    psi=_psi(r / reference.n, c / current.n), n_reference=reference.n, n_current=current.n,
                    resamples=resamples,
                    method=(f"Jensen–Shannon distance (natural log) over {len(keys)} categories; "
                            f"basic bootstrap, {resamples} resamples (seed {seed}), rows independent"))


def drifted(distances: list[Distance], alpha: float) -> list[bool]:
    """Which features drift: Holm's step-down across the features' p-values at ``alpha``.

    Refuses (ValueError) a family the bootstrap cannot resolve: Holm's first step needs a p-value
    of alpha/m, and B resamples give no p-value below 1/(B + 1), so with too few resamples no
    feature could ever drift — a watch that silently never alarms.
    """
    distances = list(distances)
    for i, d in enumerate(distances):
        if not isinstance(d, Distance):
            raise ValueError(f"distances[{i}] must be a Distance; got {type(d).__name__}")
    _check_alpha(alpha)
    if not distances:
        return []
    m = len(distances)
    known = [d.resamples for d in distances if d.resamples is not None]
    if known and 1 / (min(known) + 1) > alpha / m:
        need = max(1, math.ceil(m / alpha) - 2)
        while 1 / (need + 1) > alpha / m:
            need += 1
        raise ValueError(f"{min(known)} resamples cannot show drift in any of {m} features at alpha {alpha:g}: "
                         f"Holm's first step needs a p-value of {alpha / m:.3g} and the bootstrap's smallest is "
                         f"1/{min(known) + 1}; use at least {need} resamples")
    return [bool(x) for x in holm([d.p_value for d in distances], alpha).reject]


def binning_error_bound(reference: NumericSketch, current: NumericSketch) -> float:
    """Bound on |normalised W1 of the histograms − normalised W1 of the raw rows| (module Notes).

    Zero-width terms only where a bin cannot spread (one distinct value in the whole column);
    with one distinct value per bin the error is zero although this bound is not.
    """
    for name, sketch in (("reference", reference), ("current", current)):
        _check_sketch(name, sketch, NumericSketch)
    require_same_edges(reference, current)
    lo = min(reference.min, current.min, reference.edges[0] if reference.edges.size else reference.min)
    hi = max(reference.max, current.max, reference.edges[-1] if reference.edges.size else reference.max)
    width = np.diff(np.concatenate(([lo], reference.edges, [hi])))
    mass = reference.counts / reference.n + current.counts / current.n
    return float(np.dot(mass, width) / 2 / max(reference.std, MIN_STD))


class _Wasserstein:
    """W1 between two atom sets (one atom a bin per side) for rows of bin masses (module Notes)."""

    def __init__(self, a: np.ndarray, b: np.ndarray):
        self.ref_first = a <= b
        self.width = np.abs(b - a)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        self.gap = np.maximum(lo[1:] - hi[:-1], 0.0)  # rounding may put a mean an ulp outside its bin

    def __call__(self, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        p, q = np.atleast_2d(p), np.atleast_2d(q)
        diff = p - q
        after = np.cumsum(diff, axis=1)
        within = np.abs(after - diff + np.where(self.ref_first, p, -q)) @ self.width
        return within + np.abs(after[:, :-1]) @ self.gap


def _atoms(sketch: NumericSketch, keep: np.ndarray) -> np.ndarray:
    counts = sketch.counts[keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sketch.sums[keep] / counts, np.nan)


def _resample_pairs(r: np.ndarray, c: np.ndarray, resamples: int, rng):
    """Blocks of independent multinomial resamples of both count vectors (rows of counts)."""
    block = max(1, BLOCK_CELLS // max(r.size, 1))
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        yield _multinomial(r, size, rng), _multinomial(c, size, rng)


def _multinomial(counts: np.ndarray, size: int, rng) -> np.ndarray:
    """``size`` draws of Multinomial(n, counts/n): by rows when there are few rows for the bins.

    ``Generator.multinomial`` costs one binomial a bin per draw; drawing n row indices and
    counting them is the same law and cheaper when n is under a few times the number of bins.
    """
    n, k = int(counts.sum()), counts.size
    if n > 4 * k:
        return rng.multinomial(n, counts / n, size=size)
    bins = np.repeat(np.arange(k), counts)[rng.integers(0, n, size=(size, n))]
    bins += (np.arange(size) * k)[:, None]
    return np.bincount(bins.ravel(), minlength=size * k).reshape(size, k)


def _js_rows(r: np.ndarray, c: np.ndarray) -> np.ndarray:
    return jensenshannon(r / r.sum(axis=1, keepdims=True), c / c.sum(axis=1, keepdims=True), axis=1)


def _basic_bootstrap(d_hat: float, d_star: np.ndarray, threshold: float, alpha: float):
    q_lo, q_hi = np.quantile(d_star, [alpha, 1 - alpha])
    interval = (max(0.0, float(2 * d_hat - q_hi)), max(0.0, float(2 * d_hat - q_lo)))
    exceed = int(np.count_nonzero(d_star - d_hat >= d_hat - threshold))
    return interval, (1 + exceed) / (d_star.size + 1)


def _numeric_psi(r: np.ndarray, c: np.ndarray) -> float:
    """PSI over reference deciles built from the sketch's bins.

    Decile k ends after the first bin whose cumulative reference count reaches k/10 of the rows
    (integer arithmetic, so shares of exactly k/10 cut exactly); a discrete column with few
    values gets one group per value instead of empty deciles.
    """
    cum = np.cumsum(r)
    cuts = np.unique(np.searchsorted(cum * PSI_BINS, np.arange(1, PSI_BINS) * cum[-1], side="left"))
    group = np.searchsorted(cuts, np.arange(r.size), side="left")
    rg = np.bincount(group, weights=r, minlength=cuts.size + 1)
    cg = np.bincount(group, weights=c, minlength=cuts.size + 1)
    used = (rg + cg) > 0
    return _psi(rg[used] / r.sum(), cg[used] / c.sum())


def _psi(r: np.ndarray, c: np.ndarray) -> float:
    r, c = _fill_zeros(r), _fill_zeros(c)
    return float(np.sum((r - c) * np.log(r / c)))


def _fill_zeros(share: np.ndarray) -> np.ndarray:
    """Evidently's fill for empty bins: min(non-zero)/10⁶ when that is ≤ 10⁻⁴, else 10⁻⁴."""
    low = share[share > 0].min()
    return np.where(share == 0, low / 1e6 if low <= 1e-4 else 1e-4, share)


def _check_sketch(name: str, sketch, kind) -> None:
    if not isinstance(sketch, kind):
        raise ValueError(f"{name} must be a {kind.__name__}; got {type(sketch).__name__}")
    if sketch.n == 0:
        raise ValueError(f"{name} sketch has no values ({sketch.missing} missing): a distance needs rows "
                         "on both sides")


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be a number in (0, 0.5); got {alpha!r}")
    return float(alpha)


def _check_options(threshold, alpha, resamples, seed):
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not (
            math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a finite number above 0; got {threshold!r}")
    alpha = _check_alpha(alpha)
    if isinstance(resamples, bool) or not isinstance(resamples, numbers.Integral) or resamples < 1:
        raise ValueError(f"resamples must be a positive integer; got {resamples!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return float(threshold), alpha, int(resamples), np.random.default_rng(int(seed))
