"""Score tests for a paired difference of confusion-matrix metrics: the null's own variance.

The percentile bootstrap over the joint cells only redraws cells it has seen: when the
candidate's extra errors happen not to appear in the holdout, every resample says "no worse",
and three candidate-only wins declare superiority at any n. A score test asks instead how
surprising the observed difference would be if the true one sat exactly at the bound: the
variance comes from the cell probabilities fitted under that null, which must put mass on the
cells the null needs — seen or not.

* Accuracy (and micro averages, which equal it) is Tango's score interval for a paired
  difference of proportions (Tango 1998, Statistics in Medicine 17:891–908), in closed form
  from the discordant counts: its constrained maximum-likelihood estimate is a quadratic's root.
* Every other metric — balanced accuracy, precision, recall, f1, mcc, any average — is the
  same construction generalised: maximise the multinomial likelihood of the K³ joint cells
  subject to Δ(p) = δ, and standardise Δ̂ − δ by the delta-method variance at that fit. For
  accuracy it reduces to Tango's statistic exactly (a test below checks it).

The interval is the set of δ the test does not reject at its level (test inversion), so the
interval and the p-value come from one construction; the decision at the bound is made by the
statistic at the bound itself, and the interval's end is snapped to agree with it.
Joint cells are sufficient statistics, so every engine calls this on merged counts. The
constrained fit has K³ unknowns: above ``MAX_SCORE_CLASSES`` classes, or when a fit does not
settle, the caller falls back to the bootstrap (and says so).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import optimize, stats

from .cells import JointCells
from .confusion import confusion_metric
from .results import ConfidenceInterval

# The fit has K³ cells and its gradient 2K² metric evaluations of K×K matrices: 0.02 s per
# comparison at 10 classes, 0.1 s at 20 (faster than 10,000 bootstrap resamples at both).
MAX_SCORE_CLASSES = 20
_MAX_SLSQP_CLASSES = 5  # the general-purpose fallback is cubic in K³ cells: only for small tables


class ScoreFitError(ArithmeticError):
    """The constrained fit did not settle; the caller falls back to the bootstrap and says so."""
_GRAD_STEP = 1e-7
_ROOT_TOL = 1e-9
_MAX_STEPS = 120
_DAMP_AFTER = 20


def _linear_fit(counts: np.ndarray, n: float, g: np.ndarray, t: float) -> np.ndarray | None:
    """argmax Σ n_c log p_c subject to Σ p = 1 and g·p = t (p ≥ 0), or None if infeasible.

    Stationarity gives p_c = n_c / (n + λ(g_c − t)) for the cells seen, with λ minimising the
    convex dual Σ −n_c log(n + λ(g_c − t)) over the λ that keep every denominator positive
    (non-negative for unseen cells). When the minimum sits at that interval's end, the unseen
    cell whose denominator vanishes there takes the missing mass — the null needs errors the
    holdout did not show, which is exactly what the percentile bootstrap could not give it."""
    a = g - t
    seen = counts > 0
    scale = max(float(np.abs(a).max()), 1e-300)
    if not (a.min() < -1e-12 * scale and a.max() > 1e-12 * scale):
        return None  # t at or beyond the range of g: no distribution meets it
    pos, neg = a > 0, a < 0
    lo = float(np.max(-n / a[pos]))
    hi = float(np.min(-n / a[neg]))

    def slope(lam):
        return -float(np.sum(counts[seen] * a[seen] / (n + lam * a[seen])))

    width = hi - lo
    lo_binds_seen = bool(np.any(seen & pos & np.isclose(-n / np.where(pos, a, 1.0), lo, rtol=1e-12, atol=0.0)))
    hi_binds_seen = bool(np.any(seen & neg & np.isclose(-n / np.where(neg, a, 1.0), hi, rtol=1e-12, atol=0.0)))
    left = lo + width * 1e-13 if lo_binds_seen else lo
    right = hi - width * 1e-13 if hi_binds_seen else hi
    s_left, s_right = slope(left), slope(right)
    if s_left >= 0:
        lam, edge = left, ("lo" if not lo_binds_seen else None)
    elif s_right <= 0:
        lam, edge = right, ("hi" if not hi_binds_seen else None)
    else:
        lam, edge = optimize.brentq(slope, left, right, xtol=1e-15 * max(1.0, abs(width)), rtol=1e-15), None
    p = np.zeros_like(counts)
    p[seen] = counts[seen] / (n + lam * a[seen])
    rest = 1.0 - float(p.sum())
    if edge is not None and rest > 0:
        den = n + lam * a
        absorbing = ~seen & (np.abs(den) <= 1e-9 * n)
        if not absorbing.any():
            return None
        p[absorbing] = rest / int(absorbing.sum())
    if not np.all(np.isfinite(p)) or np.any(p < -1e-12):
        return None
    p = np.clip(p, 0.0, None)
    return p / p.sum()


def tango_statistic(b: int, c: int, n: int, delta: float) -> float:
    """Tango's score statistic for H0: p_b − p_c = delta (b: candidate right and production
    wrong; c: the reverse), standardised by the variance under H0."""
    if n == 0:
        return math.nan
    var = n * (2.0 * _tango_p21(b, c, n, delta) + delta * (1.0 - delta))
    num = _exact_numerator(b - c, n, delta)
    if var <= 0.0:
        return 0.0 if num == 0 else math.copysign(math.inf, num)
    return num / math.sqrt(var)


def tango_se(b: int, c: int, n: int, delta: float) -> float:
    """√((2p̃₂₁ + δ(1 − δ))/n): the standard error of Δ̂ under Tango's fit at δ (in closed form,
    so that Δ̂ exactly at the bound, where z = 0, still has one)."""
    if n == 0:
        return math.nan
    return math.sqrt(max(2.0 * _tango_p21(b, c, n, delta) + delta * (1.0 - delta), 0.0) / n)


def _tango_p21(b: int, c: int, n: int, delta: float) -> float:
    """The constrained MLE of p₂₁ (production right, candidate wrong) under Δ = delta: the
    root of Tango's quadratic."""
    a_ = 2.0 * n
    b_ = -b - c + (2.0 * n - b + c) * delta
    c_ = -c * delta * (1.0 - delta)
    return (math.sqrt(max(b_ * b_ - 4.0 * a_ * c_, 0.0)) - b_) / (2.0 * a_)


def _exact_numerator(diff: int, n: int, delta: float) -> float:
    """b − c − n·δ, zero when it is zero: a margin that is a multiple of 1/n must compare as
    exactly at the bound, not a rounding error above or below it."""
    value = diff - n * delta
    return 0.0 if abs(value) <= 1e-9 * max(1.0, abs(diff), n * abs(delta)) else value


class RestrictedScore:
    """The generalised score statistic z(δ) for one metric on one table of joint cells."""

    def __init__(self, cells: JointCells, metric: str, *, pos_index=None, average: str = "binary"):
        self.k = len(cells.labels)
        self.counts = cells.counts.reshape(-1).astype(np.float64)
        self.n = float(self.counts.sum())
        self.metric, self.pos_index, self.average = metric, pos_index, average
        self.estimate = float(self._delta(self.counts[None] / self.n)[0]) if self.n else math.nan
        self._warm: dict[float, np.ndarray] = {}

    def _delta(self, p: np.ndarray) -> np.ndarray:
        """Δ for a stack of cell probability vectors (…, K³): candidate metric − production's."""
        k = self.k
        cube = p.reshape(p.shape[:-1] + (k, k, k))
        kw = dict(pos_index=self.pos_index, average=self.average)
        cand = confusion_metric(cube.sum(axis=-1), self.metric, **kw)
        prod = confusion_metric(cube.sum(axis=-2), self.metric, **kw)
        return np.atleast_1d(np.asarray(cand, float) - np.asarray(prod, float))

    def _gradient(self, p: np.ndarray) -> np.ndarray:
        """∂Δ/∂p by the chain rule through the two confusion matrices: the metric's gradient
        with respect to a K×K matrix (2K² evaluations in one vectorised call), not K³ cells."""
        k = self.k
        cube = p.reshape(k, k, k)
        cand = self._matrix_gradient(cube.sum(axis=-1))
        prod = self._matrix_gradient(cube.sum(axis=-2))
        return (cand[:, :, None] - prod[:, None, :]).reshape(-1)

    def _matrix_gradient(self, cm: np.ndarray) -> np.ndarray:
        k = self.k
        step = np.eye(k * k).reshape(k * k, k, k) * _GRAD_STEP
        values = np.asarray(confusion_metric(np.concatenate([cm + step, cm - step]), self.metric,
                                             pos_index=self.pos_index, average=self.average), float)
        grad = (values[: k * k] - values[k * k:]) / (2 * _GRAD_STEP)
        return np.where(np.isfinite(grad), grad, 0.0).reshape(k, k)

    def _fit(self, delta: float) -> np.ndarray | None:
        """Cell probabilities of maximum likelihood with Δ(p) = delta (None: infeasible).

        Sequential linearisation: with Δ linearised at the current fit, the problem is the
        multinomial likelihood under two linear constraints, whose dual is one convex variable
        (see ``_linear_fit``); the fixed point satisfies the nonlinear problem's KKT conditions.
        For accuracy Δ is linear and one step is exact (Tango's closed form). SLSQP over all
        K³ cells is the fallback when the iteration does not settle."""
        start = min(self._warm, key=lambda d: abs(d - delta)) if self._warm else None
        p = self._warm[start] if start is not None else (self.counts + 0.5) / (self.n + 0.5 * self.counts.size)
        for step in range(_MAX_STEPS):
            g = self._gradient(p)
            value = float(self._delta(p[None])[0])
            if not math.isfinite(value):
                break
            new = _linear_fit(self.counts, self.n, g, delta - value + float(g @ p))
            if new is None:
                if self.k > _MAX_SLSQP_CLASSES:
                    return None  # no distribution near this one reaches delta: out of reach
                break
            if step >= _DAMP_AFTER:  # a step that overshoots oscillates; half steps settle it
                new = 0.5 * (p + new)
            moved = float(np.abs(new - p).max())
            p = new
            if moved < 1e-12 or (moved < 1e-7 and abs(float(self._delta(p[None])[0]) - delta) < 1e-10):
                self._warm[delta] = p
                return p
        if self.k > _MAX_SLSQP_CLASSES:
            raise ScoreFitError(f"the constrained fit at Δ = {delta:+.4g} did not settle")
        return self._fit_slsqp(delta)

    def _fit_slsqp(self, delta: float) -> np.ndarray | None:
        counts, n, m = self.counts, self.n, self.counts.size
        seen = counts > 0
        start = min(self._warm, key=lambda d: abs(d - delta)) if self._warm else None
        x0 = self._warm[start] if start is not None else (counts + 0.5) / (n + 0.5 * m)

        def loss(p):
            return -float(np.sum(counts[seen] * np.log(np.maximum(p[seen], 1e-300)))) / n

        def loss_grad(p):
            g = np.zeros(m)
            g[seen] = -counts[seen] / np.maximum(p[seen], 1e-300) / n
            return g

        constraints = [
            {"type": "eq", "fun": lambda p: float(self._delta(p[None])[0]) - delta, "jac": self._gradient},
            {"type": "eq", "fun": lambda p: float(p.sum()) - 1.0, "jac": lambda p: np.ones(m)},
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = optimize.minimize(loss, x0, jac=loss_grad, constraints=constraints, bounds=[(0.0, 1.0)] * m,
                                    method="SLSQP", options={"ftol": 1e-13, "maxiter": 300})
        p = np.clip(fit.x, 0.0, None)
        p = p / p.sum()
        if not np.isfinite(self._delta(p[None])[0]) or abs(self._delta(p[None])[0] - delta) > 1e-6:
            return None
        self._warm[delta] = p
        return p

    def z(self, delta: float) -> float:
        """(Δ̂ − δ) / se under H0: Δ = δ; ±inf where δ is out of reach of any table."""
        p = self._fit(delta)
        if p is None:
            return math.inf if self.estimate > delta else -math.inf
        grad = self._gradient(p)
        var = float(grad @ (p * grad) - (p @ grad) ** 2) / self.n
        num = self.estimate - delta
        if abs(num) <= 1e-12:
            return 0.0
        if var <= 0.0:
            return math.copysign(math.inf, num)
        return num / math.sqrt(var)

    def discordant(self, delta: float) -> int:
        """Rows where the two models disagree in a way the metric counts (cells whose weight in
        Δ is not zero at the fit for Δ = delta): the rows a paired test at Δ = 0 runs on."""
        p = self._fit(delta)
        if p is None:
            return 0
        k = self.k
        g = self._gradient(p)
        discordant = ~np.eye(k, dtype=bool)[None, :, :].repeat(k, axis=0).reshape(-1)  # candidate ≠ production
        counts = np.abs(g) > 1e-9 * max(float(np.abs(g).max()), 1e-300)
        return int(self.counts[discordant & counts].sum())

    def se_at(self, delta: float) -> float:
        p = self._fit(delta)
        if p is None:
            return math.nan
        grad = self._gradient(p)
        return math.sqrt(max(float(grad @ (p * grad) - (p @ grad) ** 2), 0.0) / self.n)


def score_interval(z_of, estimate: float, q: float, lo: float, hi: float, step: float) -> ConfidenceInterval:
    """{δ : |z(δ)| ≤ q} for a statistic decreasing in δ, within [lo, hi].

    Each end is bracketed by stepping out from the estimate (first step ``step``, about the
    interval's half-width, then doubling), so the constrained fits stay near the data where they
    converge in a few iterations, instead of starting from the far ends of the metric's range."""
    eps = 1e-9
    step = step if math.isfinite(step) and step > 1e-6 else 1e-3

    def bound(target, direction):
        edge = lo + eps if direction < 0 else hi - eps
        if (estimate - edge) * direction >= 0:
            return edge
        inner, width = estimate, step
        while True:
            outer = estimate + direction * width
            if (outer - edge) * direction >= 0:
                outer = edge
            if (z_of(outer) - target) * direction <= 0:  # crossed: z ≥ q below, z ≤ −q above
                return optimize.brentq(lambda d: z_of(d) - target, min(inner, outer), max(inner, outer),
                                       xtol=_ROOT_TOL)
            if outer == edge:
                return edge
            inner, width = outer, width * 2

    return ConfidenceInterval(float(bound(q, -1)), float(bound(-q, 1)))


def one_sided_p(z: float, alternative: str) -> float:
    if alternative == "greater":
        return float(stats.norm.sf(z))
    if alternative == "less":
        return float(stats.norm.cdf(z))
    return float(min(1.0, 2.0 * stats.norm.sf(abs(z))))


def metric_range(metric: str) -> tuple[float, float]:
    """Where Δ can lie: [−1, 1] for rates, [−2, 2] for mcc (itself in [−1, 1])."""
    return (-2.0, 2.0) if metric == "mcc" else (-1.0, 1.0)
